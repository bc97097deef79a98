package nhserr

import (
	"strings"
	"testing"
)

// TestHint: each NHS error text (docs/nhs-reference.md) gets its advice.
func TestHint(t *testing.T) {
	cases := []struct {
		code, desc string
		want       string // a fragment of the advice; "" for none
	}{
		{"invalid_request", "Invalid 'iss'/'sub' claims in client_assertion JWT", "not the API key"},
		{"invalid_request", "Missing or invalid 'aud' claim in client_assertion JWT", `"https://aud.example/token"`},
		{"invalid_request", "Invalid 'exp' claim in client_assertion JWT - JWT has expired", "clock is off"},
		{"invalid_request", "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future", "clock is off"},
		{"invalid_request", "Invalid 'kid' header in client_assertion JWT - no matching public key", "wait out its JWKS cache"},
		{"invalid_request", "Unable to verify JWT signature: signature verification failed", "not this key"},
		{"invalid_request", "The JWKS endpoint, for your client_assertion can't be reached", "not reachable"},
		{"invalid_request", "You need to register a public key to use this authentication method", "no JWKS URL"},
		{"unauthorized_client", "you have tried to request authorization but your application is not configured to use this authorization grant type", "not subscribed"},
		{"invalid_request", "Non-unique 'jti' claim in client_assertion JWT", "sent twice"},
		{"invalid_request", "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'", "only RS512"},
		{"invalid_client", "The developer app associated with the API key is not approved or revoked", "not approved"},
		{"invalid_request", "something new", ""},
		{"", "", ""},
	}
	for _, tc := range cases {
		got := Hint(tc.code, tc.desc, "https://aud.example/token")
		if tc.want == "" {
			if got != "" {
				t.Errorf("%q: hint %q, want none", tc.desc, got)
			}
			continue
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%q: hint %q, want it to contain %q", tc.desc, got, tc.want)
		}
	}
}
