package keyfile

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"software.sslmate.com/src/go-pkcs12"
)

// TestCheckPFXIterations checks every place a PFX names an iteration
// count, with a bound small enough that making the files is quick.
func TestCheckPFXIterations(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.SelfSignedCertificate(k, "iterations", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	tests := []struct {
		name string
		enc  *pkcs12.Encoder
		// what the first count over the bound is, with the MAC's count
		// of each encoding checked first
		first string
	}{
		{"PBES2 with HMAC-SHA-256 MAC", pkcs12.Modern2023.WithIterations(n), "MAC"},
		{"PBES2 with PBMAC1", pkcs12.Modern2026.WithIterations(n), "MAC"},
		{"3DES and RC2", pkcs12.LegacyRC2.WithIterations(n), "MAC"},
		{"unprotected", pkcs12.Passwordless, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pw := "pw"
			if tt.first == "" {
				pw = ""
			}
			der, err := tt.enc.Encode(k, c, nil, pw)
			if err != nil {
				t.Fatal(err)
			}
			if err := pfxWork(context.Background(), der, pw, n); err != nil {
				t.Fatalf("at the bound: %v", err)
			}
			err = pfxWork(context.Background(), der, pw, n-1)
			if tt.first == "" {
				if err != nil {
					t.Fatalf("an unprotected PFX has no counts: %v", err)
				}
				return
			}
			if !errors.Is(err, keys.ErrMalformed) || !strings.Contains(err.Error(), tt.first) {
				t.Fatalf("over the bound: %v, want the %s named", err, tt.first)
			}
			if _, _, err := ParsePFX(der, pw); err != nil {
				t.Fatalf("ParsePFX: %v", err)
			}
		})
	}
	// The encrypted safe and the key bag, each first over the bound: the
	// parts are encoded with n iterations, then the MAC's count is set
	// to 1 (the bound is checked before the MAC is verified) and, for the
	// key bag, the two safes are swapped.
	der, err := pkcs12.Modern2023.WithIterations(n).Encode(k, c, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	rebuild := func(swap bool) []byte {
		var pfx p12PFX
		if _, err := asn1.Unmarshal(der, &pfx); err != nil {
			t.Fatal(err)
		}
		pfx.MacData.Iterations = 1
		var authSafe []byte
		if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
			t.Fatal(err)
		}
		var items []asn1.RawValue
		if _, err := asn1.Unmarshal(authSafe, &items); err != nil {
			t.Fatal(err)
		}
		if swap {
			items[0], items[1] = items[1], items[0]
		}
		b, err := asn1.Marshal(items)
		if err == nil {
			pfx.AuthSafe.Content = asn1.RawValue{Class: 2, Tag: 0, IsCompound: true}
			pfx.AuthSafe.Content.Bytes, err = asn1.Marshal(b)
		}
		if err == nil {
			b, err = asn1.Marshal(pfx)
		}
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		swap bool
		want string
	}{{false, "encrypted safe 1"}, {true, "private key"}} {
		b := rebuild(tt.swap)
		if err := pfxWork(context.Background(), b, "pw", n); err != nil {
			t.Fatalf("at the bound: %v", err)
		}
		if err := pfxWork(context.Background(), b, "pw", n-1); !errors.Is(err, keys.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("over the bound: %v, want the %s named", err, tt.want)
		}
	}
}

// TestCheckPKCS8Work checks the bounds on an encrypted PEM key's key
// derivation, on EncryptedPrivateKeyInfo structures built here (the
// ciphertext is never reached).
func TestCheckPKCS8Work(t *testing.T) {
	mustMarshal := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	aes := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42},
		Parameters: asn1.RawValue{FullBytes: mustMarshal(make([]byte, 16))}}
	epki := func(kdf pkix.AlgorithmIdentifier) []byte {
		params := mustMarshal(pbes2Params{KeyDerivationFunc: kdf, Scheme: aes})
		return mustMarshal(p12EncryptedPrivateKeyInfo{
			Algorithm:     pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
			EncryptedData: make([]byte, 32),
		})
	}
	pbkdf2 := func(iter int) []byte {
		p := mustMarshal(struct {
			Salt       []byte
			Iterations int
		}{make([]byte, 16), iter})
		return epki(pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: p}})
	}
	scrypt := func(n, r, p int) []byte {
		sp := mustMarshal(scryptParams{Salt: make([]byte, 16), CostParameter: n, BlockSize: r, Parallelization: p})
		return epki(pkix.AlgorithmIdentifier{Algorithm: oidScrypt, Parameters: asn1.RawValue{FullBytes: sp}})
	}
	tests := []struct {
		name string
		der  []byte
		ok   bool
	}{
		{"PBKDF2 OpenSSL default", pbkdf2(2048), true},
		{"PBKDF2 at the bound", pbkdf2(MaxPFXIterations), true},
		{"PBKDF2 over the bound", pbkdf2(MaxPFXIterations + 1), false},
		{"PBKDF2 2^31-1", pbkdf2(1<<31 - 1), false},
		{"scrypt OpenSSL default", scrypt(16384, 8, 1), true},
		{"scrypt 64 MiB", scrypt(65536, 8, 1), true},
		{"scrypt 128 MiB", scrypt(131072, 8, 1), false},
		{"scrypt 1 TiB", scrypt(1<<30, 8, 1), false},
		{"scrypt huge r", scrypt(2, 1<<40, 1), false},
		{"scrypt p=1024", scrypt(16384, 8, 1024), false},
		{"scrypt N=0", scrypt(0, 8, 1), false},
		{"not PBES2", []byte{0x30, 0x00}, true},
	}
	for _, tt := range tests {
		err := checkPKCS8Work(tt.der)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, keys.ErrMalformed)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
