package keys

import (
	"context"
	"crypto"
	"errors"
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
