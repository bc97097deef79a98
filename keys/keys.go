// Package keys is the key model of a pkjwt client: a [Key] (any
// [crypto.Signer], its kid and its life-cycle [State]), a [Ring] that
// decides which key signs and which keys are published, the one table of
// signing algorithms ([Algorithms], [CheckAlgorithm], [SignerOpts]), kids
// ([Thumbprint], RFC 7638, and [KIDFrom]), the [Backend] interface of
// key services and [ContextSigner].
//
// A Key wraps any crypto.Signer, so a key whose private half lives in a
// hardware module or a cloud key service signs through the same code path as
// a key read from a file. The key directory and its rotation are package
// [github.com/pkjwt/pkjwt/keys/keydir]; PFX and encrypted PEM files are
// read by package [github.com/pkjwt/pkjwt/keys/keyfile], which a program
// that holds its key in memory does not link.
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
)

// Errors returned by this package. They are wrapped with context; test for
// them with errors.Is.
var (
	// ErrKeyTooSmall is returned for an RSA key shorter than MinRSABits.
	ErrKeyTooSmall = errors.New("RSA key is too small")
	// ErrEncryptedPEM is returned for a password-protected PEM private key.
	ErrEncryptedPEM = errors.New("PEM private key is encrypted")
	// ErrMalformed is returned for a file that is not a PEM private key
	// (garbage, truncated, or the wrong PEM block).
	ErrMalformed = errors.New("malformed private key")
	// ErrAlgorithmMismatch is returned when a key cannot sign with the
	// requested algorithm (for example an EC key under RS512).
	ErrAlgorithmMismatch = errors.New("key type does not match algorithm")
	// ErrUnsupportedAlgorithm is returned for an algorithm pkjwt does not sign
	// client assertions with (HMAC, none, EdDSA, ...).
	ErrUnsupportedAlgorithm = errors.New("unsupported signing algorithm")
	// ErrNoSigningKey is returned by a Ring with no key that may sign now.
	ErrNoSigningKey = errors.New("no active signing key")
	// ErrNotFound is returned when a kid is not in a store or ring.
	ErrNotFound = errors.New("key not found")
	// ErrInvalidKID is returned for a kid that is empty, too long or holds
	// characters outside printable ASCII.
	ErrInvalidKID = errors.New("invalid kid")
)

// MinRSABits is the smallest RSA modulus pkjwt generates or accepts.
const MinRSABits = 2048

// maxRSABits is the largest RSA modulus Generate makes.
const maxRSABits = 16384

// DefaultRSABits is the RSA modulus size NHS England documents for signed JWT
// authentication, and pkjwt's default.
const DefaultRSABits = 4096

// DefaultAlgorithm is the JWS algorithm NHS England requires.
const DefaultAlgorithm = "RS512"

// MaxAssertionLifetime is the longest client assertion lifetime NHS England
// accepts (docs/nhs-reference.md).
const MaxAssertionLifetime = 5 * time.Minute

// State is the life-cycle state of a key.
type State string

// Key states. A pending key is published but does not sign yet (it waits for
// relying parties' JWKS caches to pick it up); an active key may sign; a
// retired key is still published for a grace period but never signs.
const (
	StatePending State = "pending"
	StateActive  State = "active"
	StateRetired State = "retired"
)

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	switch s {
	case StatePending, StateActive, StateRetired:
		return true
	}
	return false
}

// Key is one signing key: its kid, the JWS algorithm it signs with, the
// signer holding the private half, and its life-cycle metadata.
type Key struct {
	// ID is the key id ("kid"). It defaults to the RFC 7638 thumbprint of
	// the public key, but may be any kid the key is registered under (see
	// ValidateKID): an X.509 thumbprint, a Key Vault key name, "test-1".
	ID string
	// Algorithm is the JWS algorithm, e.g. "RS512".
	Algorithm string
	// Signer signs digests; it may be a local *rsa.PrivateKey or a remote
	// key service. Its Public method gives the public half.
	Signer crypto.Signer
	// State is the life-cycle state.
	State State
	// Created is when the key was made.
	Created time.Time
	// NotBefore, when set, is the earliest time the key may sign.
	NotBefore time.Time
	// Published is when the key was first published (by "jwks publish",
	// or the first time a JWKS endpoint served it); zero if never.
	Published time.Time
	// StateChanged is when State last changed (zero: never since Created).
	StateChanged time.Time
	// Signed is when the key first signed with relying parties able to
	// verify it: an activation the lead-time guard allowed, or its creation
	// as the directory's only signing key (the key the app is registered
	// with). It stays zero for a key that never signed, one that signed
	// only after a forced early activation, and a key recorded before
	// pkjwt kept this date. See SafeToActivate.
	Signed time.Time
	// Ref names where the private key lives when it is not local: a
	// Backend reference such as "awskms:///alias/pkjwt?region=eu-west-2".
	// Empty for a key held in memory or a key file.
	Ref string
	// Certificate is the X.509 certificate that came with the key (from a
	// PFX), or nil.
	Certificate *x509.Certificate
}

