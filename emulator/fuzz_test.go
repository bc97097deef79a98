package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseAssertion: the assertion parser and the rules 8–18 never panic
// and only ever answer with a row of that range or row 7.
func FuzzParseAssertion(f *testing.F) {
	e := newTestEnv(f, nil)
	f.Add(e.sign(e.claims(), signOpts{}))
	f.Add(e.sign(with(e.claims(), "exp", "soon", "jti", 5), signOpts{typ: strp("")}))
	f.Add(unsignedJWT(map[string]any{"alg": "none"}, map[string]any{"exp": nil}))
	f.Add("invalid")
	f.Add("..")
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJSUzUxMiJ9.W10.")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add(enc(`{"alg":"RS512","typ":"JWT","kid":"k","x5c":["!!"]}`) + "." + enc(`{"exp":1e400,"iss":1,"sub":"1","jti":"j"}`) + ".")
	f.Add(enc(`{"alg":"RS512","typ":"JWT","kid":"k"}`) + "." + enc(`{"exp":[],"iss":true,"sub":"1","jti":"j"}`) + ".")
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAssertion(s)
		if err != nil {
			if a != nil {
				t.Fatal("assertion returned with an error")
			}
			return
		}
		id, ok := checkClaims(a, now, func(sub, jti string) bool { return strings.HasPrefix(jti, "seen") })
		if ok {
			if _, isStr := a.claims["jti"].(string); !isStr {
				t.Fatal("passed with a non-string jti")
			}
			if _, isNum := a.claims["exp"].(json.Number); !isNum {
				t.Fatal("passed with a non-number exp")
			}
			return
		}
		if id < ruleInvalidAlg || id > ruleExpTooFar {
			t.Fatalf("rule %d out of range", id)
		}
	})
}

// FuzzTokenEndpoint: any client_assertion gets one of the listed statuses
// and a well-formed NHS error body (or a token).
func FuzzTokenEndpoint(f *testing.F) {
	e := newTestEnv(f, nil)
	f.Add(e.sign(e.claims(), signOpts{}))
	f.Add("invalid")
	f.Add(e.sign(e.claims(), signOpts{kid: strp("nope")}))
	f.Add(unsignedJWT(map[string]any{"alg": "RS512", "typ": "JWT", "kid": "test-1"}, e.claims()))
	allowed := map[int]bool{200: true, 400: true, 401: true, 403: true, 503: true}
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, assertion string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, e.tokenURL(), strings.NewReader(form(assertion).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
		if rec.Code != 200 && (len(m) != 3 || m["error_description"] == "" || m["message_id"] == "") {
			t.Fatalf("bad error body %s", rec.Body)
		}
	})
}

// FuzzPDSRequest: any path suffix, query, X-Request-ID and Authorization
// header gets one of PDS's documented statuses with an OperationOutcome (or
// a patient or bundle), never a panic, and the X-Request-ID mirrored.
func FuzzPDSRequest(f *testing.F) {
	e := newTestEnv(f, func(c *Config) { c.Sandbox = true })
	tok := e.token()
	f.Add("/Patient/9000000009", "", "60E0B220-8136-4CA5-AE46-1D97EF59D068", "Bearer "+tok, false)
	f.Add("/Patient", "family=Smith&_max-results=1", "60E0B220-8136-4CA5-AE46-1D97EF59D068", "Bearer "+tok, false)
	f.Add("/Patient/", "", "", "Bearer x", true)
	f.Add("/Patient/9990003343", "", "bad", "Basic abc", false)
	f.Add("/Patient/../../oauth2/token", "_max-results=2", "", "", true)
	allowed := map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true}
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, suffix, query, reqID, auth string, sandbox bool) {
		base := PDSBasePath
		if sandbox {
			base = PDSSandboxBasePath
		}
		u := &url.URL{Path: base + suffix, RawQuery: query}
		req, err := http.NewRequest(http.MethodGet, e.ts.URL, nil)
		if err != nil {
			t.Skip()
		}
		req.URL = u
		if reqID != "" {
			req.Header.Set("X-Request-ID", reqID)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d for %q: %s", rec.Code, u, rec.Body)
		}
		if rec.Code == 200 {
			return
		}
		if !underBase(u.Path, base) {
			return // the path left the PDS base: a plain 404
		}
		var oo operationOutcome
		if err := json.Unmarshal(rec.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 {
			t.Fatalf("status %d, body not an OperationOutcome: %s", rec.Code, rec.Body)
		}
		if got := rec.Header().Get("X-Request-ID"); reqID != "" && got != req.Header.Get("X-Request-ID") {
			t.Fatalf("X-Request-ID %q not mirrored: %q", reqID, got)
		}
	})
}
