package testutil

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
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

// PFXLayout describes a PFX made by BuildPFX. Every key derivation is
// PBKDF2-HMAC-SHA-256 (PBES2 with AES-256-CBC, and a PBMAC1 MAC), which
// go-pkcs12 and OpenSSL 3 read. A count above FakeCryptoAbove gets random
// bytes for its ciphertext or MAC instead of the real thing, so that a
// hostile file is quick to make; a reader that derives it would find it
// wrong after minutes of work, one that bounds counts never gets there.
type PFXLayout struct {
	// Password protects the file; with "" and MACIterations 0 there is no
	// MAC (go-pkcs12 accepts that only for the empty password).
	Password string
	// MACIterations is the PBMAC1 count; 0 means no MAC.
	MACIterations int
	// SafeIterations is the count of the encrypted safe holding the
	// certificate (and the key with KeyInEncryptedSafe).
	SafeIterations int
	// KeyIterations is the shrouded key bag's count.
	KeyIterations int
	// KeyInEncryptedSafe puts the key bag inside the encrypted safe,
	// where its parameters are encrypted too, instead of in a plain safe
	// of its own (the OpenSSL, Windows and Java layout).
	KeyInEncryptedSafe bool
	// Nesting wraps the key bag in this many SafeContents bags (RFC 7292
	// section 4.2.6); go-pkcs12 does not look inside them, so a nested
	// key is "missing" to it.
	Nesting int
}

// FakeCryptoAbove is the count above which BuildPFX writes random bytes
// instead of deriving a key.
const FakeCryptoAbove = 1 << 22

// BuildPFX makes a PKCS#12 file holding key (an *rsa.PrivateKey or
// *ecdsa.PrivateKey) and cert laid out as l says. Only ASN.1, PBKDF2,
// AES-CBC and HMAC from the standard library are used.
func BuildPFX(t testing.TB, key any, cert *x509.Certificate, l PFXLayout) []byte {
	t.Helper()
	marshal := func(v any) []byte {
		t.Helper()
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	explicit := func(der []byte) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
	}
	var (
		oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
		oidEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
		oidShroudedKey   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
		oidCertBag       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
		oidSafeContents  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 6}
		oidX509Cert      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
		oidPBES2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
		oidPBMAC1        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
		oidPBKDF2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
		oidHMACSHA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
		oidAES256CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	)
	type algID struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	type pbkdf2Params struct {
		Salt       []byte
		Iterations int
		KeyLength  int `asn1:"optional"`
		PRF        algID
	}
	type pbes2Params struct {
		KDF    algID
		Scheme algID
	}
	type safeBag struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}
	type contentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}
	null := asn1.RawValue{FullBytes: []byte{0x05, 0x00}}
	kdf := func(iter, keyLen int, withLen bool) (algID, []byte) {
		salt := random(16)
		p := pbkdf2Params{Salt: salt, Iterations: iter, PRF: algID{oidHMACSHA256, null}}
		if withLen {
			p.KeyLength = keyLen
		}
		var dk []byte
		if iter <= FakeCryptoAbove {
			var err error
			if dk, err = pbkdf2.Key(sha256.New, l.Password, salt, iter, keyLen); err != nil {
				t.Fatal(err)
			}
		}
		return algID{oidPBKDF2, asn1.RawValue{FullBytes: marshal(p)}}, dk
	}
	// encrypt returns PBES2 parameters and the ciphertext of plain.
	encrypt := func(plain []byte, iter int) (algID, []byte) {
		k, dk := kdf(iter, 32, false)
		iv := random(16)
		alg := algID{oidPBES2, asn1.RawValue{FullBytes: marshal(pbes2Params{k, algID{oidAES256CBC, asn1.RawValue{FullBytes: marshal(iv)}}})}}
		pad := 16 - len(plain)%16
		buf := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
		if dk == nil {
			return alg, random(len(buf))
		}
		block, err := aes.NewCipher(dk)
		if err != nil {
			t.Fatal(err)
		}
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
		return alg, buf
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	alg, ct := encrypt(pkcs8, l.KeyIterations)
	keyBag := safeBag{oidShroudedKey, explicit(marshal(struct {
		Alg  algID
		Data []byte
	}{alg, ct}))}
	for range l.Nesting {
		keyBag = safeBag{oidSafeContents, explicit(marshal([]safeBag{keyBag}))}
	}
	certBag := safeBag{oidCertBag, explicit(marshal(struct {
		ID   asn1.ObjectIdentifier
		Cert asn1.RawValue
	}{oidX509Cert, explicit(marshal(cert.Raw))}))}
	encBags := []safeBag{certBag}
	if l.KeyInEncryptedSafe {
		encBags = append(encBags, keyBag)
	}
	alg, ct = encrypt(marshal(encBags), l.SafeIterations)
	encSafe := contentInfo{oidEncryptedData, explicit(marshal(struct {
		Version int
		Info    struct {
			ContentType asn1.ObjectIdentifier
			Alg         algID
			Data        asn1.RawValue
		}
	}{0, struct {
		ContentType asn1.ObjectIdentifier
		Alg         algID
		Data        asn1.RawValue
	}{oidData, alg, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: ct}}}))}
	items := []contentInfo{encSafe}
	if !l.KeyInEncryptedSafe {
		items = append(items, contentInfo{oidData, explicit(marshal(marshal([]safeBag{keyBag})))})
	}
	authSafe := marshal(items)
	type digestInfo struct {
		Alg    algID
		Digest []byte
	}
	type macData struct {
		Mac        digestInfo
		MacSalt    []byte
		Iterations int
	}
	type pfx struct {
		Version  int
		AuthSafe contentInfo
		MacData  macData `asn1:"optional"`
	}
	p := pfx{Version: 3, AuthSafe: contentInfo{oidData, explicit(marshal(authSafe))}}
	if l.MACIterations > 0 {
		k, mk := kdf(l.MACIterations, 32, true)
		digest := random(32)
		if mk != nil {
			h := hmac.New(sha256.New, mk)
			h.Write(authSafe)
			digest = h.Sum(nil)
		}
		params := marshal(struct{ KDF, MAC algID }{k, algID{oidHMACSHA256, null}})
		p.MacData = macData{digestInfo{algID{oidPBMAC1, asn1.RawValue{FullBytes: params}}, digest}, random(16), 1}
	} else if l.Password != "" {
		t.Fatal("BuildPFX: a password needs a MAC")
	}
	return marshal(p)
}
