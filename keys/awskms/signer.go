package awskms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/pkjwt/pkjwt/keys"
)

// kmsSigner is the crypto.Signer Open and Create return: its private key
// stays in AWS KMS. Public returns the public key fetched once when the
// key was opened; Sign sends the digest to KMS (Sign with MessageType
// DIGEST) and checks the answer against that public key before returning
// it. It is safe for concurrent use. Its exported methods beside the
// crypto.Signer ones (KeyARN, Ref, KeySpec, Supports) are reachable
// through an interface assertion.
//
// A key opened by alias signs with the key the alias named when it was
// opened (its ARN), so that the signature always matches Public even if the
// alias is later pointed at another key.
type kmsSigner struct {
	client  *kms.Client
	optFns  []func(*kms.Options)
	ref     string // as opened, for messages
	arn     string
	pub     crypto.PublicKey
	spec    types.KeySpec
	algs    []types.SigningAlgorithmSpec
	timeout time.Duration
}

var _ crypto.Signer = (*kmsSigner)(nil)

// open fetches r's public key and makes its signer.
func (b *Backend) open(ctx context.Context, c *conn, r keyRef) (*kmsSigner, error) {
	ref := r.String()
	out, err := c.client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(r.KeyID)}, c.optFns...)
	if err != nil {
		return nil, mapError(ctx, "GetPublicKey", ref, err)
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("awskms: %s: key usage is %s, not SIGN_VERIFY: %w", ref, out.KeyUsage, keys.ErrWrongKeyUsage)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("awskms: %s: public key: %w: %w", ref, keys.ErrMalformed, err)
	}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < keys.MinRSABits {
			return nil, fmt.Errorf("awskms: %s: %d-bit RSA key, at least %d bits required: %w", ref, p.N.BitLen(), keys.MinRSABits, keys.ErrKeyTooSmall)
		}
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() && p.Curve != elliptic.P384() {
			return nil, fmt.Errorf("awskms: %s: EC key on %s; only P-256 and P-384 sign client assertions: %w", ref, p.Curve.Params().Name, keys.ErrWrongKeyUsage)
		}
	default:
		return nil, fmt.Errorf("awskms: %s: %T key cannot sign client assertions: %w", ref, pub, keys.ErrWrongKeyUsage)
	}
	arn := aws.ToString(out.KeyId)
	if arn == "" {
		arn = r.KeyID
	}
	return &kmsSigner{
		client:  c.client,
		optFns:  c.optFns,
		ref:     ref,
		arn:     arn,
		pub:     pub,
		spec:    out.KeySpec,
		algs:    slices.Clone(out.SigningAlgorithms),
		timeout: b.timeout(),
	}, nil
}

// Public returns the key's public half (*rsa.PublicKey or *ecdsa.PublicKey).
func (s *kmsSigner) Public() crypto.PublicKey { return s.pub }

// KeyARN returns the ARN of the KMS key that signs.
func (s *kmsSigner) KeyARN() string { return s.arn }

// Ref returns the reference the key was opened with, in canonical form.
func (s *kmsSigner) Ref() string { return s.ref }

// KeySpec returns the KMS key spec, e.g. "RSA_4096".
func (s *kmsSigner) KeySpec() string { return string(s.spec) }

// Supports reports whether the key can sign with the JWS algorithm alg
// (for example "RS512"): the key type and size suit it and KMS lists the
// matching signing algorithm for the key.
func (s *kmsSigner) Supports(alg string) error {
	if err := keys.CheckAlgorithm(s.pub, alg); err != nil {
		return fmt.Errorf("awskms: %s: %w", s.ref, err)
	}
	opts, err := keys.SignerOpts(alg)
	if err != nil {
		return fmt.Errorf("awskms: %s: %w", s.ref, err)
	}
	_, err = s.algorithm(opts)
	return err
}

