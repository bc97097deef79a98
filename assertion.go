package pkjwt

import (
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
// ClientID, aud = Audience, a jti, iat and exp.
type Assertion struct {
	// ClientID goes into iss and sub.
	ClientID string
	// Audience goes into aud as a single string: the token URL, exactly.
	Audience string
	// ID is the jti; "" means a new random UUIDv4.
	ID string
	// IssuedAt is iat; the zero time means now.
	IssuedAt time.Time
	// Lifetime is exp - iat; 0 means DefaultLifetime.
	Lifetime time.Duration
}

// Sign signs the assertion with key, through go-jose's opaque-signer path
// (so key.Signer may be any crypto.Signer, local or remote). The header is
// {"alg": key.Algorithm, "kid": key.ID, "typ": "JWT"}.
func (a Assertion) Sign(key *keys.Key) (string, error) {
	if a.ClientID == "" || a.Audience == "" {
		return "", fmt.Errorf("pkjwt: assertion needs a client id and an audience: %w", ErrConfig)
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
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(key.Algorithm),
		Key:       jose.JSONWebKey{Key: cryptosigner.Opaque(key.Signer), KeyID: key.ID},
	}, (&jose.SignerOptions{}).WithType("JWT"))
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
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("pkjwt: sign assertion with key %s: %w", key.ID, err)
	}
	return s, nil
}
