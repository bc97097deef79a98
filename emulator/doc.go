// Package emulator is an offline emulator of NHS England's OAuth 2.0 token
// endpoint for application-restricted, signed-JWT authentication
// (client credentials with a private_key_jwt client assertion, RFC 7523)
// and of a PDS-like FHIR R4 API over embedded synthetic patients.
//
// It reproduces NHS's rules, HTTP statuses and error bodies string for
// string, as documented in docs/nhs-reference.md: the ordered
// error table of the token endpoint, the jti burned before the
// API-key, JWKS and signature checks, the one-hour JWKS cache that is not
// refetched for an unknown kid, and the PDS OperationOutcome errors.
//
// The emulator imports nothing from the client side of this module: it
// judges the client independently, so a bug shared by both cannot hide.
//
// Endpoints (see the *Path constants):
//
//	POST /oauth2/token                              token endpoint
//	GET  /personal-demographics/FHIR/R4/Patient/{n} PDS read (bearer token)
//	GET  /personal-demographics/FHIR/R4/Patient?... PDS search, _max-results=1
//	GET  /personal-demographics/FHIR/R4-sandbox/... the same without auth (Config.Sandbox)
//	GET  /hello-world/hello/application            {"message": "Hello Application!"}
//
// Bounds: the jti store holds at most Config.MaxJTIs pairs (default
// 100000) for 30 days; when full it evicts the oldest pair whose assertion
// has expired and otherwise refuses with 503 rather than forget a jti that
// could still be replayed. The token store holds at most Config.MaxTokens
// tokens (default 100000), stored as SHA-256 hashes; expired tokens are
// kept one hour to answer "Access Token expired" and then purged; when full
// the oldest token is evicted. The JWKS cache holds at most
// Config.MaxJWKSEntries URLs (default 1024), reads at most 1 MiB per JWKS
// and times out after 10 s.
//
// Logging: one slog line per request with method, path, status, app name
// and, on failure, the error description. The access token, the client
// assertion and the Authorization header are never logged.
package emulator
