package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// MaxPFXSize bounds the PKCS#12 (PFX) and PEM files this package reads.
const MaxPFXSize = 1 << 20

// Errors of the PKCS#12 and encrypted PEM readers. They are wrapped with
// context; test for them with errors.Is.
var (
	// ErrWrongPassword is returned when a PFX or an encrypted PEM key cannot
	// be opened with the password given (an empty password included).
	ErrWrongPassword = errors.New("wrong password")
	// ErrCertificateMismatch is returned when a certificate's public key is
	// not the public half of the private key it is paired with. Errors that
	// carry it also carry ErrMalformed.
	ErrCertificateMismatch = errors.New("certificate does not belong to the private key")
	// ErrNoCertificate is returned by KIDFrom for a certificate-based method
	// when there is no certificate.
	ErrNoCertificate = errors.New("no certificate")
	// ErrUnknownKIDMethod is returned by KIDFrom for a method not in
	// KIDMethods.
	ErrUnknownKIDMethod = errors.New("unknown kid method")
)

// The kid methods of KIDFrom.
const (
	// KIDThumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url), the
	// kid pkjwt gives a key by default (see Thumbprint).
	KIDThumbprint = "thumbprint"
	// KIDX5t is the base64url SHA-1 of the certificate's DER, the value of
	// a JWK's "x5t" member (RFC 7517 section 4.8).
	KIDX5t = "x5t"
	// KIDX5tS256 is the base64url SHA-256 of the certificate's DER, the value
	// of a JWK's "x5t#S256" member (RFC 7517 section 4.9).
	KIDX5tS256 = "x5t#S256"
	// KIDX509SHA1Hex is the upper-case hex SHA-1 of the certificate's DER:
	// .NET's X509Certificate2.Thumbprint, the kid the .NET NHS sample
	// registers (docs/nhs-reference.md).
	KIDX509SHA1Hex = "x509-sha1-hex"
)

// kidMethod is one way of deriving a kid from a key or its certificate.
type kidMethod struct {
	name      string
	summary   string
	needsCert bool
	derive    func(pub crypto.PublicKey, cert *x509.Certificate) (string, error)
}

// kidMethodTable is the one list of kid methods: KIDFrom, KIDMethods and
// KIDMethodSummary all read it.
func kidMethodTable() []kidMethod {
	return []kidMethod{
		{KIDThumbprint, "RFC 7638 JWK thumbprint of the public key (SHA-256, base64url); pkjwt's default", false,
			func(pub crypto.PublicKey, _ *x509.Certificate) (string, error) { return Thumbprint(pub) }},
		{KIDX5t, "base64url SHA-1 of the certificate (a JWK's x5t)", true,
			func(_ crypto.PublicKey, c *x509.Certificate) (string, error) {
				sum := sha1.Sum(c.Raw)
				return base64.RawURLEncoding.EncodeToString(sum[:]), nil
			}},
		{KIDX5tS256, "base64url SHA-256 of the certificate (a JWK's x5t#S256)", true,
			func(_ crypto.PublicKey, c *x509.Certificate) (string, error) {
				sum := sha256.Sum256(c.Raw)
				return base64.RawURLEncoding.EncodeToString(sum[:]), nil
			}},
		{KIDX509SHA1Hex, "upper-case hex SHA-1 of the certificate (.NET's X509Certificate2.Thumbprint)", true,
			func(_ crypto.PublicKey, c *x509.Certificate) (string, error) {
				sum := sha1.Sum(c.Raw)
				return strings.ToUpper(hex.EncodeToString(sum[:])), nil
			}},
	}
}

// KIDMethods returns the names of the methods KIDFrom accepts, in a fixed
// order: thumbprint, x5t, x5t#S256, x509-sha1-hex.
func KIDMethods() []string {
	t := kidMethodTable()
	names := make([]string, len(t))
	for i, m := range t {
		names[i] = m.name
	}
	return names
}

