package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// ParsePEM parses one PEM private key: PKCS#8 ("PRIVATE KEY"), PKCS#1
// ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). It reports ErrEncryptedPEM
// for a password-protected key and ErrMalformed for anything else it cannot
// read, including a truncated file.
func ParsePEM(data []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		if bytes.Contains(data, []byte("-----BEGIN")) {
			return nil, fmt.Errorf("keys: PEM block is truncated or damaged: %w", ErrMalformed)
		}
		return nil, fmt.Errorf("keys: no PEM block found: %w", ErrMalformed)
	}
	if len(bytes.TrimSpace(rest)) > 0 && bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("keys: more than one PEM block; put one key in each file: %w", ErrMalformed)
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" && strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, fmt.Errorf("keys: import it with its password: pkjwt keys import --pem FILE --password-file F: %w", ErrEncryptedPEM)
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
		return nil, fmt.Errorf("keys: PEM block %q holds no private key: %w", block.Type, ErrMalformed)
	default:
		return nil, fmt.Errorf("keys: unsupported PEM block %q: %w", block.Type, ErrMalformed)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: parse %s: %w: %w", block.Type, ErrMalformed, err)
	}
	return signerOf(key)
}

// signerOf returns a parsed private key as a signer pkjwt can use: a valid
// RSA key or an EC key; any other key type is refused.
func signerOf(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("keys: invalid RSA key: %w: %w", ErrMalformed, err)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case crypto.Signer:
		return nil, fmt.Errorf("keys: %T keys are not supported: %w", k, ErrAlgorithmMismatch)
	}
	return nil, fmt.Errorf("keys: %T is not a signing key: %w", key, ErrMalformed)
}
