package testutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// OpenSSL runs the openssl CLI in dir and returns its standard output (and,
// for "pkcs12 -info", which reports the encoding there, its standard error
// after it). Without openssl the test is skipped, unless
// PKJWT_REQUIRE_OPENSSL is set ("make test" sets it): then it fails.
func OpenSSL(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		Missing(t, "PKJWT_REQUIRE_OPENSSL", "openssl not installed (apt-get install openssl, or 'make deps')")
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if len(args) > 1 && args[0] == "pkcs12" && strings.Contains(strings.Join(args, " "), "-info") {
		out = append(out, stderr.Bytes()...)
	}
	return out
}

// RequireOpenSSL3 fails (or skips, as OpenSSL does) unless the openssl CLI
// is version 3, whose PKCS#12 defaults the tests rely on.
func RequireOpenSSL3(t testing.TB) {
	t.Helper()
	v := string(OpenSSL(t, t.TempDir(), "version"))
	if !strings.HasPrefix(v, "OpenSSL 3.") {
		t.Fatalf("these tests need OpenSSL 3 (its PKCS#12 defaults), got %q", v)
	}
}

// OpenSSLSHA1Hex returns the SHA-1 fingerprint "openssl x509 -fingerprint
// -sha1 -noout" prints for the PEM certificate certFile, without colons.
func OpenSSLSHA1Hex(t testing.TB, dir, certFile string) string {
	t.Helper()
	out := strings.TrimSpace(string(OpenSSL(t, dir, "x509", "-in", certFile, "-fingerprint", "-sha1", "-noout")))
	_, fp, ok := strings.Cut(out, "=")
	if !ok {
		t.Fatalf("unexpected fingerprint output %q", out)
	}
	return strings.ReplaceAll(fp, ":", "")
}

// TwoKeyPFX builds an unprotected PFX (empty password, no MAC) holding two
// private keys and one certificate, which openssl cannot make: two
// go-pkcs12 files whose key bags are put into one SafeContents. Only ASN.1
// is rearranged; nothing is encrypted by hand.
func TwoKeyPFX(t testing.TB) []byte {
	t.Helper()
	type contentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
	}
	type pfxPDU struct {
		Version  int
		AuthSafe contentInfo
	}
	unmarshal := func(der []byte, v any) {
		t.Helper()
		if rest, err := asn1.Unmarshal(der, v); err != nil || len(rest) != 0 {
			t.Fatalf("asn1: %v (%d bytes left)", err, len(rest))
		}
	}
	marshal := func(v any) []byte {
		t.Helper()
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// safes returns the bags of each item of the authenticated safe.
	safes := func(der []byte) (pfxPDU, [][]asn1.RawValue) {
		var pfx pfxPDU
		unmarshal(der, &pfx)
		var authSafeDER []byte
		unmarshal(pfx.AuthSafe.Content.Bytes, &authSafeDER)
		var items []contentInfo
		unmarshal(authSafeDER, &items)
		var out [][]asn1.RawValue
		for _, ci := range items {
			var sc []byte
			unmarshal(ci.Content.Bytes, &sc)
			var bags []asn1.RawValue
			unmarshal(sc, &bags)
			out = append(out, bags)
		}
		return pfx, out
	}
	enc := func() []byte {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "two keys"},
			NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pkcs12.Passwordless.Encode(k, c, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	pfx, sa := safes(enc())
	_, sb := safes(enc())
	if len(sa) != 2 || len(sb) != 2 {
		t.Fatalf("unexpected go-pkcs12 layout: %d and %d items", len(sa), len(sb))
	}
	oidData := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	wrap := func(bags []asn1.RawValue) contentInfo {
		return contentInfo{ContentType: oidData, Content: asn1.RawValue{Class: 2, Tag: 0, IsCompound: true, Bytes: marshal(marshal(bags))}}
	}
	// Item 0 holds the certificate, item 1 the key (go-pkcs12's layout).
	authSafe := marshal([]contentInfo{wrap(sa[0]), wrap(append(sa[1], sb[1]...))})
	pfx.AuthSafe.Content = asn1.RawValue{Class: 2, Tag: 0, IsCompound: true, Bytes: marshal(authSafe)}
	return marshal(pfx)
}
