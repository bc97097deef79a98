// Package nhserr is the one table that turns NHS England token endpoint
// errors into advice: 'pkjwt check', the CLI's token and call errors and
// the sample web app read it. The error texts it matches are listed, with
// their public sources, in docs/nhs-reference.md.
package nhserr

import (
	"fmt"
	"strings"
)

// rule matches a token error by a fragment of its error_description (or,
// when match is "", by its error code) and gives the advice.
type rule struct {
	match  string
	code   string
	advice func(audience string) string
}

func fixed(s string) func(string) string { return func(string) string { return s } }

// rules is the table, most specific first.
func rules() []rule {
	return []rule{
		{match: "Invalid 'iss'/'sub' claims", advice: fixed("the client id is not the API key of an app in this environment (an INT key sent to production?); copy it from the app's Active API keys")},
		{match: "'aud' claim", advice: func(aud string) string {
			return fmt.Sprintf("aud must equal the token URL you post to, character for character; pkjwt sends %q", aud)
		}},
		{match: "JWT has expired", advice: fixed(clockAdvice)},
		{match: "more than 5 minutes in future", advice: fixed(clockAdvice)},
		{match: "Invalid 'kid' header", advice: fixed("the signing kid is not in the JWKS the server holds: publish the key and wait out its JWKS cache (NHS: 1 hour, no refetch for an unknown kid) before it signs; check with --jwks-url")},
		{match: "signature verification failed", advice: fixed("a key with this kid is registered but it is not this key (regenerated, or another environment's key)")},
		{match: "can't be reached", advice: fixed("the JWKS URL registered for the app is not reachable from the internet, has no path, or answers non-2xx; check with --jwks-url")},
		{match: "register a public key", advice: fixed("no JWKS URL is registered for the app in this environment")},
		{code: "unauthorized_client", advice: fixed("the app is not subscribed to an application-restricted (level 3) product of this API")},
		{match: "Non-unique 'jti'", advice: fixed("an assertion was sent twice; pkjwt signs a new one per request, so another client may be replaying it")},
		{match: "'alg' header", advice: fixed("NHS England accepts only RS512: generate the key with --alg RS512")},
		{match: "not approved or revoked", advice: fixed("the app is not approved, or its key was revoked, on the developer portal")},
	}
}

const clockAdvice = "this machine's clock is off: see the clock check; fix NTP or lower --lifetime"

// Hint returns advice for a token endpoint error with this error code and
// error_description, or "" when the table has none. audience is the aud the
// client sends, quoted in the advice for an aud error.
func Hint(code, description, audience string) string {
	for _, r := range rules() {
		if (r.match != "" && strings.Contains(description, r.match)) || (r.match == "" && r.code == code) {
			return r.advice(audience)
		}
	}
	return ""
}