// KIDMethodSummary returns a one-line description of a kid method, or ""
// for an unknown one.
func KIDMethodSummary(method string) string {
	for _, m := range kidMethodTable() {
		if m.name == method {
			return m.summary
		}
	}
	return ""
}

// KIDFrom derives a kid for a key by method (one of KIDMethods). pub is the
// key's public half; cert is its certificate, needed by every method except
// "thumbprint". When both are given, cert must hold pub
// (ErrCertificateMismatch). A certificate-based method without a certificate
// fails with ErrNoCertificate.
func KIDFrom(method string, pub crypto.PublicKey, cert *x509.Certificate) (string, error) {
	for _, m := range kidMethodTable() {
		if m.name != method {
			continue
		}
		if m.needsCert && cert == nil {
			return "", fmt.Errorf("keys: kid method %q needs the key's certificate: %w", method, ErrNoCertificate)
		}
		if pub == nil {
			if cert == nil {
				return "", fmt.Errorf("keys: kid method %q: no public key: %w", method, ErrMalformed)
			}
			pub = cert.PublicKey
		} else if cert != nil {
			if err := certificateHolds(cert, pub); err != nil {
				return "", err
			}
		}
		kid, err := m.derive(pub, cert)
		if err != nil {
			return "", err
		}
		if err := ValidateKID(kid); err != nil {
			return "", err
		}
		return kid, nil
	}
	return "", fmt.Errorf("keys: kid method %q (use %s): %w", method, strings.Join(KIDMethods(), ", "), ErrUnknownKIDMethod)
}

// certificateHolds reports whether cert's public key is pub.
func certificateHolds(cert *x509.Certificate, pub crypto.PublicKey) error {
	p, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !p.Equal(cert.PublicKey) {
		return fmt.Errorf("keys: certificate %q holds another public key: %w: %w", cert.Subject.CommonName, ErrCertificateMismatch, ErrMalformed)
	}
	return nil
}

// ParsePFX is ParsePFXContext without a context: it cannot be stopped, but
// its work is bounded all the same.
func ParsePFX(data []byte, password string) (crypto.Signer, *x509.Certificate, error) {
	return ParsePFXContext(context.Background(), data, password)
}

// ParsePFXContext reads a PKCS#12 (PFX, .p12) file holding one private key
// and its certificate, as exported by Windows, .NET, Java, Azure Key Vault or
// "openssl pkcs12 -export" (OpenSSL 3's AES-256/PBKDF2/SHA-256 default or
// the -legacy 3DES/RC2 encoding). password may be empty (a PFX "without a
// password" uses the empty password). Extra CA certificates are ignored;
// the certificate returned is the one whose public key is the private key's.
//
// Every key derivation the file asks for (its MAC, each encrypted safe,
// each shrouded key bag, at any depth) is checked against MaxPFXIterations
// before it runs. When ctx ends first, ParsePFXContext returns ctx's error
// at once; the work left over (bounded as above) finishes in the background
// and is discarded.
//
// Errors: ErrWrongPassword for a password that does not open the file;
// ErrMalformed for an empty, truncated, damaged or larger than MaxPFXSize
// file, a file with several private keys or none, a file asking for more
// than MaxPFXIterations key-derivation iterations anywhere (with
// ErrKDFCost), or no certificate for the key (with ErrCertificateMismatch);
// ErrAlgorithmMismatch for a key type pkjwt cannot sign with.
func ParsePFXContext(ctx context.Context, data []byte, password string) (crypto.Signer, *x509.Certificate, error) {
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("keys: empty PFX file: %w", ErrMalformed)
	}
	if len(data) > MaxPFXSize {
		return nil, nil, fmt.Errorf("keys: PFX file is larger than %d bytes: %w", MaxPFXSize, ErrMalformed)
	}
	if strings.HasPrefix(strings.TrimSpace(string(data[:min(len(data), 64)])), "-----BEGIN") {
		return nil, nil, fmt.Errorf("keys: this is a PEM file, not a binary PKCS#12 (PFX) file: %w", ErrMalformed)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("keys: reading the PFX stopped: %w", err)
	}
	type result struct {
		signer crypto.Signer
		cert   *x509.Certificate
		err    error
	}
	done := make(chan result, 1)
	go func() {
		s, c, err := parsePFX(ctx, data, password)
		done <- result{s, c, err}
	}()
	select {
	case r := <-done:
		return r.signer, r.cert, r.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("keys: reading the PFX stopped: %w", ctx.Err())
	}
}