// maxKIDLength bounds the length of a kid.
const maxKIDLength = 128

// ValidateKID reports whether kid may be used as a key id: 1 to
// 128 bytes of printable ASCII without spaces, quotes or
// backslashes. A kid is never used as a file name.
func ValidateKID(kid string) error {
	if kid == "" {
		return fmt.Errorf("keys: empty kid: %w", ErrInvalidKID)
	}
	if len(kid) > maxKIDLength {
		return fmt.Errorf("keys: kid is %d bytes long, at most %d allowed: %w", len(kid), maxKIDLength, ErrInvalidKID)
	}
	if !utf8.ValidString(kid) {
		return fmt.Errorf("keys: kid is not valid UTF-8: %w", ErrInvalidKID)
	}
	for _, r := range kid {
		if r <= ' ' || r > '~' || r == '"' || r == '\\' {
			return fmt.Errorf("keys: kid %q: character %q not allowed (printable ASCII without spaces, quotes or backslashes): %w", kid, r, ErrInvalidKID)
		}
	}
	return nil
}

// Public returns the public half of the key.
func (k *Key) Public() crypto.PublicKey { return k.Signer.Public() }

// SigningKey returns k itself, so that a single Key can be used wherever a
// key source is expected.
func (k *Key) SigningKey() (*Key, error) { return k, nil }

// CanSign reports whether k may sign at time now.
func (k *Key) CanSign(now time.Time) bool {
	return k.State == StateActive && !now.Before(k.NotBefore)
}

// Bits returns the modulus size of an RSA key or the curve size of an EC key.
func (k *Key) Bits() int {
	switch p := k.Public().(type) {
	case *rsa.PublicKey:
		return p.N.BitLen()
	case *ecdsa.PublicKey:
		return p.Curve.Params().BitSize
	}
	return 0
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub, hashed with SHA-256
// and base64url-encoded without padding: the kid pkjwt gives every key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("keys: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// algorithm is one JWS algorithm pkjwt signs client assertions with.
type algorithm struct {
	name  string
	hash  crypto.Hash
	pss   bool           // RSASSA-PSS rather than PKCS #1 v1.5
	curve elliptic.Curve // nil: RSA
}

// algorithms is the one table of supported algorithms: CheckAlgorithm,
// Generate, SignerOpts, AlgorithmCurve and Algorithms read it.
func algorithms() []algorithm {
	return []algorithm{
		{name: "RS256", hash: crypto.SHA256}, {name: "RS384", hash: crypto.SHA384}, {name: "RS512", hash: crypto.SHA512},
		{name: "PS256", hash: crypto.SHA256, pss: true}, {name: "PS384", hash: crypto.SHA384, pss: true}, {name: "PS512", hash: crypto.SHA512, pss: true},
		{name: "ES256", hash: crypto.SHA256, curve: elliptic.P256()}, {name: "ES384", hash: crypto.SHA384, curve: elliptic.P384()},
	}
}

func lookupAlgorithm(alg string) (algorithm, error) {
	for _, a := range algorithms() {
		if a.name == alg {
			return a, nil
		}
	}
	return algorithm{}, fmt.Errorf("keys: %q: %w (use %s)", alg, ErrUnsupportedAlgorithm, strings.Join(Algorithms(), ", "))
}

// SignerOpts returns the crypto.SignerOpts a crypto.Signer signs an alg
// digest with: the hash, and PSS options (salt as long as the hash, as JWS
// requires) for PS256/384/512.
func SignerOpts(alg string) (crypto.SignerOpts, error) {
	a, err := lookupAlgorithm(alg)
	if err != nil {
		return nil, err
	}
	if a.pss {
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.hash}, nil
	}
	return a.hash, nil
}

