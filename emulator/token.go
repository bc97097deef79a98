package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// formContentType is the only Content-Type the token endpoint accepts,
// compared as an exact string like NHS (so "; charset=utf-8" is refused).
const formContentType = "application/x-www-form-urlencoded"

// maxExpAhead is how far in the future exp may be: NHS advises now+300 s
// and allows 10 s more.
const maxExpAhead = 310

// parseAlgorithms is every algorithm go-jose knows, plus "none" and the
// empty (missing) alg, so that the header can be read before the alg is
// judged (row 8). Verification is only ever done with RS512.
var parseAlgorithms = []jose.SignatureAlgorithm{
	jose.RS512, jose.RS256, jose.RS384, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512,
	"none", "",
}

// tokenResponse is NHS's success body; expires_in and issued_at are JSON
// strings, as NHS sends them.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   string `json:"expires_in"`
	TokenType   string `json:"token_type"`
	IssuedAt    string `json:"issued_at"`
}

// errorResponse is NHS's error body: exactly three members.
type errorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	MessageID        string `json:"message_id"`
}

// writeRule answers with a row of the error table; desc, when not empty,
// replaces the row's description (used for row 20).
func (s *Server) writeRule(w http.ResponseWriter, r *http.Request, ru tokenRule, desc string) {
	if desc == "" {
		desc = ru.Description
	}
	setRequestFailure(r, desc)
	setRequestRule(r, ru.ID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, ru.Status, "application/json", errorResponse{
		Error: ru.Error, ErrorDescription: desc, MessageID: newMessageID(),
	})
}

// assertion is a client_assertion decoded without verification: the parsed
// JWS, its raw header and its claims (numbers kept as json.Number so that
// NHS's type checks can be applied).
type assertion struct {
	jws     *jose.JSONWebSignature
	header  map[string]any
	claims  map[string]any
	payload []byte
}

// errMalformed is row 7.
var errMalformed = errors.New("emulator: malformed JWT in client_assertion")

// parseAssertion decodes a compact JWS with go-jose, without verifying it,
// and returns its header and claims. Any failure is errMalformed (row 7).
// A header alg go-jose does not know is still decoded (by parsing again
// with exactly that alg allowed) so that row 8 can report it.
func parseAssertion(s string) (*assertion, error) {
	jws, err := jose.ParseSignedCompact(s, parseAlgorithms)
	var unexpected *jose.ErrUnexpectedSignatureAlgorithm
	if errors.As(err, &unexpected) {
		jws, err = jose.ParseSignedCompact(s, []jose.SignatureAlgorithm{unexpected.Got})
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: %d signatures", errMalformed, len(jws.Signatures))
	}
	// The protected header as JSON, with its members' own types (typ may be
	// a number, kid may be missing): go-jose keeps unknown members in
	// ExtraHeaders and the registered ones in typed fields.
	h := jws.Signatures[0].Protected
	header := map[string]any{}
	for k, v := range h.ExtraHeaders {
		header[string(k)] = v
	}
	if h.Algorithm != "" {
		header["alg"] = h.Algorithm
	}
	if h.KeyID != "" {
		header["kid"] = h.KeyID
	}
	payload := jws.UnsafePayloadWithoutVerification()
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return &assertion{jws: jws, header: header, claims: claims, payload: payload}, nil
}

// decodeClaims decodes a JWT claims set into a map, keeping numbers as
// json.Number. The payload must be exactly one JSON object.
func decodeClaims(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	if claims == nil {
		return nil, errors.New("claims are not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after claims")
	}
	return claims, nil
}

