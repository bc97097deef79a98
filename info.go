package pkjwt

import (
	"time"

	"golang.org/x/oauth2"
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
}

// Info returns the TokenInfo of a token from a TokenSource, or nil for a
// token from elsewhere.
func Info(tok *oauth2.Token) *TokenInfo {
	if tok == nil {
		return nil
	}
	i, _ := tok.Extra(infoKey).(*TokenInfo)
	return i
}
