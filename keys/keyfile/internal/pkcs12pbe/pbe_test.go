package pkcs12pbe

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

var oidCertBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}

type testContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type testSafeBag struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"tag:0,explicit"`
	Attrs asn1.RawValue `asn1:"optional"`
}

// encryptedSafe returns the algorithm and ciphertext of the first
// encrypted SafeContents of a PFX (RFC 7292 sections 4 and 5.1).
func encryptedSafe(t *testing.T, p12 []byte) (pkix.AlgorithmIdentifier, []byte) {
	t.Helper()
	var pfx struct {
		Version  int
		AuthSafe testContentInfo
		Mac      asn1.RawValue `asn1:"optional"`
	}
	var authSafe []byte
	var items []testContentInfo
	if _, err := asn1.Unmarshal(p12, &pfx); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(authSafe, &items); err != nil {
		t.Fatal(err)
	}
	oidEncryptedData := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	for _, item := range items {
		if !item.ContentType.Equal(oidEncryptedData) {
			continue
		}
		var ed struct {
			Version int
			Info    struct {
				ContentType asn1.ObjectIdentifier
				Alg         pkix.AlgorithmIdentifier
				Data        []byte `asn1:"tag:0,optional"`
			}
		}
		if _, err := asn1.Unmarshal(item.Content.Bytes, &ed); err != nil {
			t.Fatal(err)
		}
		return ed.Info.Alg, ed.Info.Data
	}
	t.Fatal("no encrypted safe")
	return pkix.AlgorithmIdentifier{}, nil
}

// certBag returns the certificate of plain if it is a SafeContents of one
// certificate bag, else nil.
func certBag(plain []byte) *x509.Certificate {
	var bags []testSafeBag
	if _, err := asn1.Unmarshal(plain, &bags); err != nil || len(bags) != 1 || !bags[0].ID.Equal(oidCertBag) {
		return nil
	}
	var cb struct {
		ID   asn1.ObjectIdentifier
		Data []byte `asn1:"tag:0,explicit"`
	}
	if _, err := asn1.Unmarshal(bags[0].Value.Bytes, &cb); err != nil {
		return nil
	}
	cert, err := x509.ParseCertificate(cb.Data)
	if err != nil {
		return nil
	}
	return cert
}

// Decrypt opens the encrypted safe of every encoding go-pkcs12 writes (RC2
// and 3DES with the PKCS#12 derivation, AES with PBES2), with a password and
// with the empty one, and finds the certificate go-pkcs12 put there; a
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
				alg, data := encryptedSafe(t, p12)
				bmp, err := BMPPassword(pw)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := Decrypt(alg, bmp, data)
				if err != nil {
					t.Fatal(err)
				}
				if got := certBag(plain); got == nil || !got.Equal(cert) {
					t.Fatalf("decrypted safe holds %v, want the certificate", got)
				}
				wrong, _ := BMPPassword(pw + "x")
				if plain, err := Decrypt(alg, wrong, data); err == nil && certBag(plain) != nil {
					t.Fatal("a wrong password gave the certificate bag")
				}
			})
		}
	}
}

// Decrypt opens the encrypted safes of PFX files OpenSSL 3.0 wrote (in
// testdata, certificate only, password "pkjwt-test" or empty), made with
//
//	openssl pkcs12 -export -nokeys -in cert.pem -passout pass:pkjwt-test \
//	  [-legacy] [-certpbe PBE-SHA1-RC2-128 | PBE-SHA1-3DES | AES-128-CBC]
//
// and finds the certificate in each: RC2-40 and RC2-128 (which go-pkcs12
// cannot write), 3DES, and PBES2 with AES-128 or AES-256.
func TestDecryptOpenSSLSafes(t *testing.T) {
	for _, tt := range []struct {
		file, password string
	}{
		{"openssl-rc2-40.p12", "pkjwt-test"},
		{"openssl-rc2-128.p12", "pkjwt-test"},
		{"openssl-3des.p12", "pkjwt-test"},
		{"openssl-aes128.p12", "pkjwt-test"},
		{"openssl-aes256.p12", "pkjwt-test"},
		{"openssl-rc2-40-empty.p12", ""},
	} {
		t.Run(tt.file, func(t *testing.T) {
			p12, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			alg, data := encryptedSafe(t, p12)
			bmp, err := BMPPassword(tt.password)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := Decrypt(alg, bmp, data)
			if err != nil {
				t.Fatal(err)
			}
			if cert := certBag(plain); cert == nil || cert.Subject.CommonName != "pkcs12pbe openssl" {
				t.Fatalf("decrypted safe holds %v, want the certificate", cert)
			}
			if plain, err := Decrypt(alg, bmp[2:], data); err == nil && certBag(plain) != nil {
				t.Fatal("a wrong password gave the certificate bag")
			}
		})
	}
}

// BMPPassword writes UTF-16 big-endian with a zero terminator and refuses
// characters outside the Basic Multilingual Plane, which PKCS#12's
// BMPString cannot hold; utf8Password undoes it.
func TestBMPPassword(t *testing.T) {
	for _, tt := range []struct {
		password, want string
		err            error
	}{
		{"", "0000", nil},
		{"pw", "007000770000", nil},
		{"£é€", "00a300e920ac0000", nil},
		{"key🔑", "", ErrUnsupported},
	} {
		got, err := BMPPassword(tt.password)
		if !errors.Is(err, tt.err) {
			t.Fatalf("BMPPassword(%q) error %v, want %v", tt.password, err, tt.err)
		}
		if err != nil {
			continue
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("BMPPassword(%q) = %x, want %s", tt.password, got, tt.want)
		}
		if back, err := utf8Password(got); err != nil || back != tt.password {
			t.Errorf("utf8Password(%x) = %q, %v", got, back, err)
		}
	}
}

// Decrypt refuses algorithms go-pkcs12 cannot decrypt and parameters or
// ciphertext it cannot read, with errors errors.Is finds.
func TestDecryptErrors(t *testing.T) {
	pbe := func(oid asn1.ObjectIdentifier, params any) pkix.AlgorithmIdentifier {
		der, err := asn1.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		return pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.RawValue{FullBytes: der}}
	}
	good := pkcs12PBEParams{Salt: []byte("saltsalt"), Iterations: 1}
	aes := pbe(oidAES256CBC, make([]byte, 16))
	kdf := func(prf asn1.ObjectIdentifier) pkix.AlgorithmIdentifier {
		return pbe(oidPBKDF2, pbkdf2Params{Salt: asn1.RawValue{Tag: asn1.TagOctetString, Bytes: []byte("salt")}, IterationCount: 1,
			PRF: pkix.AlgorithmIdentifier{Algorithm: prf, Parameters: asn1.NullRawValue}})
	}
	for _, tt := range []struct {
		name       string
		alg        pkix.AlgorithmIdentifier
		ciphertext []byte
		want       error
	}{
		{"RC4", pbe(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 1}, good), make([]byte, 8), ErrUnsupported},
		{"bad parameters", pkix.AlgorithmIdentifier{Algorithm: oidPBEWithSHA1And3DES, Parameters: asn1.RawValue{FullBytes: []byte{5, 0}}}, make([]byte, 8), ErrMalformed},
		{"empty ciphertext", pbe(oidPBEWithSHA1And3DES, good), nil, ErrMalformed},
		{"ciphertext not whole blocks", pbe(oidPBEWithSHA1And40RC2, good), make([]byte, 12), ErrMalformed},
		{"PBES2 without PBKDF2", pbe(oidPBES2, pbes2Params{KeyDerivationFunc: pbe(oidPBES2, good), EncryptionScheme: aes}), make([]byte, 16), ErrUnsupported},
		{"PBKDF2 with HMAC-MD5", pbe(oidPBES2, pbes2Params{KeyDerivationFunc: kdf(asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 6}), EncryptionScheme: aes}), make([]byte, 16), ErrUnsupported},
		{"PBES2 with DES", pbe(oidPBES2, pbes2Params{KeyDerivationFunc: kdf(oidHMACWithSHA256), EncryptionScheme: pbe(asn1.ObjectIdentifier{1, 3, 14, 3, 2, 7}, make([]byte, 8))}), make([]byte, 16), ErrUnsupported},
		{"PBES2 IV too short", pbe(oidPBES2, pbes2Params{KeyDerivationFunc: kdf(oidHMACWithSHA256), EncryptionScheme: pbe(oidAES128CBC, make([]byte, 8))}), make([]byte, 16), ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bmp, _ := BMPPassword("pw")
			if _, err := Decrypt(tt.alg, bmp, tt.ciphertext); !errors.Is(err, tt.want) {
				t.Fatalf("Decrypt error %v, want %v", err, tt.want)
			}
		})
	}
}