// Sign signs digest, a hash made with opts.HashFunc(), in KMS. opts
// selects the KMS signing algorithm: crypto.SHA256/384/512 give
// RSASSA_PKCS1_V1_5_SHA_* for an RSA key and ECDSA_SHA_* for an EC key,
// *rsa.PSSOptions (salt length auto, equal to the hash, or the hash's size)
// give RSASSA_PSS_SHA_*; anything else is an error. rand is not used (KMS
// has its own randomness). The call, retries included, is bounded by the
// backend's sign timeout; past it the error matches keys.ErrRemoteTimeout.
// KMS errors match the keys sentinels (keys.ErrPermissionDenied,
// keys.ErrKeyDisabled, keys.ErrWrongKeyUsage, keys.ErrThrottled,
// keys.ErrNotFound).
func (s *kmsSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.SignContext(context.Background(), digest, opts)
}

// SignContext is Sign with a context; the backend's sign timeout still
// applies when ctx's deadline is later.
func (s *kmsSigner) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, fmt.Errorf("awskms: sign with %s: no hash given: %w", s.ref, keys.ErrUnsupportedAlgorithm)
	}
	alg, err := s.algorithm(opts)
	if err != nil {
		return nil, err
	}
	hash := opts.HashFunc()
	if len(digest) != hash.Size() {
		return nil, fmt.Errorf("awskms: sign with %s: digest is %d bytes, %s needs %d", s.ref, len(digest), hash, hash.Size())
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.client.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.arn),
		Message:          digest,
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: alg,
	}, s.optFns...)
	if err != nil {
		return nil, mapError(ctx, "Sign with", s.ref, err)
	}
	if err := s.verify(hash, digest, out.Signature, alg); err != nil {
		return nil, err
	}
	return out.Signature, nil
}

// algorithm maps opts to the KMS signing algorithm for this key.
func (s *kmsSigner) algorithm(opts crypto.SignerOpts) (types.SigningAlgorithmSpec, error) {
	hash := opts.HashFunc()
	bits := map[crypto.Hash]string{crypto.SHA256: "256", crypto.SHA384: "384", crypto.SHA512: "512"}[hash]
	if bits == "" {
		return "", fmt.Errorf("awskms: sign with %s: hash %v: %w (SHA-256, SHA-384 or SHA-512)", s.ref, hash, keys.ErrUnsupportedAlgorithm)
	}
	var alg types.SigningAlgorithmSpec
	switch s.pub.(type) {
	case *rsa.PublicKey:
		alg = types.SigningAlgorithmSpec("RSASSA_PKCS1_V1_5_SHA_" + bits)
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			if pss.SaltLength != rsa.PSSSaltLengthAuto && pss.SaltLength != rsa.PSSSaltLengthEqualsHash && pss.SaltLength != hash.Size() {
				return "", fmt.Errorf("awskms: sign with %s: PSS salt length %d: KMS uses the hash length %d: %w", s.ref, pss.SaltLength, hash.Size(), keys.ErrUnsupportedAlgorithm)
			}
			alg = types.SigningAlgorithmSpec("RSASSA_PSS_SHA_" + bits)
		}
	case *ecdsa.PublicKey:
		if _, ok := opts.(*rsa.PSSOptions); ok {
			return "", fmt.Errorf("awskms: sign with %s: PSS options for an EC key: %w", s.ref, keys.ErrAlgorithmMismatch)
		}
		alg = types.SigningAlgorithmSpec("ECDSA_SHA_" + bits)
	}
	if !slices.Contains(s.algs, alg) {
		return "", fmt.Errorf("awskms: sign with %s: KMS allows %v for this %s key, not %s: %w", s.ref, s.algs, s.spec, alg, keys.ErrWrongKeyUsage)
	}
	return alg, nil
}

// verify checks KMS's signature against the public key fetched at Open.
func (s *kmsSigner) verify(hash crypto.Hash, digest, sig []byte, alg types.SigningAlgorithmSpec) error {
	var err error
	switch p := s.pub.(type) {
	case *rsa.PublicKey:
		if strings.HasPrefix(string(alg), "RSASSA_PSS_") {
			err = rsa.VerifyPSS(p, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		} else {
			err = rsa.VerifyPKCS1v15(p, hash, digest, sig)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(p, digest, sig) {
			err = errors.New("ECDSA verification failed")
		}
	}
	if err != nil {
		return fmt.Errorf("%w (%s, %s): %w", ErrBadSignature, s.ref, s.arn, err)
	}
	return nil
}

var _ keys.ContextSigner = (*kmsSigner)(nil)