func parsePFX(ctx context.Context, data []byte, password string) (signer crypto.Signer, cert *x509.Certificate, err error) {
	defer func() {
		// go-pkcs12 parses untrusted ASN.1 and ciphertext; a bug there must
		// come back as an error, not take the process down.
		if r := recover(); r != nil {
			signer, cert, err = nil, nil, fmt.Errorf("keys: PFX could not be parsed: %w", ErrMalformed)
		}
	}()
	if err := pfxWork(ctx, data, password, MaxPFXIterations); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("keys: reading the PFX stopped: %w", err)
	}
	priv, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, nil, pfxError(err, password)
	}
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		if err := k.Validate(); err != nil {
			return nil, nil, fmt.Errorf("keys: PFX holds an invalid RSA key: %w: %w", ErrMalformed, err)
		}
		signer = k
	case *ecdsa.PrivateKey:
		signer = k
	case crypto.Signer:
		return nil, nil, fmt.Errorf("keys: PFX holds a %T key; pkjwt signs with RSA or EC P-256/P-384 keys: %w", k, ErrAlgorithmMismatch)
	default:
		return nil, nil, fmt.Errorf("keys: PFX holds a %T, not a signing key: %w", priv, ErrMalformed)
	}
	for _, c := range append([]*x509.Certificate{leaf}, cas...) {
		if c != nil && certificateHolds(c, signer.Public()) == nil {
			return signer, c, nil
		}
	}
	return nil, nil, fmt.Errorf("keys: none of the PFX's %d certificates holds its private key's public key: %w: %w", 1+len(cas), ErrCertificateMismatch, ErrMalformed)
}

// pfxError turns a go-pkcs12 error into one of this package's errors.
// go-pkcs12 reports several cases only by message; they are matched here and
// covered by tests so that a change in the library shows.
func pfxError(err error, password string) error {
	msg := err.Error()
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		if password == "" {
			return fmt.Errorf("keys: the PFX has a password (the empty password does not open it): %w", ErrWrongPassword)
		}
		return fmt.Errorf("keys: the password does not open the PFX: %w", ErrWrongPassword)
	case errors.Is(err, pkcs12.ErrDecryption):
		return fmt.Errorf("keys: the PFX cannot be decrypted (wrong password or damaged file): %w", ErrWrongPassword)
	case strings.Contains(msg, "no MAC in data"):
		return fmt.Errorf("keys: the PFX has no password; give none: %w", ErrWrongPassword)
	case strings.Contains(msg, "expected exactly one key bag"):
		return fmt.Errorf("keys: the PFX holds more than one private key; export a PFX with only the signing key and its certificate: %w", ErrMalformed)
	case strings.Contains(msg, "private key missing"):
		return fmt.Errorf("keys: the PFX holds no private key (it was exported without it, like a .cer or 'openssl pkcs12 -nokeys'): %w", ErrMalformed)
	case strings.Contains(msg, "certificate missing"):
		return fmt.Errorf("keys: the PFX holds no certificate; import the key as PEM instead: %w", ErrMalformed)
	case strings.Contains(msg, "error reading P12 data"):
		return fmt.Errorf("keys: not a PKCS#12 (PFX) file, or a truncated one: %w: %w", ErrMalformed, err)
	}
	return fmt.Errorf("keys: cannot read the PFX: %w: %w", ErrMalformed, err)
}

