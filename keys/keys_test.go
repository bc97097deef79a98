package keys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// TestThumbprintRFC7638 checks the kid against the example of RFC 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	data, err := os.ReadFile("testdata/rfc7638-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	got, err := keys.Thumbprint(jwk.Key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

func TestGenerate(t *testing.T) {
	cases := []struct {
		alg     string
		bits    int
		wantErr error
		kty     string
	}{
		{"RS512", 2048, nil, "RSA"},
		{"PS256", 2048, nil, "RSA"},
		{"ES256", 0, nil, "EC"},
		{"ES384", 0, nil, "EC"},
		{"RS512", 1024, keys.ErrKeyTooSmall, ""},
		{"RS512", 2047, keys.ErrKeyTooSmall, ""},
		{"HS256", 0, keys.ErrUnsupportedAlgorithm, ""},
		{"none", 0, keys.ErrUnsupportedAlgorithm, ""},
		{"EdDSA", 0, keys.ErrUnsupportedAlgorithm, ""},
	}
	for _, tc := range cases {
		t.Run(tc.alg, func(t *testing.T) {
			k, err := keys.Generate(tc.alg, tc.bits)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			thumb, _ := keys.Thumbprint(k.Public())
			if k.ID != thumb || k.Algorithm != tc.alg || k.State != keys.StateActive {
				t.Fatalf("key %+v", k)
			}
			if tc.kty == "RSA" && k.Bits() != tc.bits {
				t.Fatalf("%d bits", k.Bits())
			}
		})
	}
}

func TestDirSaveLoad(t *testing.T) {
	dir := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	k, err := keys.New(rsaKey(), "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Save(k); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir.Path)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, %v", st.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir.Path)
	if len(entries) != 3 || entries[0].Name() != ".lock" {
		t.Fatalf("files %v: want exactly .lock, <kid>.pem and <kid>.json, no temporary files", entries)
	}
	for _, name := range []string{k.ID + ".pem", k.ID + ".json"} {
		st, err := os.Stat(filepath.Join(dir.Path, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, %v", name, st.Mode().Perm(), err)
		}
	}
	pemBytes, _ := os.ReadFile(filepath.Join(dir.Path, k.ID+".pem"))
	if b, _ := pem.Decode(pemBytes); b == nil || b.Type != "PRIVATE KEY" {
		t.Fatal("not a PKCS#8 PEM file")
	}
	got, err := dir.Load(k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != k.ID || got.Algorithm != "RS512" || got.State != keys.StateActive || !got.Created.Equal(k.Created.Truncate(0)) {
		t.Fatalf("loaded %+v, saved %+v", got, k)
	}
	if !got.Signer.(*rsa.PrivateKey).Equal(rsaKey()) {
		t.Fatal("loaded key differs")
	}
	if err := dir.Save(k); err == nil {
		t.Fatal("Save overwrote an existing key")
	}
}

// writeFile writes a file for the load-error table.
func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	rk := rsaKey()
	kid, _ := keys.Thumbprint(rk.Public())
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	good := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecKid, _ := keys.Thumbprint(ec.Public())
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherDER, _ := x509.MarshalPKCS8PrivateKey(other)
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherDER})
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x00}})
	legacyEnc := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1, 2, 3}})
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})

	cases := []struct {
		name    string
		kid     string
		pem     []byte
		meta    string
		wantErr error
	}{
		{"pkcs8 loads", kid, good, "", nil},
		{"pkcs1 loads", kid, pkcs1, "", nil},
		{"encrypted pkcs8", kid, encrypted, "", keys.ErrEncryptedPEM},
		{"encrypted legacy", kid, legacyEnc, "", keys.ErrEncryptedPEM},
		{"truncated", kid, good[:len(good)/2], "", keys.ErrMalformed},
		{"garbage", kid, []byte("this is not a key\n"), "", keys.ErrMalformed},
		{"empty", kid, nil, "", keys.ErrMalformed},
		{"public key only", kid, pubPEM, "", keys.ErrMalformed},
		{"damaged DER", kid, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8[:100]}), "", keys.ErrMalformed},
		{"kid mismatch", kid, otherPEM, "", keydir.ErrKidMismatch},
		{"EC key under RS512", ecKid, ecPEM, "", keys.ErrAlgorithmMismatch},
		{"EC key under ES256", ecKid, ecPEM, `{"version":1,"kid":"` + ecKid + `","alg":"ES256","state":"active"}`, nil},
		{"RSA key under ES256", kid, good, `{"version":1,"kid":"` + kid + `","alg":"ES256","state":"active"}`, keys.ErrAlgorithmMismatch},
		{"bad state", kid, good, `{"version":1,"kid":"` + kid + `","alg":"RS512","state":"weird"}`, keys.ErrMalformed},
		{"meta for another kid", kid, good, `{"version":1,"kid":"x","alg":"RS512","state":"active"}`, keydir.ErrKidMismatch},
		{"broken meta", kid, good, `{`, keys.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			writeFile(t, d, tc.kid+".pem", tc.pem)
			if tc.meta != "" {
				writeFile(t, d, tc.kid+".json", []byte(tc.meta))
			}
			k, err := keydir.Dir{Path: d}.Load(tc.kid)
			if tc.wantErr == nil {
				if err != nil || k.ID != tc.kid {
					t.Fatalf("load: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if _, rerr := (keydir.Dir{Path: d}).LoadRing(); !errors.Is(rerr, tc.wantErr) {
				t.Fatalf("LoadRing err %v, want %v", rerr, tc.wantErr)
			}
		})
	}
	if _, err := (keydir.Dir{Path: t.TempDir()}).Load("../etc/passwd"); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("path traversal kid: %v", err)
	}
}