// checkClaims applies rows 8–18 of docs/nhs-reference.md, "Token endpoint errors" in NHS's order: one
// JavaScript expression in which the first true condition wins. The JS
// semantics are reproduced: "missing" means falsy (absent, null, "", 0,
// false), the expiry test coerces exp to a number like `exp * 1000`, and
// iss/sub are compared with JS loose equality. jtiSeen reports whether the
// (sub, jti) pair is already stored (row 17).
func checkClaims(a *assertion, now time.Time, jtiSeen func(sub, jti string) bool) (ruleID, bool) {
	h, c := a.header, a.claims
	if alg, ok := h["alg"].(string); !ok || alg != "RS512" {
		return ruleInvalidAlg, false
	}
	expVal, expPresent := c["exp"]
	if jsExpired(expVal, expPresent, now) {
		return ruleExpired, false
	}
	if !jsTruthy(h["kid"]) {
		return ruleMissingKid, false
	}
	if typ, ok := h["typ"].(string); !ok || !strings.EqualFold(typ, "jwt") {
		return ruleInvalidTyp, false
	}
	if !jsTruthy(c["exp"]) {
		return ruleMissingExp, false
	}
	expNum, isNum := c["exp"].(json.Number)
	if !isNum {
		return ruleExpNotNumber, false
	}
	if !jsTruthy(c["iss"]) || !jsLooseEqual(c["iss"], c["sub"]) {
		return ruleIssSub, false
	}
	if !jsTruthy(c["jti"]) {
		return ruleMissingJTI, false
	}
	jti, ok := c["jti"].(string)
	if !ok {
		return ruleJTINotString, false
	}
	if jtiSeen(subKey(c["sub"]), jti) {
		return ruleJTIReused, false
	}
	exp, _ := strconv.ParseFloat(string(expNum), 64) // ±Inf on overflow, like JSON.parse
	if exp-secondsOf(now) > maxExpAhead {
		return ruleExpTooFar, false
	}
	// Safety net beyond NHS's JS: an exp outside JavaScript's Date range
	// (e.g. -1e300) is never "expired" in the JS check, but Apigee's
	// VerifyJWT step would reject it. The emulator answers row 9 [I].
	if !(exp*1000 > float64(now.UnixMilli())) {
		return ruleExpired, false
	}
	return 0, true
}

// serveToken is POST /oauth2/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		setRequestFailure(r, "method not allowed")
		w.Header().Set("Allow", http.MethodPost)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Values("Content-Type"); len(ct) != 1 || ct[0] != formContentType {
		s.writeRule(w, r, rule(ruleContentType), "")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.writeRule(w, r, rule(ruleBodyTooLarge), "")
			return
		}
		s.writeRule(w, r, rule(ruleUnknownError), "")
		return
	}
	// Like Apigee's request.formparam, take what decodes and ignore the rest.
	form, _ := url.ParseQuery(string(body))
	res := s.token(r.Context(), r, form)
	if res.rule != 0 {
		if res.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(res.retryAfter))
		}
		s.writeRule(w, r, rule(res.rule), res.desc)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, "application/json", res.tok)
}

// tokenResult is the outcome of a token request: a failed rule (with, for
// row 20, its description and Retry-After seconds) or a token.
type tokenResult struct {
	rule       ruleID
	desc       string
	retryAfter int
	tok        tokenResponse
}

func fail(id ruleID) tokenResult { return tokenResult{rule: id} }

