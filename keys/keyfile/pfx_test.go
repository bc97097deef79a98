package keyfile_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

// opensslKeyCert makes a key and a self-signed certificate with openssl in
// dir: key.pem and cert.pem. newkey is openssl req's -newkey argument.
func opensslKeyCert(t *testing.T, dir, newkey string) {
	t.Helper()
	testutil.OpenSSL(t, dir, "req", "-x509", "-newkey", newkey, "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
		"-subj", "/CN=pkjwt test", "-days", "30")
}

// writeFile writes data to dir/name and returns the path.
func writePFXTestFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePFXFromOpenSSL(t *testing.T) {
	testutil.RequireOpenSSL3(t)
	dir := t.TempDir()
	opensslKeyCert(t, dir, "rsa:2048")
	wantFP := testutil.OpenSSLSHA1Hex(t, dir, "cert.pem")
	wantKey, err := keys.ParsePEM(read(t, filepath.Join(dir, "key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	writePFXTestFile(t, dir, "pw.txt", []byte("correct horse\n"))
	tests := []struct {
		name     string
		args     []string
		password string
		info     string // a line "openssl pkcs12 -info" prints for this encoding
	}{
		{"openssl 3 defaults", []string{"-passout", "file:pw.txt"}, "correct horse", "AES-256-CBC"},
		{"legacy 3DES/RC2", []string{"-legacy", "-passout", "file:pw.txt"}, "correct horse", "pbeWithSHA1And3-KeyTripleDES-CBC"},
		{"empty password", []string{"-passout", "pass:"}, "", "AES-256-CBC"},
		{"empty password, legacy", []string{"-legacy", "-passout", "pass:"}, "", "pbeWithSHA1And3-KeyTripleDES-CBC"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := "p" + string(rune('0'+i)) + ".pfx"
			args := append([]string{"pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", out}, tt.args...)
			testutil.OpenSSL(t, dir, args...)
			passin := "pass:" + tt.password
			infoArgs := []string{"pkcs12", "-info", "-noout", "-in", out, "-passin", passin}
			if strings.Contains(tt.info, "DES") {
				infoArgs = append(infoArgs, "-legacy")
			}
			if info := testutil.OpenSSL(t, dir, infoArgs...); !bytes.Contains(info, []byte(tt.info)) {
				t.Fatalf("openssl pkcs12 -info does not show %s:\n%s", tt.info, info)
			}

			signer, cert, err := keyfile.ParsePFX(read(t, filepath.Join(dir, out)), tt.password)
			if err != nil {
				t.Fatalf("ParsePFX: %v", err)
			}
			if !signer.Public().(*rsa.PublicKey).Equal(wantKey.Public()) {
				t.Fatal("ParsePFX returned another key")
			}
			kid, err := keys.KIDFrom(keys.KIDX509SHA1Hex, signer.Public(), cert)
			if err != nil {
				t.Fatal(err)
			}
			if kid != wantFP {
				t.Fatalf("x509-sha1-hex kid %s, openssl fingerprint %s", kid, wantFP)
			}
			k, err := keys.New(signer, "RS512", time.Now())
			if err != nil {
				t.Fatalf("keys.New: %v", err)
			}
			k.Certificate = cert
			if _, err := k.Signer.Sign(rand.Reader, make([]byte, 64), crypto.SHA512); err != nil {
				t.Fatalf("imported key cannot sign: %v", err)
			}
			if tt.password != "" {
				if _, _, err := keyfile.ParsePFX(read(t, filepath.Join(dir, out)), "wrong"); !errors.Is(err, keyfile.ErrWrongPassword) {
					t.Fatalf("wrong password: got %v, want ErrWrongPassword", err)
				}
				if _, _, err := keyfile.ParsePFX(read(t, filepath.Join(dir, out)), ""); !errors.Is(err, keyfile.ErrWrongPassword) {
					t.Fatalf("empty password for a protected PFX: got %v, want ErrWrongPassword", err)
				}
			}
		})
	}
}

func TestParsePFXBadInputs(t *testing.T) {
	testutil.RequireOpenSSL3(t)
	dir := t.TempDir()
	opensslKeyCert(t, dir, "rsa:2048")
	testutil.OpenSSL(t, dir, "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", "good.pfx", "-passout", "pass:pw")
	testutil.OpenSSL(t, dir, "pkcs12", "-export", "-nokeys", "-in", "cert.pem", "-out", "nokey.pfx", "-passout", "pass:pw")
	testutil.OpenSSL(t, dir, "pkcs12", "-export", "-nocerts", "-inkey", "key.pem", "-out", "nocert.pfx", "-passout", "pass:pw")
	// A certificate for another key next to this key: openssl refuses to
	// make one, go-pkcs12 does not check.
	other := t.TempDir()
	opensslKeyCert(t, other, "rsa:2048")
	key, err := keys.ParsePEM(read(t, filepath.Join(dir, "key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	otherBlock, _ := pem.Decode(read(t, filepath.Join(other, "cert.pem")))
	otherCert, err := x509.ParseCertificate(otherBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	mismatch, err := pkcs12.Modern2023.Encode(key, otherCert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	good := read(t, filepath.Join(dir, "good.pfx"))

	tests := []struct {
		name     string
		data     []byte
		password string
		want     []error
		msg      string
	}{
		{"wrong password", good, "nope", []error{keyfile.ErrWrongPassword}, "password"},
		{"truncated", good[:len(good)/2], "pw", []error{keys.ErrMalformed}, "truncated"},
		{"one byte short", good[:len(good)-1], "pw", []error{keys.ErrMalformed}, ""},
		{"garbage", []byte("this is not a PFX file at all"), "pw", []error{keys.ErrMalformed}, ""},
		{"empty", nil, "", []error{keys.ErrMalformed}, "empty"},
		{"PEM", read(t, filepath.Join(dir, "key.pem")), "", []error{keys.ErrMalformed}, "PEM"},
		{"too large", make([]byte, keyfile.MaxPFXSize+1), "", []error{keys.ErrMalformed}, "larger"},
		{"no private key", read(t, filepath.Join(dir, "nokey.pfx")), "pw", []error{keys.ErrMalformed}, "no private key"},
		{"no certificate", read(t, filepath.Join(dir, "nocert.pfx")), "pw", []error{keys.ErrMalformed}, "no certificate"},
		{"certificate of another key", mismatch, "pw", []error{keys.ErrCertificateMismatch, keys.ErrMalformed}, "public key"},
		{"two private keys", testutil.TwoKeyPFX(t), "", []error{keys.ErrMalformed}, "more than one private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, cert, err := keyfile.ParsePFX(tt.data, tt.password)
			if err == nil {
				t.Fatal("ParsePFX succeeded")
			}
			if signer != nil || cert != nil {
				t.Fatal("ParsePFX returned a key or certificate with its error")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q is not %v", err, w)
				}
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if errors.Is(err, keyfile.ErrWrongPassword) && tt.want[0] != keyfile.ErrWrongPassword {
				t.Errorf("error %q blames the password", err)
			}
		})
	}
}

// A PFX with CA certificates besides the key's own: ParsePFX returns the
// certificate that holds the key, whatever the order of the bags.
func TestParsePFXWithChain(t *testing.T) {
	testutil.RequireOpenSSL3(t)
	dir := t.TempDir()
	opensslKeyCert(t, dir, "rsa:2048")
	ca := t.TempDir()
	opensslKeyCert(t, ca, "rsa:2048")
	leafFP := testutil.OpenSSLSHA1Hex(t, dir, "cert.pem")
	testutil.OpenSSL(t, dir, "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-certfile", filepath.Join(ca, "cert.pem"),
		"-out", "chain.pfx", "-passout", "pass:pw")
	key, err := keys.ParsePEM(read(t, filepath.Join(dir, "key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(read(t, filepath.Join(dir, "cert.pem")))
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(read(t, filepath.Join(ca, "cert.pem")))
	caCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// The CA certificate first, as some exporters write it.
	caFirst, err := pkcs12.Modern2023.Encode(key, caCert, []*x509.Certificate{leaf}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"openssl -certfile": read(t, filepath.Join(dir, "chain.pfx")), "CA certificate first": caFirst} {
		t.Run(name, func(t *testing.T) {
			signer, cert, err := keyfile.ParsePFX(data, "pw")
			if err != nil {
				t.Fatal(err)
			}
			kid, err := keys.KIDFrom(keys.KIDX509SHA1Hex, signer.Public(), cert)
			if err != nil || kid != leafFP {
				t.Fatalf("kid %q, %v; want the leaf's %s", kid, err, leafFP)
			}
		})
	}
}

func TestParsePFXECKeyUnderRS512(t *testing.T) {
	testutil.RequireOpenSSL3(t)
	dir := t.TempDir()
	opensslKeyCert(t, dir, "ec:"+ecParams(t, dir))
	testutil.OpenSSL(t, dir, "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", "ec.pfx", "-passout", "pass:pw")
	signer, cert, err := keyfile.ParsePFX(read(t, filepath.Join(dir, "ec.pfx")), "pw")
	if err != nil {
		t.Fatalf("an EC PFX must parse (ES256 can use it): %v", err)
	}
	if _, err := keys.New(signer, "RS512", time.Now()); !errors.Is(err, keys.ErrAlgorithmMismatch) {
		t.Fatalf("EC key under RS512: got %v, want ErrAlgorithmMismatch", err)
	}
	if _, err := keys.New(signer, "ES256", time.Now()); err != nil {
		t.Fatalf("EC P-256 key under ES256: %v", err)
	}
	if cert == nil {
		t.Fatal("no certificate")
	}
}

func ecParams(t *testing.T, dir string) string {
	testutil.OpenSSL(t, dir, "ecparam", "-name", "prime256v1", "-out", "ec.param")
	return "ec.param"
}

func TestEncodePFXReadByOpenSSL(t *testing.T) {
	testutil.RequireOpenSSL3(t)
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cert, err := keys.SelfSignedCertificate(k, "pkjwt export", now.Add(-time.Minute), now.Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		encode   func(crypto.Signer, *x509.Certificate, string) ([]byte, error)
		password string
		legacy   bool
	}{
		{"modern", keyfile.EncodePFX, "s3cret pass", false},
		{"modern, empty password", keyfile.EncodePFX, "", false},
		{"legacy", keyfile.EncodePFXLegacy, "s3cret pass", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data, err := tt.encode(k, cert, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			writePFXTestFile(t, dir, "out.pfx", data)
			writePFXTestFile(t, dir, "pw.txt", []byte(tt.password+"\n"))
			passin := "file:pw.txt"
			if tt.password == "" {
				passin = "pass:"
			}
			args := []string{"pkcs12", "-info", "-nodes", "-in", "out.pfx", "-passin", passin}
			if tt.legacy {
				args = append(args, "-legacy")
			}
			out := testutil.OpenSSL(t, dir, args...)
			// openssl prints the key and the certificate as PEM.
			var gotKey crypto.Signer
			var gotCert *x509.Certificate
			for rest := out; ; {
				var b *pem.Block
				b, rest = pem.Decode(rest)
				if b == nil {
					break
				}
				switch b.Type {
				case "PRIVATE KEY":
					if gotKey, err = keys.ParsePEM(pem.EncodeToMemory(b)); err != nil {
						t.Fatal(err)
					}
				case "CERTIFICATE":
					if gotCert, err = x509.ParseCertificate(b.Bytes); err != nil {
						t.Fatal(err)
					}
				}
			}
			if gotKey == nil || !k.PublicKey.Equal(gotKey.Public()) {
				t.Fatalf("openssl did not print the exported key:\n%s", redactKeys(out))
			}
			if gotCert == nil || !gotCert.Equal(cert) {
				t.Fatal("openssl did not print the exported certificate")
			}
			signer, c, err := keyfile.ParsePFX(data, tt.password)
			if err != nil {
				t.Fatalf("ParsePFX of EncodePFX's output: %v", err)
			}
			if !k.PublicKey.Equal(signer.Public()) || !c.Equal(cert) {
				t.Fatal("round trip changed the key or certificate")
			}
		})
	}
}

// redactKeys drops private key PEM blocks from openssl output before it is
// printed in a failure message.
func redactKeys(out []byte) string {
	var kept []string
	for rest := out; ; {
		b, r := pem.Decode(rest)
		if b == nil {
			break
		}
		rest = r
		if !strings.Contains(b.Type, "PRIVATE") {
			kept = append(kept, string(pem.EncodeToMemory(b)))
		}
	}
	return strings.Join(kept, "")
}

func TestEncodePFXRefuses(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c2, err := keys.SelfSignedCertificate(k2, "", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		signer crypto.Signer
		cert   *x509.Certificate
		want   error
	}{
		{"no certificate", k1, nil, keys.ErrNoCertificate},
		{"another key's certificate", k1, c2, keys.ErrCertificateMismatch},
		{"nil signer", nil, c2, keys.ErrMalformed},
		{"remote signer", opaqueSigner{k2}, c2, keys.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := keyfile.EncodePFX(tt.signer, tt.cert, "pw"); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// opaqueSigner hides its key's type, like a key held by a key service.
type opaqueSigner struct{ crypto.Signer }

func TestSelfSignedCertificate(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	nb := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	na := nb.Add(90 * 24 * time.Hour)
	tests := []struct {
		name   string
		signer crypto.Signer
		alg    x509.SignatureAlgorithm
	}{
		{"RSA", rsaKey, x509.SHA256WithRSA},
		{"P-256", p256, x509.ECDSAWithSHA256},
		{"P-384", p384, x509.ECDSAWithSHA384},
		{"remote RSA", opaqueSigner{rsaKey}, x509.SHA256WithRSA},
	}
	serials := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := keys.SelfSignedCertificate(tt.signer, "svc", nb, na)
			if err != nil {
				t.Fatal(err)
			}
			if c.SignatureAlgorithm != tt.alg {
				t.Errorf("signature algorithm %v, want %v", c.SignatureAlgorithm, tt.alg)
			}
			if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
				t.Errorf("not validly self-signed: %v", err)
			}
			if c.Subject.CommonName != "svc" || c.Issuer.CommonName != "svc" {
				t.Errorf("subject %v issuer %v", c.Subject, c.Issuer)
			}
			if !c.NotBefore.Equal(nb.Truncate(time.Second)) || !c.NotAfter.Equal(na.Truncate(time.Second)) {
				t.Errorf("validity %v..%v", c.NotBefore, c.NotAfter)
			}
			if c.KeyUsage != x509.KeyUsageDigitalSignature || c.IsCA {
				t.Errorf("key usage %v, CA %v", c.KeyUsage, c.IsCA)
			}
			if s := c.SerialNumber; s.Sign() <= 0 || len(s.Bytes()) > 10 || serials[s.String()] {
				t.Errorf("serial %v: not positive, longer than 10 octets, or repeated", s)
			}
			serials[c.SerialNumber.String()] = true
			if !c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.signer.Public()) {
				t.Error("certificate holds another key")
			}
		})
	}
	if _, err := keys.SelfSignedCertificate(p256, "x", na, nb); !errors.Is(err, keys.ErrMalformed) {
		t.Errorf("validity ending before it starts: got %v", err)
	}
}

func TestKIDFrom(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert, err := keys.SelfSignedCertificate(k, "kid", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	thumb, err := keys.Thumbprint(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	s1 := sha1.Sum(cert.Raw)
	s256 := sha256.Sum256(cert.Raw)
	tests := []struct {
		method string
		pub    crypto.PublicKey
		cert   *x509.Certificate
		want   string
		err    error
	}{
		{"thumbprint", k.Public(), nil, thumb, nil},
		{"thumbprint", k.Public(), cert, thumb, nil},
		{"thumbprint", nil, cert, thumb, nil},
		{"x5t", k.Public(), cert, base64.RawURLEncoding.EncodeToString(s1[:]), nil},
		{"x5t#S256", k.Public(), cert, base64.RawURLEncoding.EncodeToString(s256[:]), nil},
		{"x509-sha1-hex", k.Public(), cert, strings.ToUpper(hex.EncodeToString(s1[:])), nil},
		{"x509-sha1-hex", nil, cert, strings.ToUpper(hex.EncodeToString(s1[:])), nil},
		{"x5t", k.Public(), nil, "", keys.ErrNoCertificate},
		{"x5t#S256", k.Public(), nil, "", keys.ErrNoCertificate},
		{"x509-sha1-hex", k.Public(), nil, "", keys.ErrNoCertificate},
		{"x509-sha1-hex", other.Public(), cert, "", keys.ErrCertificateMismatch},
		{"sha1", k.Public(), cert, "", keys.ErrUnknownKIDMethod},
		{"", k.Public(), cert, "", keys.ErrUnknownKIDMethod},
	}
	for _, tt := range tests {
		got, err := keys.KIDFrom(tt.method, tt.pub, tt.cert)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("KIDFrom(%q, cert %v): got %q, %v; want %v", tt.method, tt.cert != nil, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("KIDFrom(%q, cert %v) = %q, %v; want %q", tt.method, tt.cert != nil, got, err, tt.want)
		}
	}
	// Every listed method derives a valid kid.
	for _, m := range keys.KIDMethods() {
		kid, err := keys.KIDFrom(m, k.Public(), cert)
		if err != nil || keys.ValidateKID(kid) != nil {
			t.Errorf("KIDFrom(%q) = %q, %v", m, kid, err)
		}
	}
	if got := strings.Join(keys.KIDMethods(), "|"); got != "thumbprint|x5t|x5t#S256|x509-sha1-hex" {
		t.Errorf("KIDMethods() = %s", got)
	}
}

func TestParsePEMPassword(t *testing.T) {
	testutil.RequireOpenSSL3(t)
	dir := t.TempDir()
	testutil.OpenSSL(t, dir, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "plain.pem")
	want, err := keys.ParsePEM(read(t, filepath.Join(dir, "plain.pem")))
	if err != nil {
		t.Fatal(err)
	}
	writePFXTestFile(t, dir, "pw.txt", []byte("pem pass phrase\n"))
	pw := []byte("pem pass phrase")
	testutil.OpenSSL(t, dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "plain.pem", "-out", "enc-aes.pem", "-passout", "file:pw.txt")
	testutil.OpenSSL(t, dir, "pkcs8", "-topk8", "-v2", "aes-128-cbc", "-in", "plain.pem", "-out", "enc-aes128.pem", "-passout", "file:pw.txt")
	testutil.OpenSSL(t, dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512", "-in", "plain.pem", "-out", "enc-sha512.pem", "-passout", "file:pw.txt")
	testutil.OpenSSL(t, dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-scrypt", "-in", "plain.pem", "-out", "enc-scrypt.pem", "-passout", "file:pw.txt")
	testutil.OpenSSL(t, dir, "pkcs8", "-topk8", "-v2", "des3", "-in", "plain.pem", "-out", "enc-des3.pem", "-passout", "file:pw.txt")
	testutil.OpenSSL(t, dir, "pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", "plain.pem", "-out", "enc-pbes1.pem", "-passout", "file:pw.txt")
	testutil.OpenSSL(t, dir, "rsa", "-traditional", "-aes256", "-in", "plain.pem", "-out", "enc-legacy.pem", "-passout", "file:pw.txt")
	testutil.OpenSSL(t, dir, "rsa", "-traditional", "-in", "plain.pem", "-out", "pkcs1.pem")
	enc := read(t, filepath.Join(dir, "enc-aes.pem"))
	if !bytes.Contains(enc, []byte("BEGIN ENCRYPTED PRIVATE KEY")) {
		t.Fatalf("openssl did not write an encrypted PKCS#8 key")
	}
	// A damaged ciphertext: the PEM body with a byte of its DER cut off.
	blk, _ := pem.Decode(enc)
	damaged := pem.EncodeToMemory(&pem.Block{Type: blk.Type, Bytes: blk.Bytes[:len(blk.Bytes)-1]})

	tests := []struct {
		name     string
		file     string
		data     []byte
		password []byte
		err      error
		msg      string
	}{
		{"PBES2 AES-256", "enc-aes.pem", nil, pw, nil, ""},
		{"PBES2 AES-128", "enc-aes128.pem", nil, pw, nil, ""},
		{"PBES2 scrypt", "enc-scrypt.pem", nil, pw, nil, ""},
		{"PBES2 with HMAC-SHA-512", "enc-sha512.pem", nil, pw, keys.ErrEncryptedPEM, "openssl pkcs8 -topk8"},
		{"PBES2 3DES", "enc-des3.pem", nil, pw, nil, ""},
		{"unencrypted PKCS#8", "plain.pem", nil, nil, nil, ""},
		{"unencrypted PKCS#1", "pkcs1.pem", nil, nil, nil, ""},
		{"wrong password", "enc-aes.pem", nil, []byte("nope"), keyfile.ErrWrongPassword, "password"},
		{"no password", "enc-aes.pem", nil, nil, keys.ErrEncryptedPEM, "password"},
		{"PBES1", "enc-pbes1.pem", nil, pw, keys.ErrEncryptedPEM, "openssl pkcs8 -topk8"},
		{"legacy OpenSSL encryption", "enc-legacy.pem", nil, pw, keys.ErrEncryptedPEM, "openssl pkcs8 -topk8"},
		{"damaged ciphertext", "", damaged, pw, keys.ErrMalformed, ""},
		{"truncated", "", enc[:len(enc)/2], pw, keys.ErrMalformed, ""},
		{"garbage", "", []byte("hello"), pw, keys.ErrMalformed, ""},
		{"too large", "", make([]byte, keyfile.MaxPFXSize+1), pw, keys.ErrMalformed, "larger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if tt.file != "" {
				data = read(t, filepath.Join(dir, tt.file))
			}
			got, err := keyfile.ParsePEMPassword(data, tt.password)
			if tt.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !want.Public().(*rsa.PublicKey).Equal(got.Public()) {
					t.Fatal("another key")
				}
				return
			}
			if !errors.Is(err, tt.err) || got != nil {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not say %q", err, tt.msg)
			}
		})
	}
	// ParsePEM points at the import command for an encrypted key.
	if _, err := keys.ParsePEM(enc); !errors.Is(err, keys.ErrEncryptedPEM) || !strings.Contains(err.Error(), "pkjwt keys import --pem") {
		t.Errorf("ParsePEM of an encrypted key: %v", err)
	}
}

func FuzzParsePFX(f *testing.F) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	c, err := keys.SelfSignedCertificate(k, "fuzz", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	for _, pw := range []string{"", "pw"} {
		data, err := keyfile.EncodePFX(k, c, pw)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, pw)
		f.Add(data[:len(data)-7], pw)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "")
	// Nested and encrypted safes, with small counts (each input runs its
	// derivations for real).
	for _, l := range []testutil.PFXLayout{
		{SafeIterations: 1, KeyIterations: 1, KeyInEncryptedSafe: true},
		{SafeIterations: 1, KeyIterations: 1, KeyInEncryptedSafe: true, Nesting: 2},
		{Password: "pw", MACIterations: 1, SafeIterations: 1, KeyIterations: 1, Nesting: 1},
	} {
		f.Add(testutil.BuildPFX(f, k, c, l), l.Password)
	}
	f.Fuzz(func(t *testing.T, data []byte, pw string) {
		s, c, err := keyfile.ParsePFX(data, pw)
		if err == nil && (s == nil || c == nil) {
			t.Fatal("nil key or certificate without an error")
		}
	})
}

func FuzzParsePEMPassword(f *testing.F) {
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"), []byte("pw"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"), []byte(""))
	f.Fuzz(func(t *testing.T, data, pw []byte) {
		s, err := keyfile.ParsePEMPassword(data, pw)
		if err == nil && s == nil {
			t.Fatal("nil key without an error")
		}
	})
}

// A PFX asking for more key-derivation iterations than MaxPFXIterations is
// refused before any derivation runs (the count is the file's to choose:
// 2^31 iterations would take minutes). The encrypted safes, the key bag and
// PBMAC1 are covered by TestCheckPFXIterations, with a small bound.
func TestParsePFXIterationBound(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.SelfSignedCertificate(k, "iterations", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	type macData struct {
		Mac        asn1.RawValue
		MacSalt    []byte
		Iterations int `asn1:"optional,default:1"`
	}
	type pfx struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  macData `asn1:"optional"`
	}
	// withMACIterations rewrites the MAC's iteration count (the MAC no
	// longer verifies, but the bound is checked before verification).
	withMACIterations := func(der []byte, n int) []byte {
		var p pfx
		if _, err := asn1.Unmarshal(der, &p); err != nil {
			t.Fatal(err)
		}
		p.MacData.Iterations = n
		b, err := asn1.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	modern, err := pkcs12.Modern2023.Encode(k, c, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := pkcs12.LegacyDES.Encode(k, c, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	over := keyfile.MaxPFXIterations + 1
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"HMAC MAC, 2^31-1 iterations", withMACIterations(modern, 1<<31-1), "MAC"},
		{"legacy MAC", withMACIterations(legacy, over), "MAC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := keyfile.ParsePFX(tt.data, "pw")
			if !errors.Is(err, keys.ErrMalformed) || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), "iterations") {
				t.Fatalf("got %v (after %v), want ErrMalformed naming the %s's iterations", err, time.Since(start), tt.msg)
			}
		})
	}
	// An ordinary PFX still opens.
	if _, _, err := keyfile.ParsePFX(withMACIterations(modern, 2048), "pw"); err != nil {
		t.Fatalf("an ordinary PFX: %v", err)
	}
}

// Every key derivation a PFX can ask for is bounded before it runs: the
// MAC, the encrypted safe, the key bag in a plain safe, the key bag inside
// the encrypted safe (whose parameters are encrypted too), and key bags in
// nested SafeContents bags, plain or encrypted. Each hostile file asks for
// 2^31-1 iterations in one place, a few minutes of CPU at least; it is
// refused with ErrKDFCost within a generous 2 s. The same layouts with
// 2,048 iterations everywhere open (or, nested, fail as go-pkcs12 finds no
// key there), so the files are ones go-pkcs12 would work through.
func TestParsePFXBoundsEveryDerivation(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.SelfSignedCertificate(k, "bounded", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	const huge, ok = 1<<31 - 1, 2048
	type layout = testutil.PFXLayout
	tests := []struct {
		name string
		l    layout
		// where is the part the error names; nested says the key is in
		// a SafeContents bag, which go-pkcs12 does not read.
		where  string
		nested bool
	}{
		{"(a) the MAC", layout{Password: "pw", MACIterations: huge, SafeIterations: ok, KeyIterations: ok}, "MAC", false},
		{"(b) the encrypted safe", layout{Password: "pw", MACIterations: ok, SafeIterations: huge, KeyIterations: ok}, "encrypted safe 1", false},
		{"(c) a shrouded key bag", layout{Password: "pw", MACIterations: ok, SafeIterations: ok, KeyIterations: huge}, "safe 2 private key", false},
		{"(c) a key bag inside the encrypted safe", layout{Password: "pw", MACIterations: ok, SafeIterations: ok, KeyIterations: huge, KeyInEncryptedSafe: true}, "encrypted safe 1 private key", false},
		{"(c) the same without password or MAC", layout{SafeIterations: ok, KeyIterations: huge, KeyInEncryptedSafe: true}, "encrypted safe 1 private key", false},
		{"(d) a nested safe", layout{Password: "pw", MACIterations: ok, SafeIterations: ok, KeyIterations: huge, Nesting: 1}, "safe 2 nested safe 1 private key", true},
		{"(d) three nested safes", layout{Password: "pw", MACIterations: ok, SafeIterations: ok, KeyIterations: huge, Nesting: 3}, "safe 2 nested safe 1 nested safe 1 nested safe 1 private key", true},
		{"(d) a nested safe inside the encrypted safe", layout{SafeIterations: ok, KeyIterations: huge, KeyInEncryptedSafe: true, Nesting: 2}, "encrypted safe 1 nested safe 2 nested safe 1 private key", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := testutil.BuildPFX(t, k, c, tt.l)
			start := time.Now()
			_, _, err := keyfile.ParsePFX(data, tt.l.Password)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("refused after %v", took)
			}
			if !errors.Is(err, keyfile.ErrKDFCost) || !errors.Is(err, keys.ErrMalformed) || !strings.Contains(err.Error(), "the PFX's "+tt.where+" asks for 2147483647") {
				t.Fatalf("err = %v, want ErrKDFCost naming %q", err, tt.where)
			}

			// The same layout within the bound.
			l := tt.l
			for _, n := range []*int{&l.MACIterations, &l.SafeIterations, &l.KeyIterations} {
				if *n == huge {
					*n = ok
				}
			}
			s, cert, err := keyfile.ParsePFX(testutil.BuildPFX(t, k, c, l), l.Password)
			switch {
			case tt.nested:
				if !errors.Is(err, keys.ErrMalformed) || errors.Is(err, keyfile.ErrKDFCost) || !strings.Contains(err.Error(), "no private key") {
					t.Fatalf("nested key within the bound: %v, want go-pkcs12's \"no private key\"", err)
				}
			case err != nil:
				t.Fatalf("within the bound: %v", err)
			case !k.PublicKey.Equal(s.Public()) || !cert.Equal(c):
				t.Fatal("within the bound: another key or certificate")
			}
		})
	}
}

// SafeContents nested deeper than the reader follows is refused, not
// walked.
func TestParsePFXNestingBound(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.SelfSignedCertificate(k, "nesting", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	data := testutil.BuildPFX(t, k, c, testutil.PFXLayout{SafeIterations: 1, KeyIterations: 1, Nesting: 50})
	if _, _, err := keyfile.ParsePFX(data, ""); !errors.Is(err, keys.ErrMalformed) || !strings.Contains(err.Error(), "nests SafeContents more than") {
		t.Fatalf("err = %v", err)
	}
}

// ParsePFXContext returns as soon as its context ends, though the file asks
// for as much work as the bound allows (go-pkcs12 cannot be interrupted; its
// leftover, bounded work runs on in the background).
func TestParsePFXContextCancel(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.SelfSignedCertificate(k, "cancel", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// A valid file at the bound: the safe is derived twice (once to read
	// the key bag's count, once by go-pkcs12), then the key bag.
	data := testutil.BuildPFX(t, k, c, testutil.PFXLayout{SafeIterations: keyfile.MaxPFXIterations, KeyIterations: keyfile.MaxPFXIterations, KeyInEncryptedSafe: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := keyfile.ParsePFXContext(ctx, data, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = keyfile.ParsePFXContext(ctx, data, "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("returned %v after its deadline of 50ms", took)
	}
}

// ParsePEMPasswordContext returns as soon as its context ends, though the
// key asks for as many PBKDF2 iterations as the bound allows.
func TestParsePEMPasswordContextCancel(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	data := testutil.EncryptPEM(t, k, "pw", keyfile.MaxPFXIterations)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := keyfile.ParsePEMPasswordContext(ctx, data, []byte("pw")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("returned %v after a deadline of 20ms", took)
	}
	// Left alone, it opens.
	if s, err := keyfile.ParsePEMPasswordContext(context.Background(), data, []byte("pw")); err != nil || !k.PublicKey.Equal(s.Public()) {
		t.Fatalf("without a deadline: %v", err)
	}
}
