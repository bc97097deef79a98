package azurekv

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

// maxSecretSize is the largest secret value accepted: Key Vault's own limit
// of 25 KiB.
const maxSecretSize = 25 << 10

// contentTypePEM is the content type of the PEM form of a Key Vault
// certificate's secret; its other form, application/x-pkcs12, is base64
// PFX text like the sample's.
const contentTypePEM = "application/x-pem-file"

// OpenSecret reads a secrets/ reference holding a private key and its
// certificate, the way the original .NET sample stores them: the secret
// value is the base64 (standard alphabet) of a PFX with an empty password.
// The secret of a Key Vault certificate works too: its content type is
// application/x-pkcs12 and its value is also base64 PFX text, or
// application/x-pem-file and its value the PEM private key and certificate.
// The private key is returned in memory; the certificate is the one whose
// public key matches it (keys.KIDFrom derives the sample's kid from it).
//
// Errors: a keys/ reference or a malformed one matches [ErrBadRef]; a failed
// Key Vault call unwraps to the [keys] sentinels ([keys.ErrNotFound],
// [keys.ErrPermissionDenied], [keys.ErrKeyDisabled] for a disabled secret,
// ...); a value that is not base64 PFX or PEM, or larger than Key Vault's
// 25 KiB, is [keys.ErrMalformed]; a PFX with a password
// [keys.ErrWrongPassword].
func (b *Backend) OpenSecret(ctx context.Context, ref string) (crypto.Signer, *x509.Certificate, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, nil, err
	}
	if r.Kind != kindSecret {
		return nil, nil, fmt.Errorf("%w: %q names a key, not a secret", ErrBadRef, ref)
	}
	return b.openSecret(ctx, r)
}

func (b *Backend) openSecret(ctx context.Context, r vaultRef) (crypto.Signer, *x509.Certificate, error) {
	value, contentType, err := b.getSecret(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	signer, cert, err := decodeKeySecret(ctx, value, contentType)
	if err != nil {
		return nil, nil, fmt.Errorf("azurekv: secret %s: %w", r.String(), err)
	}
	return signer, cert, nil
}

// getSecret fetches one secret's value and content type, refusing values
// over maxSecretSize.
func (b *Backend) getSecret(ctx context.Context, r vaultRef) (value, contentType string, err error) {
	c, err := b.secretsClient(r.Vault)
	if err != nil {
		return "", "", err
	}
	resp, err := c.GetSecret(ctx, r.Name, r.Version, nil)
	if err != nil {
		return "", "", wrapErr("get secret", r.String(), err)
	}
	if resp.Value == nil {
		return "", "", &vaultError{Op: "get secret", Ref: r.String(), err: errors.New("the vault answered without a value")}
	}
	if len(*resp.Value) > maxSecretSize {
		return "", "", &vaultError{Op: "get secret", Ref: r.String(), kind: keys.ErrMalformed,
			err: fmt.Errorf("secret value is %d bytes, more than Key Vault's %d", len(*resp.Value), maxSecretSize)}
	}
	if resp.ContentType != nil {
		contentType = *resp.ContentType
	}
	return *resp.Value, contentType, nil
}

// decodeKeySecret decodes a secret value holding a PFX (base64) or PEM.
func decodeKeySecret(ctx context.Context, value, contentType string) (crypto.Signer, *x509.Certificate, error) {
	ct, _, _ := mime.ParseMediaType(contentType)
	trimmed := strings.TrimSpace(value)
	if ct == contentTypePEM || strings.HasPrefix(trimmed, "-----BEGIN") {
		return decodePEMBundle([]byte(trimmed))
	}
	compact := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, trimmed)
	der, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		der, err = base64.RawStdEncoding.DecodeString(compact)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("value is not base64 of a PFX (content type %q): %w", clip(contentType, 64), keys.ErrMalformed)
	}
	return keyfile.ParsePFXContext(ctx, der, "")
}

// decodePEMBundle parses the PEM form of a Key Vault certificate's secret:
// one private key block and one or more certificates.
func decodePEMBundle(data []byte) (crypto.Signer, *x509.Certificate, error) {
	var signer crypto.Signer
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				return nil, nil, fmt.Errorf("PEM: trailing data: %w", keys.ErrMalformed)
			}
			break
		}
		if block.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("PEM certificate: %v: %w", err, keys.ErrMalformed)
			}
			certs = append(certs, c)
			continue
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if signer != nil {
			return nil, nil, fmt.Errorf("PEM holds more than one private key: %w", keys.ErrMalformed)
		}
		s, err := keys.ParsePEM(pem.EncodeToMemory(block))
		if err != nil {
			return nil, nil, err
		}
		signer = s
	}
	if signer == nil {
		return nil, nil, fmt.Errorf("PEM holds no private key: %w", keys.ErrMalformed)
	}
	for _, c := range certs {
		if matchCert(signer, c) == nil {
			return signer, c, nil
		}
	}
	if len(certs) == 0 {
		return signer, nil, nil
	}
	return nil, nil, fmt.Errorf("no certificate matches the private key: %w", keys.ErrMalformed)
}

// matchCert checks that cert certifies signer's public key.
func matchCert(signer crypto.Signer, cert *x509.Certificate) error {
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || cert == nil || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("the certificate does not match the private key: %w", keys.ErrMalformed)
	}
	return nil
}
