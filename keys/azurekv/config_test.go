package azurekv_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/azurekv"
)

func TestLoadConfig(t *testing.T) {
	const (
		clientID = "Abc123ClientIdFromPortal"
		tokenURL = "https://int.api.service.nhs.uk/oauth2/token"
		apiURL   = "https://int.api.service.nhs.uk/hello-world/hello/application"
	)
	tests := []struct {
		name    string
		secrets map[string]string
		want    azurekv.Config
	}{
		{
			name: "the sample's names",
			secrets: map[string]string{
				"OIDC--ClientId": clientID, "OIDC--TokenEndpoint": tokenURL,
				"APIGetUri": apiURL, "JWT--PubPrivateKeyBase64": "TUlJ",
			},
			want: azurekv.Config{ClientID: clientID, TokenURL: tokenURL, APIURL: apiURL,
				PFXSecret: "azurekv://pkjwt-test/secrets/JWT--PubPrivateKeyBase64",
				Sources: map[string]string{"client-id": "OIDC--ClientId", "token-url": "OIDC--TokenEndpoint",
					"api-url": "APIGetUri", "key": "JWT--PubPrivateKeyBase64"}},
		},
		{
			name: "the sample's earlier OIDCLocal names, values trimmed",
			secrets: map[string]string{
				"OIDCLocal--ClientId": " " + clientID + "\n", "OIDCLocal--TokenEndpoint": tokenURL,
			},
			want: azurekv.Config{ClientID: clientID, TokenURL: tokenURL,
				Sources: map[string]string{"client-id": "OIDCLocal--ClientId", "token-url": "OIDCLocal--TokenEndpoint"}},
		},
		{
			name: "pkjwt's names win over the sample's",
			secrets: map[string]string{
				"pkjwt-client-id": clientID, "OIDC--ClientId": "old-client",
				"pkjwt-token-url": tokenURL, "OIDCLocal--TokenEndpoint": "https://old.example/token",
				"pkjwt-api-url": apiURL, "pkjwt-key-pfx": "TUlJ", "JWT--PubPrivateKeyBase64": "TUlJ",
			},
			want: azurekv.Config{ClientID: clientID, TokenURL: tokenURL, APIURL: apiURL,
				PFXSecret: "azurekv://pkjwt-test/secrets/pkjwt-key-pfx",
				Sources: map[string]string{"client-id": "pkjwt-client-id", "token-url": "pkjwt-token-url",
					"api-url": "pkjwt-api-url", "key": "pkjwt-key-pfx"}},
		},
		{
			name:    "an empty vault is not an error",
			secrets: map[string]string{},
			want:    azurekv.Config{Sources: map[string]string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			for name, value := range tt.secrets {
				v.setSecret(name, value, "")
			}
			for _, vault := range []string{"azurekv://" + testVault, testVault, "azurekv://" + testVault + "/"} {
				got, err := azurekv.New(v.options()...).LoadConfig(context.Background(), vault)
				if err != nil {
					t.Fatal(err)
				}
				tt.want.Vault = testVault
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("LoadConfig(%q) =\n%+v\nwant\n%+v", vault, got, tt.want)
				}
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		vault   string
		setup   func(v *fakeVault)
		wantErr error
	}{
		{name: "no permission to read secrets", vault: testVault, setup: func(v *fakeVault) {
			v.failWith("GET /secrets/", 403, kvError("Forbidden", "The user, group or application does not have secrets get permission on key vault.", "AccessDenied"))
		}, wantErr: keys.ErrPermissionDenied},
		{name: "a disabled setting", vault: testVault, setup: func(v *fakeVault) {
			v.setSecret("OIDC--ClientId", "x", "")
			v.failWith("GET /secrets/OIDC--ClientId", 403, kvError("Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"))
		}, wantErr: keys.ErrKeyDisabled},
		{name: "a setting with a line break", vault: testVault, setup: func(v *fakeVault) {
			v.setSecret("OIDC--TokenEndpoint", "https://a.example/token\nX-Header: 1", "")
		}, wantErr: azurekv.ErrBadSetting},
		{name: "an empty key secret", vault: testVault, setup: func(v *fakeVault) {
			v.setSecret("JWT--PubPrivateKeyBase64", " ", "")
		}, wantErr: azurekv.ErrBadSetting},
		{name: "a key reference is not a vault", vault: keyRef, wantErr: azurekv.ErrBadRef},
		{name: "a bad vault name", vault: "a_b", wantErr: azurekv.ErrBadRef},
		{name: "another scheme", vault: "awskms://pkjwt-test", wantErr: azurekv.ErrBadRef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			if tt.setup != nil {
				tt.setup(v)
			}
			_, err := azurekv.New(v.options()...).LoadConfig(context.Background(), tt.vault)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// Settings is the documented table; LoadConfig reads exactly these names.
func TestSettingsTable(t *testing.T) {
	v := newFakeVault(t)
	if _, err := azurekv.New(v.options()...).LoadConfig(context.Background(), testVault); err != nil {
		t.Fatal(err)
	}
	for _, s := range azurekv.Settings() {
		for _, name := range s.Secrets {
			if v.count("GET /secrets/"+name+"/") != 1 {
				t.Errorf("secret %s of setting %s was not asked for once", name, s.Name)
			}
		}
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref     string
		want    azurekv.Ref
		url     string
		wantErr bool
	}{
		{ref: "azurekv://myvault/keys/nhs-signing", want: azurekv.Ref{Vault: "myvault", Kind: azurekv.KindKey, Name: "nhs-signing"}, url: "https://myvault.vault.azure.net/"},
		{ref: "azurekv://myvault/keys/nhs/0123456789abcdef0123456789abcdef", want: azurekv.Ref{Vault: "myvault", Kind: azurekv.KindKey, Name: "nhs", Version: "0123456789abcdef0123456789abcdef"}, url: "https://myvault.vault.azure.net/"},
		{ref: "azurekv://myvault.vault.azure.cn/secrets/JWT--PubPrivateKeyBase64?kid-from=x509-sha1-hex", want: azurekv.Ref{Vault: "myvault.vault.azure.cn", Kind: azurekv.KindSecret, Name: "JWT--PubPrivateKeyBase64"}, url: "https://myvault.vault.azure.cn/"},
		{ref: "azurekv://MyHSM.managedhsm.azure.net/keys/k", want: azurekv.Ref{Vault: "MyHSM.managedhsm.azure.net", Kind: azurekv.KindKey, Name: "k"}, url: "https://myhsm.managedhsm.azure.net/"},
		{ref: "awskms://myvault/keys/k", wantErr: true},
		{ref: "azurekv://myvault", wantErr: true},
		{ref: "azurekv://myvault/keys", wantErr: true},
		{ref: "azurekv://myvault/certificates/k", wantErr: true},
		{ref: "azurekv://myvault/keys/k/v/extra", wantErr: true},
		{ref: "azurekv://myvault/keys/bad_name", wantErr: true},
		{ref: "azurekv://myvault/keys/k/bad-version", wantErr: true},
		{ref: "azurekv://my/keys/k", wantErr: true},
		{ref: "azurekv://1vault/keys/k", wantErr: true},
		{ref: "azurekv://myvault.vault.azure.net:8443/keys/k", wantErr: true},
		{ref: "azurekv://user@myvault/keys/k", wantErr: true},
		{ref: "azurekv://127.0.0.1/keys/k", wantErr: true},
		{ref: "azurekv://myvault./keys/k", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := azurekv.ParseRef(tt.ref)
			if tt.wantErr {
				if !errors.Is(err, azurekv.ErrBadRef) {
					t.Fatalf("err %v, want ErrBadRef", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			q := got.Query
			got.Query = nil
			if !reflect.DeepEqual(got, tt.want) || got.VaultURL() != tt.url {
				t.Fatalf("got %+v (%s), want %+v (%s)", got, got.VaultURL(), tt.want, tt.url)
			}
			if q == nil {
				t.Fatal("nil Query")
			}
			if back, err := azurekv.ParseRef(got.String()); err != nil || back.String() != got.String() {
				t.Fatalf("String() %q does not round-trip: %v", got.String(), err)
			}
		})
	}
}
