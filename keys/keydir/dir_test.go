package keydir_test

import (
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
