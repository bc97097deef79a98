package azurekv_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/azurekv"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

// nhsEmulator starts the project's NHS emulator on loopback with one app
// per JWKS given (API key "app-<i>"), each JWKS served by its own httptest
// server from the bytes of jwks.Marshal.
func nhsEmulator(t *testing.T, sets ...[]*keys.Key) (baseURL string) {
	t.Helper()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	t.Cleanup(emuSrv.Close)
	for i, set := range sets {
		doc, err := jwks.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		js := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		}))
		t.Cleanup(js.Close)
		if err := emu.AddApp(emulator.App{Name: "azurekv test", APIKey: "app-" + string(rune('0'+i)),
			JWKSURL: js.URL + jwks.Path, Scopes: []string{emulator.PDSScope}}); err != nil {
			t.Fatal(err)
		}
	}
	return emuSrv.URL
}

// getPatient gets a token from ts and calls the emulator's PDS with it.
func getPatient(t *testing.T, ts *pkjwt.TokenSource, baseURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := ts.TokenContext(ctx)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	if tok.AccessToken == "" {
		t.Fatal("empty access token")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pkjwt.Local(baseURL).APIBaseURL+"/Patient/9000000009", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pkjwt.NewClient(ts).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "9000000009") {
		t.Fatalf("PDS answered %s: %.300s", resp.Status, body)
	}
}

// THE DONE-WHEN TEST: the emulator issues a token for an assertion signed
// inside the (fake) vault, verifying it against the JWKS of the vault's
// public key; an app registered with another key's JWKS under the same kid
// is refused, so the vault's signature is what was checked.
func TestTokenFromEmulatorSignedInVault(t *testing.T) {
	v := newFakeVault(t)
	vaultKey := testRSAKey(t, 0)
	vk := v.addKey("nhs-signing", vaultKey)
	signer, err := v.backend().Open(context.Background(), keyRef)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.New(signer, "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k.Ref = signer.(*azurekv.Signer).Ref()

	// App 1 registers the public key of another key pair under the vault
	// key's kid.
	impostor, err := keys.New(testRSAKey(t, 1), "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	impostor.ID = k.ID
	base := nhsEmulator(t, []*keys.Key{k}, []*keys.Key{impostor})

	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(base), ClientID: "app-0", Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	getPatient(t, ts, base)
	calls := v.signCalls()
	if len(calls) != 1 || calls[0] != "nhs-signing/"+vk.version+" RS512" {
		t.Fatalf("vault sign calls %v, want one RS512 at version %s", calls, vk.version)
	}

	bad, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(base), ClientID: "app-1", Keys: k, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.TokenContext(context.Background())
	var te *pkjwt.TokenError
	if !errors.As(err, &te) {
		t.Fatalf("app with another key's JWKS: %v, want a *pkjwt.TokenError", err)
	}
}

// The sample's way: the key is a base64 PFX in the secret
// JWT--PubPrivateKeyBase64 and its kid the certificate's SHA-1 in upper-case
// hex; LoadConfig finds the client id, token URL and key secret.
func TestTokenFromEmulatorWithSamplePFXSecret(t *testing.T) {
	priv := testRSAKey(t, 2)
	cert := testCert(t, priv)
	pfx, err := keyfile.EncodePFXLegacy(priv, cert, "")
	if err != nil {
		t.Fatal(err)
	}
	kid, err := keys.KIDFrom(keys.KIDX509SHA1Hex, priv.Public(), cert)
	if err != nil {
		t.Fatal(err)
	}
	registered, err := keys.New(priv, "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	registered.ID = kid
	base := nhsEmulator(t, []*keys.Key{registered})

	v := newFakeVault(t)
	v.setSecret("OIDC--ClientId", "app-0", "")
	v.setSecret("OIDC--TokenEndpoint", pkjwt.Local(base).TokenURL, "")
	v.setSecret("JWT--PubPrivateKeyBase64", base64.StdEncoding.EncodeToString(pfx), "")
	b := v.backend()
	ctx := context.Background()
	cfg, err := b.LoadConfig(ctx, "azurekv://"+testVault)
	if err != nil {
		t.Fatal(err)
	}
	signer, gotCert, err := b.OpenSecret(ctx, cfg.PFXSecret)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.New(signer, "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if k.ID, err = keys.KIDFrom(keys.KIDX509SHA1Hex, signer.Public(), gotCert); err != nil {
		t.Fatal(err)
	}
	k.Certificate = gotCert
	if k.ID != kid {
		t.Fatalf("kid %s, want the .NET thumbprint %s", k.ID, kid)
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(base), TokenURL: cfg.TokenURL, ClientID: cfg.ClientID, Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	getPatient(t, ts, base)
}
