package keydir

import (
	"context"
	"crypto"
	cryptorand "crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
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

// remoteSigner returns a signer for a remote key's metadata: the public key
// comes from the metadata, and the backend is opened on first use.
func (d Dir) remoteSigner(m meta) (crypto.Signer, error) {
	pub, err := x509.ParsePKIXPublicKey(m.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public key: %w: %w", keys.ErrMalformed, err)
	}
	b, err := d.backend(m.Ref)
	if err != nil {
		return nil, err
	}
	return &lazySigner{backend: b, ref: m.Ref, pub: pub}, nil
}

// backend returns the backend for ref's scheme.
func (d Dir) backend(ref string) (keys.Backend, error) {
	scheme, _, ok := strings.Cut(ref, ":")
	if !ok {
		return nil, fmt.Errorf("key reference %q has no scheme: %w", ref, keys.ErrMalformed)
	}
	for _, b := range d.Backends {
		if b.Scheme() == scheme {
			return b, nil
		}
	}
	return nil, fmt.Errorf("key %s lives in %s, and this program was given no %s backend: %w", ref, scheme, scheme, keys.ErrNotFound)
}

// CreateRemote makes a new key in the backend the template reference names
// and adds it to the directory as a remote key (metadata only), with the
// given state. Rotation uses it to create a key in a vault or KMS.
func (tx *Tx) CreateRemote(ctx context.Context, template, alg string, state keys.State, now time.Time) (*keys.Key, error) {
	b, err := tx.d.backend(template)
	if err != nil {
		return nil, err
	}
	ref, signer, err := b.Create(ctx, template, alg)
	if err != nil {
		return nil, fmt.Errorf("keys: create a key in %s: %w", b.Scheme(), err)
	}
	k, err := keys.New(signer, alg, now)
	if err == nil {
		k.Ref, k.State, k.StateChanged = ref, state, now.UTC()
		err = tx.Add(k)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: the key service made %s, but it could not be kept in %s (delete or disable it there): %w", ref, tx.d.path(), err)
	}
	return k, nil
}
