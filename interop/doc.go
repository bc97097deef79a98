// Package interop holds tests that run pkjwt against authorization servers
// other than its own emulator; it has no code of its own.
//
// ORY Hydra v2.3.0 (built by tools/hydra/build.sh, "make hydra") is the
// second, independent implementation of RFC 7523 private_key_jwt client
// authentication: hydra_test.go registers a client through Hydra's admin
// API with the web app's JWKS as its jwks_uri, gets tokens with
// pkjwt.TokenSource, and keeps getting them through a key rotation driven
// by "pkjwt keys rotate". The tests skip when the Hydra binary is missing,
// unless PKJWT_REQUIRE_HYDRA is set ("make test" sets it).
//
// Where Hydra's rules differ from NHS England's (docs/nhs-reference.md):
//   - aud: Hydra accepts a string or an array that contains its token URL
//     (its public URL, by default its issuer, plus /oauth2/token); NHS wants
//     the single string.
//   - alg: Hydra requires exactly the alg registered for the client
//     (token_endpoint_auth_signing_alg, any of RS/PS/ES 256-512, RS256 when
//     the registration names none, so an RS512 key must register RS512); NHS
//     takes RS512 only.
//   - kid: optional at Hydra (without it, Hydra takes the first key of the
//     right type in the set, the wrong one half-way through a rotation);
//     required by NHS. Hydra uses only keys with "use": "sig", which
//     pkjwt's JWKS always carries.
//   - exp: Hydra sets no cap on the assertion's lifetime; NHS refuses an exp
//     more than 5 minutes ahead.
//   - JWKS: Hydra caches a jwks_uri for an hour but fetches it again at once
//     whenever an assertion names a kid it has not cached, so a new key works
//     there as soon as it is published; NHS's cache must be waited out, which
//     is what the rotation lead (65 minutes by default) is for.
//   - A private_key_jwt client still gets a generated client_secret from
//     Hydra's admin API (unused; the tests drop it).
package interop
