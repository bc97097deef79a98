package azurekv_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/azurekv"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

const pfxRef = "azurekv://" + testVault + "/secrets/JWT--PubPrivateKeyBase64"

func testCert(t *testing.T, priv *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	cert, err := keys.SelfSignedCertificate(priv, "pkjwt azurekv test", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// wrap76 breaks s into 76-character lines, as some tools write base64.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s
}

func TestOpenSecret(t *testing.T) {
	priv := testRSAKey(t, 0)
	cert := testCert(t, priv)
	legacy, err := keyfile.EncodePFXLegacy(priv, cert, "") // 3DES/SHA-1, as .NET's Export(Pkcs12)
	if err != nil {
		t.Fatal(err)
	}
	modern, err := keyfile.EncodePFX(priv, cert, "")
	if err != nil {
		t.Fatal(err)
	}
	withPassword, err := keyfile.EncodePFX(priv, cert, "secret")
	if err != nil {
		t.Fatal(err)
	}
	otherCert := testCert(t, testRSAKey(t, 1))
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pemBundle := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherCert.Raw})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	mismatched := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherCert.Raw}))
	std := base64.StdEncoding.EncodeToString

	tests := []struct {
		name        string
		value       string
		contentType string
		wantErr     error
	}{
		{name: "sample: base64 of a legacy PFX, empty password", value: std(legacy)},
		{name: "base64 of a modern PFX", value: std(modern)},
		{name: "base64 broken into lines", value: wrap76(std(legacy)) + "\n"},
		{name: "base64 without padding", value: strings.TrimRight(std(legacy), "=")},
		{name: "Key Vault certificate, PKCS#12", value: std(modern), contentType: "application/x-pkcs12"},
		{name: "Key Vault certificate, PEM", value: pemBundle, contentType: "application/x-pem-file"},
		{name: "PFX with a password", value: std(withPassword), wantErr: keyfile.ErrWrongPassword},
		{name: "not base64", value: "not base64!", wantErr: keys.ErrMalformed},
		{name: "base64 of garbage", value: std([]byte("garbage")), wantErr: keys.ErrMalformed},
		{name: "PEM certificate of another key", value: mismatched, contentType: "application/x-pem-file", wantErr: keys.ErrMalformed},
		{name: "larger than Key Vault allows", value: strings.Repeat("A", azurekv.MaxSecretSize+4), wantErr: keys.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			v.setSecret("JWT--PubPrivateKeyBase64", tt.value, tt.contentType)
			b := v.backend()
			signer, gotCert, err := b.OpenSecret(context.Background(), pfxRef)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), tt.value[:min(len(tt.value), 40)]) && len(tt.value) > 20 {
					t.Fatalf("error quotes the secret value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !priv.PublicKey.Equal(signer.Public()) || !gotCert.Equal(cert) {
				t.Fatal("wrong key or certificate")
			}
			// The .NET sample's kid: the certificate's SHA-1, upper-case hex.
			kid, err := keys.KIDFrom(keys.KIDX509SHA1Hex, signer.Public(), gotCert)
			if err != nil || len(kid) != 40 || strings.ToUpper(kid) != kid {
				t.Fatalf("kid %q, %v", kid, err)
			}
			// Open gives the same key for a secrets/ reference, and it signs.
			s2, err := b.Open(context.Background(), pfxRef)
			if err != nil {
				t.Fatal(err)
			}
			signJWS(t, s2, jose.RS512, &priv.PublicKey)
		})
	}
}

func TestOpenSecretErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr error
	}{
		{"missing secret", 0, "", keys.ErrNotFound},
		{"disabled secret", 403, kvError("Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"), keys.ErrKeyDisabled},
		{"no get permission", 403, kvError("Forbidden", "The user, group or application does not have secrets get permission on key vault.", "AccessDenied"), keys.ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			if tt.status != 0 {
				v.setSecret("JWT--PubPrivateKeyBase64", "x", "")
				v.failWith("GET /secrets/", tt.status, tt.body)
			}
			_, _, err := v.backend().OpenSecret(context.Background(), pfxRef)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
	// A keys/ reference is not a secret.
	b := newFakeVault(t).backend()
	if _, _, err := b.OpenSecret(context.Background(), keyRef); !errors.Is(err, azurekv.ErrBadRef) {
		t.Fatalf("OpenSecret(keys ref): %v", err)
	}
}

// A versioned secret reference reads that version.
func TestOpenSecretVersion(t *testing.T) {
	priv := testRSAKey(t, 0)
	pfx, err := keyfile.EncodePFX(priv, testCert(t, priv), "")
	if err != nil {
		t.Fatal(err)
	}
	v := newFakeVault(t)
	v.setSecret("JWT--PubPrivateKeyBase64", base64.StdEncoding.EncodeToString(pfx), "")
	b := v.backend()
	var s crypto.Signer
	if s, _, err = b.OpenSecret(context.Background(), pfxRef+"/0123456789abcdef0123456789abcdef"); err != nil || !priv.PublicKey.Equal(s.Public()) {
		t.Fatalf("versioned: %v", err)
	}
	if _, _, err := b.OpenSecret(context.Background(), pfxRef+"/ffffffffffffffffffffffffffffffff"); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("unknown version: %v", err)
	}
}

// A PFX secret asking for 2^31-1 key-derivation iterations anywhere (the
// MAC, the encrypted safe, a key bag inside it, a key bag in a nested
// safe) is refused with keys.ErrKDFCost within a generous 2 s; a PFX at the
// bound is given up as soon as the context ends.
func TestOpenSecretBoundsPFXWork(t *testing.T) {
	priv := testRSAKey(t, 0)
	cert := testCert(t, priv)
	const huge, ok = 1<<31 - 1, 2048
	std := base64.StdEncoding.EncodeToString
	for _, tt := range []struct {
		name string
		l    testutil.PFXLayout
	}{
		{"MAC", testutil.PFXLayout{MACIterations: huge, SafeIterations: ok, KeyIterations: ok}},
		{"encrypted safe", testutil.PFXLayout{SafeIterations: huge, KeyIterations: ok}},
		{"key bag inside the encrypted safe", testutil.PFXLayout{SafeIterations: ok, KeyIterations: huge, KeyInEncryptedSafe: true}},
		{"nested safe", testutil.PFXLayout{SafeIterations: ok, KeyIterations: huge, Nesting: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			v.setSecret("JWT--PubPrivateKeyBase64", std(testutil.BuildPFX(t, priv, cert, tt.l)), "application/x-pkcs12")
			start := time.Now()
			_, _, err := v.backend().OpenSecret(context.Background(), pfxRef)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %v", took)
			}
			if !errors.Is(err, keyfile.ErrKDFCost) {
				t.Fatalf("err = %v, want ErrKDFCost", err)
			}
		})
	}
	v := newFakeVault(t)
	v.setSecret("JWT--PubPrivateKeyBase64", std(testutil.BuildPFX(t, priv, cert, testutil.PFXLayout{
		SafeIterations: keyfile.MaxPFXIterations, KeyIterations: keyfile.MaxPFXIterations, KeyInEncryptedSafe: true})), "")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := v.backend().OpenSecret(ctx, pfxRef); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("returned %v after a deadline of 100ms", took)
	}
}
