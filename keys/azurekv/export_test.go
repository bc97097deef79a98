package azurekv

import (
	"context"
	"fmt"
)

// Names the tests (package azurekv_test) use that are not part of the
// package's API.

// MaxResponseSize is the bound on a Key Vault answer's body.
const MaxResponseSize = maxResponse

// MaxSecretSize is the largest secret value accepted.
const MaxSecretSize = maxSecretSize

// Ref is a parsed reference; KindKey and KindSecret are its kinds.
type Ref = vaultRef

// The kinds of object a reference names.
const (
	KindKey    = kindKey
	KindSecret = kindSecret
)

// ParseRef parses a reference.
var ParseRef = parseRef

// Signer is the signer Open returns for a Key Vault key.
type Signer = vaultSigner

// Error is a failed Key Vault call.
type Error = vaultError

// Settings returns the table LoadConfig follows.
var Settings = settingsTable

// WithClock sets the backend's clock.
var WithClock = withClock

// OpenKey is Open for a keys/ reference, returning the concrete *Signer.
func (b *Backend) OpenKey(ctx context.Context, ref string) (*Signer, error) {
	s, err := b.Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	ks, ok := s.(*Signer)
	if !ok {
		return nil, fmt.Errorf("%q opened a %T, not a Key Vault key", ref, s)
	}
	return ks, nil
}
