package keyfile

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"

	"github.com/pkjwt/pkjwt/keys"
)

// signerOf returns a decrypted private key as a signer pkjwt can use: a
// valid RSA key or an EC key; any other key type is refused.
func signerOf(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("keys: invalid RSA key: %w: %w", keys.ErrMalformed, err)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case crypto.Signer:
		return nil, fmt.Errorf("keys: %T keys are not supported: %w", k, keys.ErrAlgorithmMismatch)
	}
	return nil, fmt.Errorf("keys: %T is not a signing key: %w", key, keys.ErrMalformed)
}

// certificateHolds reports whether cert's public key is pub.
func certificateHolds(cert *x509.Certificate, pub crypto.PublicKey) error {
	p, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !p.Equal(cert.PublicKey) {
		return fmt.Errorf("keys: certificate %q holds another public key: %w: %w", cert.Subject.CommonName, keys.ErrCertificateMismatch, keys.ErrMalformed)
	}
	return nil
}
