package emulator

import "net/http"

// ruleID names one row of NHS's token-endpoint error table (docs/nhs-reference.md, "Token endpoint errors").
// The numbers are the row numbers of that table; the named rows without a
// number (404, revoked app, store full, internal error) have their own IDs.
type ruleID int

// The rows of docs/nhs-reference.md, "Token endpoint errors", in NHS's evaluation order.
const (
	ruleMethodNotAllowed       ruleID = 1  // 405, Allow: POST, empty text/plain body
	ruleContentType            ruleID = 2  // 415
	ruleMissingGrantType       ruleID = 3  // 400
	ruleUnsupportedGrantType   ruleID = 4  // 400
	ruleClientAssertionType    ruleID = 5  // 400
	ruleMissingClientAssertion ruleID = 6  // 400
	ruleMalformedJWT           ruleID = 7  // 400
	ruleInvalidAlg             ruleID = 8  // 400
	ruleExpired                ruleID = 9  // 400
	ruleMissingKid             ruleID = 10 // 400
	ruleInvalidTyp             ruleID = 11 // 400
	ruleMissingExp             ruleID = 12 // 400
	ruleExpNotNumber           ruleID = 13 // 400
	ruleIssSub                 ruleID = 14 // 400
	ruleMissingJTI             ruleID = 15 // 400
	ruleJTINotString           ruleID = 16 // 400
	ruleJTIReused              ruleID = 17 // 400
	ruleExpTooFar              ruleID = 18 // 400
	ruleUnknownAPIKey          ruleID = 19 // 401
	ruleRateLimited            ruleID = 20 // 429 (body chosen by the emulator; NHS's is unverified)
	ruleNoJWKSURL              ruleID = 21 // 403
	ruleJWKSUnreachable        ruleID = 22 // 403
	ruleNoMatchingKid          ruleID = 23 // 401
	ruleBadSignature           ruleID = 24 // 401
	ruleBadAudience            ruleID = 25 // 401
	ruleNoLevel3Scope          ruleID = 26 // 401
	ruleUnknownError           ruleID = 27 // 500 in the emulator
	ruleNotFound               ruleID = 404
	ruleAppRevoked             ruleID = 1001 // access_denied, 401 [I]
	ruleStoreFull              ruleID = 1002 // emulator only: jti store full of live entries
	ruleBodyTooLarge           ruleID = 1003 // emulator only: form body over the limit
)

// tokenRule is one row of the token endpoint's error table: the HTTP status and
// the exact `error` and `error_description` members NHS returns.
type tokenRule struct {
	ID          ruleID
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
var tokenRules = []tokenRule{
	{ID: ruleMethodNotAllowed, Status: http.StatusMethodNotAllowed},
	{ID: ruleContentType, Status: http.StatusUnsupportedMediaType, Error: "invalid_request",
		Description: "Content-Type header must be application/x-www-form-urlencoded"},
	{ID: ruleMissingGrantType, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "grant_type is missing"},
	{ID: ruleUnsupportedGrantType, Status: http.StatusBadRequest, Error: "unsupported_grant_type",
		Description: "grant_type is invalid"},
	{ID: ruleClientAssertionType, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'"},
	{ID: ruleMissingClientAssertion, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing client_assertion"},
	{ID: ruleMalformedJWT, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Malformed JWT in client_assertion"},
	{ID: ruleInvalidAlg, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'"},
	{ID: ruleExpired, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'exp' claim in client_assertion JWT - JWT has expired"},
	{ID: ruleMissingKid, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing 'kid' header in client_assertion JWT"},
	{ID: ruleInvalidTyp, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'typ' header in client_assertion JWT - must be 'JWT'"},
	{ID: ruleMissingExp, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing 'exp' claim in client_assertion JWT"},
	{ID: ruleExpNotNumber, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'exp' claim in client_assertion JWT - must be an integer"},
	{ID: ruleIssSub, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT"},
	{ID: ruleMissingJTI, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Missing 'jti' claim in client_assertion JWT"},
	{ID: ruleJTINotString, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID"},
	{ID: ruleJTIReused, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Non-unique 'jti' claim in client_assertion JWT"},
	{ID: ruleExpTooFar, Status: http.StatusBadRequest, Error: "invalid_request",
		Description: "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future"},
	{ID: ruleUnknownAPIKey, Status: http.StatusUnauthorized, Error: "invalid_request",
		Description: "Invalid 'iss'/'sub' claims in client_assertion JWT"},
	// Row 20: NHS's body is unverified (shared flow ApplyRateLimiting). The
	// emulator answers with the PDS quota wording of docs/nhs-reference.md, "PDS errors" under
	// the error code "rate_limit_exceeded"; the description is built per app
	// (see rateLimitDescription).
	{ID: ruleRateLimited, Status: http.StatusTooManyRequests, Error: "rate_limit_exceeded",
		Description: "Your application has exceeded its quota and is being rate limited. Please see: " + rateLimitDocURL + " for more details.",
		Inferred:    true},
	{ID: ruleNoJWKSURL, Status: http.StatusForbidden, Error: "public_key error",
		Description: "You need to register a public key to use this authentication method - please contact support to configure"},
	{ID: ruleJWKSUnreachable, Status: http.StatusForbidden, Error: "public_key error",
		Description: "The JWKS endpoint, for your client_assertion can't be reached"},
	{ID: ruleNoMatchingKid, Status: http.StatusUnauthorized, Error: "invalid_request",
		Description: "Invalid 'kid' header in client_assertion JWT - no matching public key"},
	{ID: ruleBadSignature, Status: http.StatusUnauthorized, Error: "public_key error",
		Description: "JWT signature verification failed"},
	{ID: ruleBadAudience, Status: http.StatusUnauthorized, Error: "invalid_request",
		Description: "Missing or invalid 'aud' claim in client_assertion JWT"},
	{ID: ruleNoLevel3Scope, Status: http.StatusUnauthorized, Error: "unauthorized_client",
		Description: "you have tried to request authorization but your application is not configured to use this authorization grant type"},
	{ID: ruleUnknownError, Status: http.StatusInternalServerError, Error: "unknown_error",
		Description: "An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID",
		Inferred:    true},
	{ID: ruleNotFound, Status: http.StatusNotFound, Error: "invalid_request",
		Description: "Not Found"},
	{ID: ruleAppRevoked, Status: http.StatusUnauthorized, Error: "access_denied",
		Description: "The developer app associated with the API key is not approved or revoked",
		Inferred:    true},
	// Emulator-only rows: NHS has no documented answer for these cases.
	{ID: ruleStoreFull, Status: http.StatusServiceUnavailable, Error: "temporarily_unavailable",
		Description: "The emulator's jti store is full of unexpired assertions; retry later",
		Inferred:    true},
	{ID: ruleBodyTooLarge, Status: http.StatusRequestEntityTooLarge, Error: "invalid_request",
		Description: "Request body too large",
		Inferred:    true},
}

// rule returns the row with the given ID. It panics on an unknown ID, which
// is a programming error caught by the tests.
func rule(id ruleID) tokenRule {
	for _, r := range tokenRules {
		if r.ID == id {
			return r
		}
	}
	panic("emulator: unknown rule id")
}
