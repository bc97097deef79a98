package pkjwt

import (
	"context"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/pkjwt/pkjwt/keys"
)

// DefaultLifetime is the default assertion lifetime (exp - iat).
//
// NHS England rejects an assertion whose exp is more than 310 s after its own
// clock, and one whose exp has passed. Three minutes sits near the middle of
// that window: the client's clock may run up to 130 s fast or 180 s slow
// before the server refuses the assertion, and an assertion is used within
// milliseconds of being signed, so a longer life buys nothing but a longer
// replay window. RFC 7523 asks for short lifetimes too.
const DefaultLifetime = 3 * time.Minute

// AssertionType is the client_assertion_type of RFC 7523 §2.2.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Assertion describes one client assertion (RFC 7523 §3): iss = sub =
// ClientID, aud = Audience, a jti, iat and exp. A [TokenSource] signs one
// for every token request; [Assertion.Sign] signs one for a caller that
// sends it itself (another grant, a test).
type Assertion struct {
	// ClientID goes into iss and sub.
	ClientID string
	// Audience goes into aud as a single string: the token URL, exactly.
	Audience string
	// ID is the jti; "" means a new random UUIDv4.
	ID string
	// IssuedAt is iat; the zero time means now.
	IssuedAt time.Time
	// Lifetime is exp - iat; 0 means [DefaultLifetime].
	Lifetime time.Duration
	// Header holds extra JOSE header members, e.g. "x5t#S256"; none may
	// be one pkjwt sets or one that changes how the signature is made or
	// checked: alg, kid, typ, cty, crit, b64, jku, jwk, x5u.
	Header map[string]any
	// Claims holds extra claims, e.g. "scope"; none may be one pkjwt sets
	// or owns: iss, sub, aud, jti, exp, iat, nbf.
	Claims map[string]any
}

// AssertionExtras are the header members and claims [Config.ModifyAssertion]
// adds to an assertion; the names [Assertion.Header] and [Assertion.Claims]
// refuse are refused here too.
type AssertionExtras struct {
	// Header holds extra JOSE header members.
	Header map[string]any
	// Claims holds extra claims.
	Claims map[string]any
}

// reservedClaims returns the claims pkjwt sets or owns in every assertion;
// Assertion.Claims may hold none of them.
func reservedClaims() []string { return []string{"iss", "sub", "aud", "jti", "exp", "iat", "nbf"} }

// reservedHeaders returns the JOSE header members pkjwt sets, or that
// would change how the signature is made or checked; Assertion.Header may
// hold none of them.
func reservedHeaders() []string {
	return []string{"alg", "kid", "typ", "cty", "crit", "b64", "jku", "jwk", "x5u"}
}

// checkExtras refuses an extra member named like a reserved one.
func checkExtras(what string, m map[string]any, reserved []string) error {
	for _, r := range reserved {
		if _, ok := m[r]; ok {
			return fmt.Errorf("pkjwt: the assertion's %s %q is pkjwt's to set: %w", what, r, ErrConfig)
		}
	}
	return nil
}

// Sign signs the assertion with key, through go-jose's opaque-signer path
// (so key.Signer may be any crypto.Signer, local or remote). The header is
// {"alg": key.Algorithm, "kid": key.ID, "typ": "JWT"} plus a.Header; the
// claims are iss, sub, aud, jti, iat and exp plus a.Claims. A reserved
// name in a.Header or a.Claims is an error wrapping [ErrConfig].
//
// ctx reaches a key held by a key service: a signer that implements
// [keys.ContextSigner] (AWS KMS, Azure Key Vault, their keys in a key
// directory) gets it with the signature request, so that cancelling ctx
// stops the call, and the error then matches context.Canceled (or
// context.DeadlineExceeded). A local key signs at once.
func (a Assertion) Sign(ctx context.Context, key *keys.Key) (string, error) {
	if a.ClientID == "" || a.Audience == "" {
		return "", fmt.Errorf("pkjwt: assertion needs a client id and an audience: %w", ErrConfig)
	}
	if err := checkExtras("header member", a.Header, reservedHeaders()); err != nil {
		return "", err
	}
	if err := checkExtras("claim", a.Claims, reservedClaims()); err != nil {
		return "", err
	}
	if err := keys.CheckAlgorithm(key.Public(), key.Algorithm); err != nil {
		return "", fmt.Errorf("pkjwt: key %s: %w", key.ID, err)
	}
	if a.ID == "" {
		id, err := uuid.NewRandom()
		if err != nil {
			return "", fmt.Errorf("pkjwt: jti: %w", err)
		}
		a.ID = id.String()
	}
	if a.IssuedAt.IsZero() {
		a.IssuedAt = time.Now()
	}
	if a.Lifetime == 0 {
		a.Lifetime = DefaultLifetime
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for k, v := range a.Header {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(key.Algorithm),
		Key:       jose.JSONWebKey{Key: cryptosigner.Opaque(keys.WithContext(ctx, key.Signer)), KeyID: key.ID},
	}, opts)
	if err != nil {
		return "", fmt.Errorf("pkjwt: signer for key %s: %w", key.ID, err)
	}
	claims := jwt.Claims{
		Issuer:   a.ClientID,
		Subject:  a.ClientID,
		Audience: jwt.Audience{a.Audience},
		ID:       a.ID,
		IssuedAt: jwt.NewNumericDate(a.IssuedAt),
		Expiry:   jwt.NewNumericDate(a.IssuedAt.Add(a.Lifetime)),
	}
	b := jwt.Signed(signer).Claims(claims)
	if len(a.Claims) > 0 {
		b = b.Claims(a.Claims) // merged into the same object; no name in common
	}
	s, err := b.Serialize()
	if err != nil {
		return "", fmt.Errorf("pkjwt: sign assertion with key %s: %w", key.ID, err)
	}
	return s, nil
}
