package emulator

import "net/http"

// RuleID names one row of NHS's token-endpoint error table (docs/nhs-reference.md, "Token endpoint errors").
// The numbers are the row numbers of that table; the named rows without a
// number (404, revoked app, store full, internal error) have their own IDs.
type RuleID int

// The rows of docs/nhs-reference.md, "Token endpoint errors", in NHS's evaluation order.
const (
	RuleMethodNotAllowed       RuleID = 1  // 405, Allow: POST, empty text/plain body
	RuleContentType            RuleID = 2  // 415
	RuleMissingGrantType       RuleID = 3  // 400
	RuleUnsupportedGrantType   RuleID = 4  // 400
	RuleClientAssertionType    RuleID = 5  // 400
	RuleMissingClientAssertion RuleID = 6  // 400
	RuleMalformedJWT           RuleID = 7  // 400
	RuleInvalidAlg             RuleID = 8  // 400
	RuleExpired                RuleID = 9  // 400
	RuleMissingKid             RuleID = 10 // 400
	RuleInvalidTyp             RuleID = 11 // 400
	RuleMissingExp             RuleID = 12 // 400
	RuleExpNotNumber           RuleID = 13 // 400
	RuleIssSub                 RuleID = 14 // 400
	RuleMissingJTI             RuleID = 15 // 400
	RuleJTINotString           RuleID = 16 // 400
	RuleJTIReused              RuleID = 17 // 400
	RuleExpTooFar              RuleID = 18 // 400
	RuleUnknownAPIKey          RuleID = 19 // 401
	RuleRateLimited            RuleID = 20 // 429 (body chosen by the emulator; NHS's is unverified)
	RuleNoJWKSURL              RuleID = 21 // 403
	RuleJWKSUnreachable        RuleID = 22 // 403
	RuleNoMatchingKid          RuleID = 23 // 401
	RuleBadSignature           RuleID = 24 // 401
	RuleBadAudience            RuleID = 25 // 401
	RuleNoLevel3Scope          RuleID = 26 // 401
	RuleUnknownError           RuleID = 27 // 500 in the emulator
	RuleNotFound               RuleID = 404
	RuleAppRevoked             RuleID = 1001 // access_denied, 401 [I]
	RuleStoreFull              RuleID = 1002 // emulator only: jti store full of live entries
	RuleBodyTooLarge           RuleID = 1003 // emulator only: form body over the limit
)

// Rule is one row of the token endpoint's error table: the HTTP status and
// the exact `error` and `error_description` members NHS returns.
type Rule struct {
	ID          RuleID
	Status      int
	Error       string
	Description string
	// Inferred marks rows whose status or body is not verified against NHS
	// (docs/nhs-reference.md marks them "ours"); the emulator's choice is documented
	// in docs/emulator.md.
	Inferred bool
}

// ClientAssertionType is the only accepted client_assertion_type (RFC 7523).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// rateLimitDocURL is the rate-limit reference NHS's quota messages cite.
const rateLimitDocURL = "https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits"