func TestRingSigner(t *testing.T) {
	now := time.Now()
	mk := func(age time.Duration, st keys.State, nb time.Time) *keys.Key {
		k, err := keys.Generate("ES256", 0)
		if err != nil {
			t.Fatal(err)
		}
		k.Created, k.State, k.NotBefore = now.Add(-age), st, nb
		return k
	}
	old := mk(48*time.Hour, keys.StateActive, time.Time{})
	newer := mk(24*time.Hour, keys.StateActive, time.Time{})
	pending := mk(time.Hour, keys.StatePending, time.Time{})
	future := mk(time.Minute, keys.StateActive, now.Add(time.Hour))
	retired := mk(72*time.Hour, keys.StateRetired, time.Time{})
	cases := []struct {
		name string
		ks   []*keys.Key
		want *keys.Key
	}{
		{"newest active signs", []*keys.Key{old, newer}, newer},
		{"pending never signs", []*keys.Key{old, pending}, old},
		{"not before its time", []*keys.Key{old, future}, old},
		{"retired never signs", []*keys.Key{retired}, nil},
		{"empty", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := keys.NewRing(tc.ks...)
			got, err := r.SignerAt(now)
			if tc.want == nil {
				if !errors.Is(err, keys.ErrNoSigningKey) {
					t.Fatalf("got %v, %v", got, err)
				}
			} else if got.ID != tc.want.ID {
				t.Fatalf("signer %v, want %v", got.ID, tc.want.ID)
			}
			if len(r.Keys()) != len(tc.ks) {
				t.Fatal("every key in the ring must be published")
			}
		})
	}
	r := keys.NewRing(old, newer, pending)
	if k, err := r.Lookup(pending.ID); err != nil || k.ID != pending.ID || k.State != keys.StatePending {
		t.Fatal("lookup")
	}
	if _, err := r.Lookup("nope"); !errors.Is(err, keys.ErrNotFound) {
		t.Fatal("lookup of a missing kid")
	}
}

// GenerateContext returns as soon as its context ends, though a 16384-bit
// RSA key takes minutes; a context already ended makes no key at all.
func TestGenerateContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := keys.GenerateContext(ctx, "RS512", 4096); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := keys.GenerateContext(ctx, "RS512", keys.MaxRSABits); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("returned %v after a deadline of 50ms", took)
	}
}
