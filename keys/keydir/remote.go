package keydir

import (
	"context"
	"crypto"
	cryptorand "crypto/rand"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pkjwt/pkjwt/keys"
)

// openTimeout bounds how long opening a remote key on first use may take.
const openTimeout = 30 * time.Second

// lazySigner is a remote key loaded from a key directory: its public key
// comes from the directory, and the backend is opened on the first Sign, so
// that listing keys or serving the JWKS makes no call to the key service.
type lazySigner struct {
	backend keys.Backend
	ref     string
	pub     crypto.PublicKey

	mu     sync.Mutex
	signer crypto.Signer // under mu; nil until opened
}

func (s *lazySigner) Public() crypto.PublicKey { return s.pub }

// Sign opens the remote key if needed, checks that its public key is the
// one the directory recorded, and signs with it.
func (s *lazySigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.sign(context.Background(), rand, digest, opts)
}

// SignContext is Sign within ctx: both the first open and the signature
// pass ctx to the key service.
func (s *lazySigner) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.sign(ctx, cryptorand.Reader, digest, opts)
}

func (s *lazySigner) sign(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	signer, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	return keys.SignContext(ctx, signer, rand, digest, opts)
}

func (s *lazySigner) open(ctx context.Context) (crypto.Signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signer != nil {
		return s.signer, nil
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	signer, err := s.backend.Open(ctx, s.ref)
	if err != nil {
		return nil, fmt.Errorf("keys: open %s: %w", s.ref, err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := signer.Public().(equaler); !ok || !e.Equal(s.pub) {
		return nil, fmt.Errorf("keys: %s now holds another public key than the one recorded: %w", s.ref, ErrKidMismatch)
	}
	s.signer = signer
	return signer, nil
}