// AlgorithmCurve returns the elliptic curve an algorithm's keys are on, or
// nil for an RSA algorithm; an algorithm pkjwt does not sign with is
// ErrUnsupportedAlgorithm. Key services use it to choose a key type.
func AlgorithmCurve(alg string) (elliptic.Curve, error) {
	a, err := lookupAlgorithm(alg)
	if err != nil {
		return nil, err
	}
	return a.curve, nil
}

// Algorithms returns the JWS algorithms pkjwt signs with, RSA first.
func Algorithms() []string {
	var n []string
	for _, a := range algorithms() {
		n = append(n, a.name)
	}
	return n
}

// CheckAlgorithm reports whether a key with public half pub can sign with
// alg: one of Algorithms, with an RSA key of at least MinRSABits for
// RS*/PS*, an EC key on the algorithm's curve for ES*.
func CheckAlgorithm(pub crypto.PublicKey, alg string) error {
	a, err := lookupAlgorithm(alg)
	if err != nil {
		return err
	}
	if a.curve == nil {
		p, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("keys: %s needs an RSA key, got %s: %w", alg, keyType(pub), ErrAlgorithmMismatch)
		}
		if p.N.BitLen() < MinRSABits {
			return fmt.Errorf("keys: %d-bit RSA key, at least %d bits required: %w", p.N.BitLen(), MinRSABits, ErrKeyTooSmall)
		}
		return nil
	}
	if p, ok := pub.(*ecdsa.PublicKey); !ok || p.Curve != a.curve {
		return fmt.Errorf("keys: %s needs an EC %s key, got %s: %w", alg, a.curve.Params().Name, keyType(pub), ErrAlgorithmMismatch)
	}
	return nil
}

func keyType(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC " + p.Curve.Params().Name
	}
	return fmt.Sprintf("%T", pub)
}

// New wraps signer as a Key for alg, checking that the key can sign with alg
// and giving it its RFC 7638 kid. The key starts active.
func New(signer crypto.Signer, alg string, created time.Time) (*Key, error) {
	if signer == nil {
		return nil, fmt.Errorf("keys: nil signer: %w", ErrMalformed)
	}
	if err := CheckAlgorithm(signer.Public(), alg); err != nil {
		return nil, err
	}
	kid, err := Thumbprint(signer.Public())
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, Algorithm: alg, Signer: signer, State: StateActive, Created: created.UTC()}, nil
}

// Generate is GenerateContext without a context.
func Generate(alg string, bits int) (*Key, error) {
	return GenerateContext(context.Background(), alg, bits)
}

// GenerateContext makes a new key for alg with crypto/rand. For RSA algorithms bits
// is the modulus size (0 means DefaultRSABits; fewer than MinRSABits is
// refused); for ES256/ES384 bits is ignored. An RSA key takes seconds to
// minutes (16384 bits): when ctx ends first, GenerateContext returns ctx's
// error at once and the key being made is discarded when done.
func GenerateContext(ctx context.Context, alg string, bits int) (*Key, error) {
	if alg == "" {
		alg = DefaultAlgorithm
	}
	a, err := lookupAlgorithm(alg)
	if err != nil {
		return nil, err
	}
	var signer crypto.Signer
	if a.curve != nil {
		signer, err = ecdsa.GenerateKey(a.curve, rand.Reader)
	} else {
		if bits == 0 {
			bits = DefaultRSABits
		}
		if bits < MinRSABits {
			return nil, fmt.Errorf("keys: %d bits requested, at least %d required: %w", bits, MinRSABits, ErrKeyTooSmall)
		}
		if bits > maxRSABits {
			return nil, fmt.Errorf("keys: %d bits requested, at most %d supported: %w", bits, maxRSABits, ErrUnsupportedAlgorithm)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("keys: generate %s key stopped: %w", alg, err)
		}
		type result struct {
			key *rsa.PrivateKey
			err error
		}
		done := make(chan result, 1)
		go func() {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			done <- result{k, err}
		}()
		select {
		case r := <-done:
			signer, err = r.key, r.err
		case <-ctx.Done():
			return nil, fmt.Errorf("keys: generate %s key stopped: %w", alg, ctx.Err())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("keys: generate %s key: %w", alg, err)
	}
	return New(signer, alg, time.Now())
}