// token applies the token endpoint's rules after the method and
// Content-Type checks.
func (s *Server) token(ctx context.Context, r *http.Request, form url.Values) tokenResult {
	gt := form.Get("grant_type")
	if gt == "" {
		return fail(ruleMissingGrantType)
	}
	if gt != "client_credentials" {
		return fail(ruleUnsupportedGrantType)
	}
	if form.Get("client_assertion_type") != ClientAssertionType {
		return fail(ruleClientAssertionType)
	}
	raw := form.Get("client_assertion")
	if raw == "" {
		return fail(ruleMissingClientAssertion)
	}
	a, err := parseAssertion(raw)
	if err != nil {
		return fail(ruleMalformedJWT)
	}
	now := s.now()
	if id, ok := checkClaims(a, now, func(sub, jti string) bool { return s.jtis.seen(sub, jti, now) }); !ok {
		return fail(id)
	}
	sub := subKey(a.claims["sub"])
	jti := a.claims["jti"].(string)
	exp, _ := strconv.ParseFloat(string(a.claims["exp"].(json.Number)), 64)
	// NHS stores the jti here, before the API-key, JWKS and signature
	// checks: a rejected assertion cannot be retried.
	switch s.jtis.add(sub, jti, time.Unix(0, int64(exp*1e9)), now) {
	case jtiSeen:
		return fail(ruleJTIReused)
	case jtiFull:
		return fail(ruleStoreFull)
	}
	app, ok := s.apps.lookup(sub)
	if !ok {
		return fail(ruleUnknownAPIKey)
	}
	setRequestApp(r, app.Name)
	if app.Status != StatusApproved {
		return fail(ruleAppRevoked)
	}
	if ok, wait := s.tokenLimit.allow(app.APIKey, now); !ok {
		return tokenResult{rule: ruleRateLimited, desc: s.tokenLimit.quotaMessage(app.Name), retryAfter: retryAfterSeconds(wait)}
	}
	if app.JWKSURL == "" {
		return fail(ruleNoJWKSURL)
	}
	if s.jwksFault(r) {
		return fail(ruleJWKSUnreachable)
	}
	kid, _ := a.header["kid"].(string)
	keys, err := s.jwks.keysFor(ctx, app.JWKSURL, kid)
	if err != nil {
		return fail(ruleJWKSUnreachable)
	}
	if len(keys) == 0 {
		return fail(ruleNoMatchingKid)
	}
	var verified []byte
	for _, k := range keys {
		if p, err := a.jws.Verify(k); err == nil {
			verified = p
			break
		}
	}
	if verified == nil || !bytes.Equal(verified, a.payload) {
		return fail(ruleBadSignature)
	}
	// From here on only verified claims are used.
	claims, err := decodeClaims(verified)
	if err != nil {
		return fail(ruleMalformedJWT)
	}
	if !audienceMatches(claims["aud"], s.requestTokenURL(r)) {
		return fail(ruleBadAudience)
	}
	if !app.hasLevel3() {
		return fail(ruleNoLevel3Scope)
	}
	lifetime := s.tokenLifetime
	if app.CanOverrideTokenExpiry {
		lifetime = overrideLifetime(form.Get("_access_token_expiry_ms"), lifetime)
	}
	tok := newAccessToken()
	s.tokens.add(tok, tokenInfo{
		AppName: app.Name, APIKey: app.APIKey, Scopes: app.Scopes,
		Issued: now, Expires: now.Add(lifetime),
	}, now)
	return tokenResult{tok: tokenResponse{
		AccessToken: tok,
		ExpiresIn:   strconv.FormatInt(int64(lifetime/time.Second), 10),
		TokenType:   "Bearer",
		IssuedAt:    strconv.FormatInt(now.UnixMilli(), 10),
	}}
}

// audienceMatches reports whether the aud claim names the token URL: a
// string equal to it, or an array (RFC 7519 §4.1.3) with a string element
// equal to it. NHS's public sources only show the string form; that Apigee's
// VerifyJWT also accepts an array containing the audience is inferred [I].
func audienceMatches(aud any, tokenURL string) bool {
	switch v := aud.(type) {
	case string:
		return v == tokenURL
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s == tokenURL {
				return true
			}
		}
	}
	return false
}

// overrideLifetime applies _access_token_expiry_ms (docs/nhs-reference.md, "Environments"): a
// positive whole number of milliseconds that can only shorten the
// lifetime, rounded down to whole seconds and at least 1 s. Anything else
// is ignored.
func overrideLifetime(v string, def time.Duration) time.Duration {
	if v == "" {
		return def
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return def
	}
	if ms >= def.Milliseconds() {
		return def
	}
	d := time.Duration(ms/1000) * time.Second
	if d < time.Second {
		d = time.Second
	}
	return d
}

// newAccessToken returns an opaque token of 256 random bits, base64url.
func newAccessToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}
