package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
)

// Errors a remote key backend (a cloud key service) reports, wrapped with the
// service's own message. Test for them with errors.Is.
var (
	// ErrPermissionDenied: the credentials may not use the key (or the
	// vault, or the operation).
	ErrPermissionDenied = errors.New("permission denied by the key service")
	// ErrKeyDisabled: the key exists but is disabled, pending deletion or
	// otherwise not usable now.
	ErrKeyDisabled = errors.New("key is disabled in the key service")
	// ErrWrongKeyUsage: the key exists but may not sign (an encryption key,
	// or an algorithm the key does not allow).
	ErrWrongKeyUsage = errors.New("key may not sign with this algorithm")
	// ErrThrottled: the key service refused the request for its rate limit.
	ErrThrottled = errors.New("key service is throttling requests")
	// ErrRemoteTimeout: the key service did not answer within the signing
	// deadline.
	ErrRemoteTimeout = errors.New("key service did not answer in time")
)

// Backend is a place outside the process that holds private keys: a cloud
// key service such as AWS KMS or Azure Key Vault. Each backend is its own
// package (keys/awskms, keys/azurekv) so that this package, and programs that
// use only local keys, import no cloud SDK.
//
// A reference (ref) is a URL naming one key, for example
// "awskms:///alias/pkjwt?region=eu-west-2" or
// "azurekv://myvault/keys/pkjwt-signing". A signer returned by a backend
// keeps the private key in the service: its Sign method calls the service,
// within a deadline of its own, and its Public method returns the public key
// fetched once when the key was opened.
type Backend interface {
	// Scheme is the URL scheme the backend's references use ("awskms").
	Scheme() string
	// Open returns a signer for the key ref names.
	Open(ctx context.Context, ref string) (crypto.Signer, error)
	// Create makes a new signing key for alg in the service, at the place
	// the template reference names (a region, a vault, a name prefix), and
	// returns the new key's own reference and its signer. Rotation uses it.
	Create(ctx context.Context, template, alg string) (ref string, signer crypto.Signer, err error)
}

// ContextSigner is a crypto.Signer whose call to a key service can take a
// context, so that a caller's cancellation or deadline reaches the
// service's request. The signers of keys/awskms and keys/azurekv implement
// it, and so do remote keys loaded from a key directory; [SignContext] and
// [WithContext] use it when a signer has it.
type ContextSigner interface {
	crypto.Signer
	// SignContext is Sign within ctx; a key service brings its own
	// randomness, so it takes no rand.
	SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// SignContext signs digest with s within ctx: through s's SignContext when
// s is a [ContextSigner], otherwise (a local key, which does not wait on
// anything) through s.Sign once ctx is found live. When ctx ends first the
// error matches context.Canceled or context.DeadlineExceeded.
func SignContext(ctx context.Context, s crypto.Signer, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keys: sign: %w", err)
	}
	if cs, ok := s.(ContextSigner); ok {
		return cs.SignContext(ctx, digest, opts)
	}
	return s.Sign(rand, digest, opts)
}

// WithContext returns a crypto.Signer whose Sign is [SignContext] with ctx,
// for an API that takes only a crypto.Signer (go-jose, crypto/x509): it
// binds ctx to one call and must not outlive it.
func WithContext(ctx context.Context, s crypto.Signer) crypto.Signer {
	return ctxSigner{ctx: ctx, s: s}
}

type ctxSigner struct {
	ctx context.Context
	s   crypto.Signer
}

func (c ctxSigner) Public() crypto.PublicKey { return c.s.Public() }

func (c ctxSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return SignContext(c.ctx, c.s, rand, digest, opts)
}