// EncodePFX writes signer's private key and cert as a PKCS#12 file protected
// by password (which may be empty), with the modern encoding OpenSSL 3 writes
// by default: PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC, and an
// HMAC-SHA-256 MAC. OpenSSL 1.1.1 and later, Java 12 and later, and Windows
// Server 2019 and later read it; for older readers use EncodePFXLegacy. The
// signer must be a local RSA or EC key whose public half cert holds.
func EncodePFX(signer crypto.Signer, cert *x509.Certificate, password string) ([]byte, error) {
	return encodePFX(pkcs12.Modern2023, signer, cert, password)
}

// EncodePFXLegacy is EncodePFX with the weak legacy encoding (3DES with
// SHA-1, as "openssl pkcs12 -export -legacy -descert"): only for importers
// that refuse AES-256 PFX files, such as Windows Server 2016 and some Azure
// upload paths. Protect the file by other means.
func EncodePFXLegacy(signer crypto.Signer, cert *x509.Certificate, password string) ([]byte, error) {
	return encodePFX(pkcs12.LegacyDES, signer, cert, password)
}

func encodePFX(enc *pkcs12.Encoder, signer crypto.Signer, cert *x509.Certificate, password string) ([]byte, error) {
	if signer == nil {
		return nil, fmt.Errorf("keys: nil signer: %w", ErrMalformed)
	}
	if cert == nil {
		return nil, fmt.Errorf("keys: a PFX needs the key's certificate (see SelfSignedCertificate): %w", ErrNoCertificate)
	}
	switch signer.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
	default:
		return nil, fmt.Errorf("keys: a %T key cannot be exported (only a local RSA or EC private key can): %w", signer, ErrMalformed)
	}
	if err := certificateHolds(cert, signer.Public()); err != nil {
		return nil, err
	}
	data, err := enc.Encode(signer, cert, nil, password)
	if err != nil {
		return nil, fmt.Errorf("keys: encode PFX: %w", err)
	}
	return data, nil
}

// SelfSignedCertificate makes a self-signed X.509 certificate for signer's
// public key, for a PFX export or a key vault that wants a certificate: a
// random serial (crypto/rand, at most 10 octets, which Azure's importers
// require), subject and issuer CN=commonName ("pkjwt" if empty), the
// validity notBefore to notAfter, key usage digitalSignature and extended
// key usage clientAuth, signed by signer with SHA-256 (ECDSA P-384: SHA-384).
// signer may be remote: it signs the certificate once.
func SelfSignedCertificate(signer crypto.Signer, commonName string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if signer == nil {
		return nil, fmt.Errorf("keys: nil signer: %w", ErrMalformed)
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("keys: certificate validity ends (%s) before it starts (%s): %w", notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339), ErrMalformed)
	}
	if commonName == "" {
		commonName = "pkjwt"
	}
	var sigAlg x509.SignatureAlgorithm
	switch p := signer.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = x509.SHA256WithRSA
	case *ecdsa.PublicKey:
		sigAlg = x509.ECDSAWithSHA256
		if p.Curve == elliptic.P384() {
			sigAlg = x509.ECDSAWithSHA384
		}
	default:
		return nil, fmt.Errorf("keys: cannot certify a %T key: %w", p, ErrAlgorithmMismatch)
	}
	// 9 random bytes, the top two bits set to 01: a positive 9-octet serial
	// (10 octets at most in DER) with 70 random bits.
	raw := make([]byte, 9)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("keys: certificate serial: %w", err)
	}
	raw[0] = raw[0]&0x3f | 0x40
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(raw),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             notBefore.UTC().Truncate(time.Second),
		NotAfter:              notAfter.UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		SignatureAlgorithm:    sigAlg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("keys: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("keys: parse new certificate: %w", err)
	}
	return cert, nil
}