// tokenRules is NHS's ordered error table as data. It is never modified.
// The strings are copied character for character from docs/nhs-reference.md, "Token endpoint errors".
var tokenRules = []Rule{
	{ID: RuleMethodNotAllowed, Status: http.StatusMethodNotAllowed},
	{ID: RuleContentType, Status: http.StatusUnsupportedMediaType, Error: "invalid_request",
		Description: "Content-Type header must be application/x-www-form-urlencoded"},
	{ID: RuleMissingGrantType, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "grant_type is missing"},
	{ID: RuleUnsupportedGrantType, Status: http.StatusBadRequest, Error: "unsupported_grant_type",
		Description: "grant_type is invalid"},
	{ID: RuleClientAssertionType, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'"},
	{ID: RuleMissingClientAssertion, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing client_assertion"},
	{ID: RuleMalformedJWT, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Malformed JWT in client_assertion"},
	{ID: RuleInvalidAlg, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'"},
	{ID: RuleExpired, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'exp' claim in client_assertion JWT - JWT has expired"},
	{ID: RuleMissingKid, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing 'kid' header in client_assertion JWT"},
	{ID: RuleInvalidTyp, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'typ' header in client_assertion JWT - must be 'JWT'"},
	{ID: RuleMissingExp, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing 'exp' claim in client_assertion JWT"},
	{ID: RuleExpNotNumber, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'exp' claim in client_assertion JWT - must be an integer"},
	{ID: RuleIssSub, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT"},
	{ID: RuleMissingJTI, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing 'jti' claim in client_assertion JWT"},
	{ID: RuleJTINotString, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID"},
	{ID: RuleJTIReused, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Non-unique 'jti' claim in client_assertion JWT"},
	{ID: RuleExpTooFar, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future"},
	{ID: RuleUnknownAPIKey, Status: http.StatusUnauthorized, Error: "invalid_request",
		Description: "Invalid 'iss'/'sub' claims in client_assertion JWT"},
	// Row 20: NHS's body is unverified (shared flow ApplyRateLimiting). The
	// emulator answers with the PDS quota wording of docs/nhs-reference.md, "PDS errors" under
	// the error code "rate_limit_exceeded"; the description is built per app
	// (see rateLimitDescription).
	{ID: RuleRateLimited, Status: http.StatusTooManyRequests, Error: "rate_limit_exceeded",
		Description: "Your application has exceeded its quota and is being rate limited. Please see: " + rateLimitDocURL + " for more details.",
		Inferred:    true},
	{ID: RuleNoJWKSURL, Status: http.StatusForbidden, Error: "public_key error",
		Description: "You need to register a public key to use this authentication method - please contact support to configure"},
	{ID: RuleJWKSUnreachable, Status: http.StatusForbidden, Error: "public_key error",
		Description: "The JWKS endpoint, for your client_assertion can't be reached"},
	{ID: RuleNoMatchingKid, Status: http.StatusUnauthorized, Error: "invalid_request",
		Description: "Invalid 'kid' header in client_assertion JWT - no matching public key"},
	{ID: RuleBadSignature, Status: http.StatusUnauthorized, Error: "public_key error",
		Description: "JWT signature verification failed"},
	{ID: RuleBadAudience, Status: http.StatusUnauthorized, Error: "invalid_request",
		Description: "Missing or invalid 'aud' claim in client_assertion JWT"},
	{ID: RuleNoLevel3Scope, Status: http.StatusUnauthorized, Error: "unauthorized_client",
		Description: "you have tried to request authorization but your application is not configured to use this authorization grant type"},
	{ID: RuleUnknownError, Status: http.StatusInternalServerError, Error: "unknown_error",
		Description: "An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID",
		Inferred:    true},
	{ID: RuleNotFound, Status: http.StatusNotFound, Error: "invalid_request",
		Description: "Not Found"},
	{ID: RuleAppRevoked, Status: http.StatusUnauthorized, Error: "access_denied",
		Description: "The developer app associated with the API key is not approved or revoked",
		Inferred:    true},
	// Emulator-only rows: NHS has no documented answer for these cases.
	{ID: RuleStoreFull, Status: http.StatusServiceUnavailable, Error: "temporarily_unavailable",
		Description: "The emulator's jti store is full of unexpired assertions; retry later",
		Inferred:    true},
	{ID: RuleBodyTooLarge, Status: http.StatusRequestEntityTooLarge, Error: "invalid_request",
		Description: "Request body too large",
		Inferred:    true},
}

// rule returns the row with the given ID. It panics on an unknown ID, which
// is a programming error caught by the tests.
func rule(id RuleID) Rule {
	for _, r := range tokenRules {
		if r.ID == id {
			return r
		}
	}
	panic("emulator: unknown rule id")
}

// Rules returns a copy of the token endpoint's error table, in NHS's order.
func Rules() []Rule {
	out := make([]Rule, len(tokenRules))
	copy(out, tokenRules)
	return out
}
