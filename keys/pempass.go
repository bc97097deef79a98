package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/youmark/pkcs8"
)

// ParsePEMPassword parses one PEM private key that may be encrypted: an
// "ENCRYPTED PRIVATE KEY" (PKCS#8 with PBES2, as "openssl genpkey -aes-256-cbc"
// or "openssl pkcs8 -topk8 -v2 aes-256-cbc" write it) is decrypted with
// password; an unencrypted PKCS#8, PKCS#1 or SEC 1 key is read as ParsePEM
// reads it, and password is then not used.
//
// Errors: ErrEncryptedPEM for an encrypted key and an empty password, or for
// the legacy OpenSSL encryption ("Proc-Type: 4,ENCRYPTED" headers), PBES1 or
// a PBES2 variant the decrypter lacks (a PRF other than HMAC-SHA-1/SHA-256),
// which are not supported (the message says how to convert the file);
// ErrWrongPassword when the password does not decrypt the key; ErrMalformed
// for anything unreadable, or a file larger than MaxPFXSize.
func ParsePEMPassword(data, password []byte) (signer crypto.Signer, err error) {
	if len(data) > MaxPFXSize {
		return nil, fmt.Errorf("keys: PEM file is larger than %d bytes: %w", MaxPFXSize, ErrMalformed)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return ParsePEM(data) // reports the missing or damaged block
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("keys: more than one PEM block; put one key in each file: %w", ErrMalformed)
	}
	if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, fmt.Errorf("keys: legacy OpenSSL PEM encryption (DEK-Info %q) is not supported; convert it: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.pem -out new.pem: %w", block.Headers["DEK-Info"], ErrEncryptedPEM)
	}
	if block.Type != "ENCRYPTED PRIVATE KEY" {
		return ParsePEM(data)
	}
	if len(password) == 0 {
		return nil, fmt.Errorf("keys: the PEM key is encrypted; give its password: %w", ErrEncryptedPEM)
	}
	defer func() {
		// The decrypter slices untrusted ciphertext; a damaged file must come
		// back as an error.
		if r := recover(); r != nil {
			signer, err = nil, fmt.Errorf("keys: damaged ENCRYPTED PRIVATE KEY: %w", ErrMalformed)
		}
	}()
	key, _, err := pkcs8.ParsePrivateKey(block.Bytes, password)
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "incorrect password"):
			return nil, fmt.Errorf("keys: the password does not decrypt the PEM key: %w", ErrWrongPassword)
		case strings.Contains(msg, "only PBES2 supported"):
			return nil, fmt.Errorf("keys: the PEM key uses the old PBES1 encryption; convert it: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.pem -out new.pem: %w", ErrEncryptedPEM)
		case strings.Contains(msg, "unsupported"):
			// PBES2 with a PRF, KDF or cipher the decrypter lacks (it has
			// HMAC-SHA-1/SHA-256, PBKDF2/scrypt, AES-CBC and 3DES).
			return nil, fmt.Errorf("keys: the PEM key's encryption is not supported (%v); convert it: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.pem -out new.pem: %w", err, ErrEncryptedPEM)
		}
		return nil, fmt.Errorf("keys: cannot decrypt the PEM key: %w: %w", ErrMalformed, err)
	}
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
