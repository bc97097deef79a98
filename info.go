package pkjwt

import (
	"encoding/json"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/pkjwt/pkjwt/keys"
)

// infoKey is the oauth2.Token extra under which TokenInfo is kept, beside
// the server's own members.
const infoKey = "pkjwt.info"

// TokenInfo is what may be shown about a token: everything but the token.
type TokenInfo struct {
	// TokenType is "Bearer".
	TokenType string `json:"token_type"`
	// Scope is the scope the server granted, if it said.
	Scope string `json:"scope,omitempty"`
	// ExpiresIn is the lifetime the server gave, in seconds.
	ExpiresIn int64 `json:"expires_in"`
	// IssuedAt is the server's issued_at, or ReceivedAt.
	IssuedAt time.Time `json:"issued_at"`
	// ReceivedAt is when the response arrived.
	ReceivedAt time.Time `json:"received_at"`
	// Expiry is ReceivedAt + ExpiresIn.
	Expiry time.Time `json:"expires_at"`
	// KeyID is the kid of the key that signed the assertion.
	KeyID string `json:"kid"`
	// Assertion is the header and claims of the assertion that got the
	// token, without its signature.
	Assertion *AssertionSummary `json:"assertion,omitempty"`
}

// Info returns the [TokenInfo] of a token from a [TokenSource], or nil for
// a token from elsewhere.
func Info(tok *oauth2.Token) *TokenInfo {
	if tok == nil {
		return nil
	}
	i, _ := tok.Extra(infoKey).(*TokenInfo)
	return i
}

// AssertionSummary is what may be shown of a client assertion: its JOSE
// header and its claims, decoded, without the signature (which is what
// makes an assertion usable). It is what people need to see when a server
// answers "Invalid 'iss'/'sub' claims" or "Missing or invalid 'aud' claim".
type AssertionSummary struct {
	// Header holds the JOSE header members: alg, kid, typ and any extra.
	Header map[string]any `json:"header"`
	// Claims holds the claims: iss, sub, aud, jti, iat, exp and any extra.
	Claims map[string]any `json:"claims"`
}

// summarizeAssertion decodes the header and claims of a compact JWS that
// this package has just signed, through go-jose; nil if it cannot.
func summarizeAssertion(compact string) *AssertionSummary {
	obj, err := jose.ParseSignedCompact(compact, joseAlgorithms())
	if err != nil || len(obj.Signatures) != 1 {
		return nil
	}
	h := obj.Signatures[0].Protected
	s := &AssertionSummary{Header: map[string]any{"alg": h.Algorithm, "kid": h.KeyID}, Claims: map[string]any{}}
	for k, v := range h.ExtraHeaders {
		s.Header[string(k)] = v
	}
	if err := json.Unmarshal(obj.UnsafePayloadWithoutVerification(), &s.Claims); err != nil {
		return nil
	}
	return s
}

// joseAlgorithms is keys.Algorithms as go-jose's type.
func joseAlgorithms() []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range keys.Algorithms() {
		out = append(out, jose.SignatureAlgorithm(a))
	}
	return out
}
