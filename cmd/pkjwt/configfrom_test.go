package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	secretsfake "github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets/fake"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/azurekv"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

// TestConfigFromSampleVault moves an app from the original .NET sample
// keeping its Key Vault as it is: --config-from azurekv://VAULT reads
// OIDC--ClientId, OIDC--TokenEndpoint, APIGetUri and the base64 PFX in
// JWT--PubPrivateKeyBase64 (empty password), signs with the kid the sample
// registered (the certificate's SHA-1 thumbprint in hex), and gets a token
// from the emulator. No Key Vault emulator runs offline: the vault is the
// Azure SDK's own fake server (azsecrets/fake), and this runs the CLI's
// flag handling in process so that the fake can be injected.
func TestConfigFromSampleVault(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := keys.SelfSignedCertificate(priv, "sample", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := keyfile.EncodePFX(priv, cert, "")
	if err != nil {
		t.Fatal(err)
	}
	kid, err := keys.KIDFrom("x509-sha1-hex", priv.Public(), cert)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := keys.New(priv, "RS512", time.Now())
	k.ID = kid
	doc, err := jwks.Marshal([]*keys.Key{k})
	if err != nil {
		t.Fatal(err)
	}
	tokenURL := emulatorFor(t, "sample-api-key", jwksServer(t, doc).URL+jwks.Path)

	secrets := map[string]string{
		"OIDC--ClientId":           "sample-api-key",
		"OIDC--TokenEndpoint":      tokenURL,
		"APIGetUri":                "http://127.0.0.1:1/personal-demographics/FHIR/R4/Patient/9000000009",
		"JWT--PubPrivateKeyBase64": base64.StdEncoding.EncodeToString(pfx),
	}
	srv := &secretsfake.Server{
		GetSecret: func(ctx context.Context, name, version string, _ *azsecrets.GetSecretOptions) (resp azfake.Responder[azsecrets.GetSecretResponse], errResp azfake.ErrorResponder) {
			v, ok := secrets[name]
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "SecretNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, azsecrets.GetSecretResponse{Secret: azsecrets.Secret{
				ID:    to.Ptr(azsecrets.ID("https://sample-vault.vault.azure.net/secrets/" + name + "/v1")),
				Value: to.Ptr(v),
			}}, nil)
			return
		},
	}
	opts := []azurekv.Option{
		azurekv.WithCredential(&azfake.TokenCredential{}),
		azurekv.WithClientOptions(&azcore.ClientOptions{Transport: secretsfake.NewServerTransport(srv)}),
	}

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cf := addClientFlags(fs)
	if err := fs.Parse([]string{"--profile", "local", "--config-from", "azurekv://sample-vault"}); err != nil {
		t.Fatal(err)
	}
	cf.azure = opts
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	ts, err := cf.tokenSource(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if *cf.clientID != "sample-api-key" || *cf.tokenURL != tokenURL || *cf.apiURL != secrets["APIGetUri"] {
		t.Fatalf("settings from the vault: client id %q, token URL %q, API URL %q", *cf.clientID, *cf.tokenURL, *cf.apiURL)
	}
	tok, err := ts.TokenContext(context.Background())
	if err != nil {
		t.Fatalf("token with the sample's vault: %v", err)
	}
	if got := pkjwt.Info(tok).KeyID; got != kid {
		t.Fatalf("signed with kid %s, the sample registered %s", got, kid)
	}

	// A flag wins over the vault.
	fs = flag.NewFlagSet("test", flag.ContinueOnError)
	cf = addClientFlags(fs)
	fs.Parse([]string{"--profile", "local", "--config-from", "azurekv://sample-vault", "--client-id", "from-flag"})
	cf.azure = opts
	if err := cf.applyConfigFrom(context.Background()); err != nil || *cf.clientID != "from-flag" || *cf.tokenURL != tokenURL {
		t.Fatalf("flag precedence: %v, client id %q", err, *cf.clientID)
	}
	// Not a vault reference: a usage error.
	fs = flag.NewFlagSet("test", flag.ContinueOnError)
	cf = addClientFlags(fs)
	fs.Parse([]string{"--config-from", "https://sample-vault.vault.azure.net"})
	var ue *usageError
	if err := cf.applyConfigFrom(context.Background()); !errors.As(err, &ue) {
		t.Fatalf("--config-from https://…: %v", err)
	}
}
