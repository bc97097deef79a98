package keys

import (
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
)

// Errors of KIDFrom and of a certificate paired with a key. They are
// wrapped with context; test for them with errors.Is.
var (
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
	needsCert bool
	derive    func(pub crypto.PublicKey, cert *x509.Certificate) (string, error)
}

// kidMethodTable is the one list of kid methods: KIDFrom and KIDMethods
// read it.
func kidMethodTable() []kidMethod {
	return []kidMethod{
		{KIDThumbprint, false,
			func(pub crypto.PublicKey, _ *x509.Certificate) (string, error) { return Thumbprint(pub) }},
		{KIDX5t, true,
			func(_ crypto.PublicKey, c *x509.Certificate) (string, error) {
				sum := sha1.Sum(c.Raw)
				return base64.RawURLEncoding.EncodeToString(sum[:]), nil
			}},
		{KIDX5tS256, true,
			func(_ crypto.PublicKey, c *x509.Certificate) (string, error) {
				sum := sha256.Sum256(c.Raw)
				return base64.RawURLEncoding.EncodeToString(sum[:]), nil
			}},
		{KIDX509SHA1Hex, true,
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
