package keyfile

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/pkjwt/pkjwt/keys"
	"software.sslmate.com/src/go-pkcs12"
)

// MaxPFXSize bounds the PKCS#12 (PFX) and PEM files this package reads.
const MaxPFXSize = 1 << 20

// ErrWrongPassword is returned when a PFX or an encrypted PEM key cannot be
// opened with the password given (an empty password included). It is
// wrapped with context; test for it with errors.Is.
var ErrWrongPassword = errors.New("wrong password")

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
		return nil, nil, fmt.Errorf("keys: empty PFX file: %w", keys.ErrMalformed)
	}
	if len(data) > MaxPFXSize {
		return nil, nil, fmt.Errorf("keys: PFX file is larger than %d bytes: %w", MaxPFXSize, keys.ErrMalformed)
	}
	if strings.HasPrefix(strings.TrimSpace(string(data[:min(len(data), 64)])), "-----BEGIN") {
		return nil, nil, fmt.Errorf("keys: this is a PEM file, not a binary PKCS#12 (PFX) file: %w", keys.ErrMalformed)
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
			signer, cert, err = nil, nil, fmt.Errorf("keys: PFX could not be parsed: %w", keys.ErrMalformed)
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
			return nil, nil, fmt.Errorf("keys: PFX holds an invalid RSA key: %w: %w", keys.ErrMalformed, err)
		}
		signer = k
	case *ecdsa.PrivateKey:
		signer = k
	case crypto.Signer:
		return nil, nil, fmt.Errorf("keys: PFX holds a %T key; pkjwt signs with RSA or EC P-256/P-384 keys: %w", k, keys.ErrAlgorithmMismatch)
	default:
		return nil, nil, fmt.Errorf("keys: PFX holds a %T, not a signing key: %w", priv, keys.ErrMalformed)
	}
	for _, c := range append([]*x509.Certificate{leaf}, cas...) {
		if c != nil && certificateHolds(c, signer.Public()) == nil {
			return signer, c, nil
		}
	}
	return nil, nil, fmt.Errorf("keys: none of the PFX's %d certificates holds its private key's public key: %w: %w", 1+len(cas), keys.ErrCertificateMismatch, keys.ErrMalformed)
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
		return fmt.Errorf("keys: the PFX holds more than one private key; export a PFX with only the signing key and its certificate: %w", keys.ErrMalformed)
	case strings.Contains(msg, "private key missing"):
		return fmt.Errorf("keys: the PFX holds no private key (it was exported without it, like a .cer or 'openssl pkcs12 -nokeys'): %w", keys.ErrMalformed)
	case strings.Contains(msg, "certificate missing"):
		return fmt.Errorf("keys: the PFX holds no certificate; import the key as PEM instead: %w", keys.ErrMalformed)
	case strings.Contains(msg, "error reading P12 data"):
		return fmt.Errorf("keys: not a PKCS#12 (PFX) file, or a truncated one: %w: %w", keys.ErrMalformed, err)
	}
	return fmt.Errorf("keys: cannot read the PFX: %w: %w", keys.ErrMalformed, err)
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
		return nil, fmt.Errorf("keys: nil signer: %w", keys.ErrMalformed)
	}
	if cert == nil {
		return nil, fmt.Errorf("keys: a PFX needs the key's certificate (see SelfSignedCertificate): %w", keys.ErrNoCertificate)
	}
	switch signer.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
	default:
		return nil, fmt.Errorf("keys: a %T key cannot be exported (only a local RSA or EC private key can): %w", signer, keys.ErrMalformed)
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
