package pkcs12pbe

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Decrypt opens the encrypted safe of every encoding go-pkcs12 writes (RC2
// and 3DES with the PKCS#12 derivation, AES with PBES2), with a password and
// with the empty one, and finds the certificate bag go-pkcs12 put there; a
// wrong password does not give it.
func TestDecryptGoPKCS12Safes(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pbe"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	type contentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
	}
	type encryptedData struct {
		Version int
		Info    struct {
			ContentType asn1.ObjectIdentifier
			Alg         pkix.AlgorithmIdentifier
			Data        []byte `asn1:"tag:0,optional"`
		}
	}
	type safeBag struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue `asn1:"tag:0,explicit"`
		Attrs asn1.RawValue `asn1:"optional"`
	}
	oidCertBag := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	for _, tt := range []struct {
		name string
		enc  *pkcs12.Encoder
	}{{"RC2-40", pkcs12.LegacyRC2}, {"3DES", pkcs12.LegacyDES}, {"AES-256 PBES2", pkcs12.Modern2023}} {
		for _, pw := range []string{"pw", ""} {
			t.Run(tt.name+" "+pw, func(t *testing.T) {
				p12, err := tt.enc.Encode(k, cert, nil, pw)
				if err != nil {
					t.Fatal(err)
				}
				var pfx struct {
					Version  int
					AuthSafe contentInfo
					Mac      asn1.RawValue `asn1:"optional"`
				}
				var authSafe []byte
				var items []contentInfo
				var ed encryptedData
				if _, err := asn1.Unmarshal(p12, &pfx); err != nil {
					t.Fatal(err)
				}
				if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
					t.Fatal(err)
				}
				if _, err := asn1.Unmarshal(authSafe, &items); err != nil {
					t.Fatal(err)
				}
				if _, err := asn1.Unmarshal(items[0].Content.Bytes, &ed); err != nil {
					t.Fatal(err)
				}
				bmp, err := BMPPassword(pw)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := Decrypt(ed.Info.Alg, bmp, ed.Info.Data)
				if err != nil {
					t.Fatal(err)
				}
				var bags []safeBag
				if _, err := asn1.Unmarshal(plain, &bags); err != nil || len(bags) != 1 || !bags[0].ID.Equal(oidCertBag) {
					t.Fatalf("bags %v, %v", bags, err)
				}
				wrong, _ := BMPPassword(pw + "x")
				if plain, err := Decrypt(ed.Info.Alg, wrong, ed.Info.Data); err == nil {
					if _, err := asn1.Unmarshal(plain, &bags); err == nil && len(bags) == 1 && bags[0].ID.Equal(oidCertBag) {
						t.Fatal("a wrong password gave the certificate bag")
					}
				}
			})
		}
	}
}
