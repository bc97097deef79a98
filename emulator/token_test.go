package emulator

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// The expected strings are copied from docs/nhs-reference.md, "Token endpoint errors", not from rules.go,
// so that a typo in the table fails here.
const (
	descContentType   = "Content-Type header must be application/x-www-form-urlencoded"
	descGrantMissing  = "grant_type is missing"
	descGrantInvalid  = "grant_type is invalid"
	descAssertionType = "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'"
	descNoAssertion   = "Missing client_assertion"
	descMalformed     = "Malformed JWT in client_assertion"
	descAlg           = "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'"
	descExpired       = "Invalid 'exp' claim in client_assertion JWT - JWT has expired"
	descNoKid         = "Missing 'kid' header in client_assertion JWT"
	descTyp           = "Invalid 'typ' header in client_assertion JWT - must be 'JWT'"
	descNoExp         = "Missing 'exp' claim in client_assertion JWT"
	descExpType       = "Invalid 'exp' claim in client_assertion JWT - must be an integer"
	descIssSub        = "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT"
	descNoJTI         = "Missing 'jti' claim in client_assertion JWT"
	descJTIType       = "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID"
	descJTIReused     = "Non-unique 'jti' claim in client_assertion JWT"
	descExpFar        = "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future"
	descBadSub        = "Invalid 'iss'/'sub' claims in client_assertion JWT"
	descNoJWKS        = "You need to register a public key to use this authentication method - please contact support to configure"
	descJWKSDown      = "The JWKS endpoint, for your client_assertion can't be reached"
	descNoKey         = "Invalid 'kid' header in client_assertion JWT - no matching public key"
	descBadSig        = "JWT signature verification failed"
	descAud           = "Missing or invalid 'aud' claim in client_assertion JWT"
	descNoScope       = "you have tried to request authorization but your application is not configured to use this authorization grant type"
	descRevoked       = "The developer app associated with the API key is not approved or revoked"
)

// unsignedJWT builds a JWT with an arbitrary header for alg tests that
// go-jose cannot sign (alg "none", no alg). Test-only negative input.
func unsignedJWT(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func with(c map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(c, k)
		} else {
			c[k] = kv[i+1]
		}
	}
	return c
}

type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func TestTokenEndpointRows(t *testing.T) {
	_, otherKey := testKeys(t)
	type tc struct {
		name     string
		mod      func(*Config)
		run      func(e *testEnv) httpResult
		status   int
		err      string
		desc     string
		checkHdr func(t *testing.T, h http.Header)
	}
	postWith := func(f func(e *testEnv) url.Values) func(e *testEnv) httpResult {
		return func(e *testEnv) httpResult { return e.post(f(e)) }
	}
	assertion := func(f func(e *testEnv) string) func(e *testEnv) httpResult {
		return func(e *testEnv) httpResult { return e.post(form(f(e))) }
	}
	claimsWith := func(kv ...any) func(e *testEnv) httpResult {
		return assertion(func(e *testEnv) string { return e.sign(with(e.claims(), kv...), signOpts{}) })
	}
	rawPost := func(ct, body string) func(e *testEnv) httpResult {
		return func(e *testEnv) httpResult {
			req, _ := http.NewRequest(http.MethodPost, e.tokenURL(), strings.NewReader(body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			return e.do(req)
		}
	}
	cases := []tc{
		{name: "2 json content type", run: func(e *testEnv) httpResult {
			return rawPost("application/json", `{"grant_type":"client_credentials"}`)(e)
		}, status: 415, err: "invalid_request", desc: descContentType},
		{name: "2 charset suffix", run: func(e *testEnv) httpResult {
			return rawPost("application/x-www-form-urlencoded; charset=utf-8", form(e.sign(e.claims(), signOpts{})).Encode())(e)
		}, status: 415, err: "invalid_request", desc: descContentType},
		{name: "2 no content type", run: rawPost("", "grant_type=client_credentials"), status: 415, err: "invalid_request", desc: descContentType},
		{name: "3 grant_type missing", run: postWith(func(e *testEnv) url.Values {
			f := form("x")
			f.Del("grant_type")
			return f
		}), status: 400, err: "invalid_request", desc: descGrantMissing},
		{name: "4 grant_type unknown", run: postWith(func(e *testEnv) url.Values {
			f := form("x")
			f.Set("grant_type", "password")
			return f
		}), status: 400, err: "unsupported_grant_type", desc: descGrantInvalid},
		{name: "5 client_assertion_type missing", run: postWith(func(e *testEnv) url.Values {
			f := form("x")
			f.Del("client_assertion_type")
			return f
		}), status: 400, err: "invalid_request", desc: descAssertionType},
		{name: "5 client_assertion_type wrong", run: postWith(func(e *testEnv) url.Values {
			f := form("x")
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			return f
		}), status: 400, err: "invalid_request", desc: descAssertionType},
		{name: "6 client_assertion missing", run: postWith(func(e *testEnv) url.Values {
			f := form("")
			f.Del("client_assertion")
			return f
		}), status: 400, err: "invalid_request", desc: descNoAssertion},
		{name: "7 malformed", run: assertion(func(*testEnv) string { return "invalid" }),
			status: 400, err: "invalid_request", desc: descMalformed},
		{name: "7 claims not JSON", run: assertion(func(e *testEnv) string {
			good := e.sign(e.claims(), signOpts{})
			parts := strings.Split(good, ".")
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("not json")) + "." + parts[2]
		}), status: 400, err: "invalid_request", desc: descMalformed},
		{name: "8 alg RS256", run: assertion(func(e *testEnv) string { return e.sign(e.claims(), signOpts{alg: jose.RS256}) }),
			status: 400, err: "invalid_request", desc: descAlg},
		{name: "8 alg PS512", run: assertion(func(e *testEnv) string { return e.sign(e.claims(), signOpts{alg: jose.PS512}) }),
			status: 400, err: "invalid_request", desc: descAlg},
		{name: "8 alg HS256", run: assertion(func(e *testEnv) string {
			return e.sign(e.claims(), signOpts{alg: jose.HS256, key: []byte("0123456789abcdef0123456789abcdef")})
		}), status: 400, err: "invalid_request", desc: descAlg},
		{name: "8 alg none", run: assertion(func(e *testEnv) string {
			return unsignedJWT(map[string]any{"alg": "none", "typ": "JWT", "kid": e.kid}, e.claims())
		}), status: 400, err: "invalid_request", desc: descAlg},
		{name: "8 alg missing", run: assertion(func(e *testEnv) string {
			return unsignedJWT(map[string]any{"typ": "JWT", "kid": e.kid}, e.claims())
		}), status: 400, err: "invalid_request", desc: descAlg},
		{name: "8 alg unknown to go-jose", run: assertion(func(e *testEnv) string {
			return unsignedJWT(map[string]any{"alg": "rs512", "typ": "JWT", "kid": e.kid}, e.claims())
		}), status: 400, err: "invalid_request", desc: descAlg},
		{name: "9 expired", run: func(e *testEnv) httpResult {
			return claimsWith("exp", e.clock.Now().Unix()-20)(e)
		}, status: 400, err: "invalid_request", desc: descExpired},
		{name: "9 expired wins over missing kid", run: assertion(func(e *testEnv) string {
			return e.sign(with(e.claims(), "exp", e.clock.Now().Unix()-20), signOpts{kid: strp("")})
		}), status: 400, err: "invalid_request", desc: descExpired},
		{name: "9 exp null is expired (JS null*1000 = 0)", run: claimsWith("exp", jsonNull{}),
			status: 400, err: "invalid_request", desc: descExpired},
		{name: "9 exp beyond the JS Date range", run: claimsWith("exp", -1e300),
			status: 400, err: "invalid_request", desc: descExpired},
		{name: "10 kid missing", run: assertion(func(e *testEnv) string { return e.sign(e.claims(), signOpts{kid: strp("")}) }),
			status: 400, err: "invalid_request", desc: descNoKid},
		{name: "11 typ missing", run: assertion(func(e *testEnv) string { return e.sign(e.claims(), signOpts{typ: strp("")}) }),
			status: 400, err: "invalid_request", desc: descTyp},
		{name: "11 typ invalid", run: assertion(func(e *testEnv) string { return e.sign(e.claims(), signOpts{typ: strp("invalid")}) }),
			status: 400, err: "invalid_request", desc: descTyp},
		{name: "11 typ lower case accepted, fails later", run: assertion(func(e *testEnv) string {
			return e.sign(with(e.claims(), "aud", "https://elsewhere/oauth2/token"), signOpts{typ: strp("jwt")})
		}), status: 401, err: "invalid_request", desc: descAud},
		{name: "12 exp missing", run: claimsWith("exp", nil), status: 400, err: "invalid_request", desc: descNoExp},
		{name: "13 exp string", run: func(e *testEnv) httpResult {
			return claimsWith("exp", strconv.FormatInt(e.clock.Now().Unix()+300, 10))(e)
		}, status: 400, err: "invalid_request", desc: descExpType},
		{name: "13 past exp string is expired first", run: func(e *testEnv) httpResult {
			return claimsWith("exp", strconv.FormatInt(e.clock.Now().Unix()-300, 10))(e)
		}, status: 400, err: "invalid_request", desc: descExpired},
		{name: "14 iss missing", run: claimsWith("iss", nil), status: 400, err: "invalid_request", desc: descIssSub},
		{name: "14 sub missing", run: claimsWith("sub", nil), status: 400, err: "invalid_request", desc: descIssSub},
		{name: "14 iss differs", run: claimsWith("iss", "someone-else"), status: 400, err: "invalid_request", desc: descIssSub},
		{name: "15 jti missing", run: claimsWith("jti", nil), status: 400, err: "invalid_request", desc: descNoJTI},
		{name: "16 jti integer", run: claimsWith("jti", 1234567890), status: 400, err: "invalid_request", desc: descJTIType},
		{name: "17 jti reused", run: func(e *testEnv) httpResult {
			a := e.sign(e.claims(), signOpts{})
			if first := e.post(form(a)); first.status != 200 {
				t.Fatalf("first: %d %s", first.status, first.body)
			}
			return e.post(form(a))
		}, status: 400, err: "invalid_request", desc: descJTIReused},
		{name: "18 exp too far", run: func(e *testEnv) httpResult {
			return claimsWith("exp", e.clock.Now().Unix()+360)(e)
		}, status: 400, err: "invalid_request", desc: descExpFar},
		{name: "18 exp 310 s is allowed", run: func(e *testEnv) httpResult {
			return e.post(form(e.sign(with(e.claims(), "exp", e.clock.Now().Unix()+310, "aud", "x"), signOpts{})))
		}, status: 401, err: "invalid_request", desc: descAud},
		{name: "19 unknown sub", run: claimsWith("iss", "nobody", "sub", "nobody"), status: 401, err: "invalid_request", desc: descBadSub},
		{name: "revoked app", mod: func(c *Config) { c.Apps[0].Status = StatusRevoked }, run: claimsWith(),
			status: 401, err: "access_denied", desc: descRevoked},
		{name: "21 no JWKS URL", mod: func(c *Config) { c.Apps[0].JWKSURL = "" }, run: claimsWith(),
			status: 403, err: "public_key error", desc: descNoJWKS},
		{name: "22 JWKS URL without path", mod: func(c *Config) { c.Apps[0].JWKSURL = strings.TrimSuffix(c.Apps[0].JWKSURL, "/.well-known/jwks.json") },
			run: claimsWith(), status: 403, err: "public_key error", desc: descJWKSDown},
		{name: "22 JWKS status 500", run: func(e *testEnv) httpResult {
			e.jwks.set(func(js *jwksServer) { js.status = 500 })
			return claimsWith()(e)
		}, status: 403, err: "public_key error", desc: descJWKSDown},
		{name: "22 JWKS unreachable", mod: func(c *Config) { c.Apps[0].JWKSURL = "http://127.0.0.1:1/jwks.json" },
			run: claimsWith(), status: 403, err: "public_key error", desc: descJWKSDown},
		{name: "22 JWKS larger than 1 MiB", run: func(e *testEnv) httpResult {
			e.jwks.set(func(js *jwksServer) {
				js.rawBody = []byte(`{"keys":[],"pad":"` + strings.Repeat("a", maxJWKSBytes) + `"}`)
			})
			return claimsWith()(e)
		}, status: 403, err: "public_key error", desc: descJWKSDown},
		{name: "23 unknown kid", run: assertion(func(e *testEnv) string { return e.sign(e.claims(), signOpts{kid: strp("invalid")}) }),
			status: 401, err: "invalid_request", desc: descNoKey},
		{name: "23 kid case differs", run: assertion(func(e *testEnv) string { return e.sign(e.claims(), signOpts{kid: strp("Test-1")}) }),
			status: 401, err: "invalid_request", desc: descNoKey},
		{name: "23 JWKS not JSON is cached as empty", run: func(e *testEnv) httpResult {
			e.jwks.set(func(js *jwksServer) { js.rawBody = []byte("<html>") })
			return claimsWith()(e)
		}, status: 401, err: "invalid_request", desc: descNoKey},
		{name: "23 non-RSA key under the kid", run: func(e *testEnv) httpResult {
			e.jwks.set(func(js *jwksServer) {
				js.keys = []jose.JSONWebKey{{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: e.kid, Algorithm: "HS256"}}
			})
			return claimsWith()(e)
		}, status: 401, err: "invalid_request", desc: descNoKey},
		{name: "24 wrong key", run: assertion(func(e *testEnv) string { return e.sign(e.claims(), signOpts{key: otherKey}) }),
			status: 401, err: "public_key error", desc: descBadSig},
		{name: "24 jku, x5u, jwk headers ignored", run: assertion(func(e *testEnv) string {
			other := jose.JSONWebKey{Key: &otherKey.PublicKey, KeyID: e.kid}
			return e.sign(e.claims(), signOpts{key: otherKey, header: map[jose.HeaderKey]any{
				"jku": e.jwks.url() + "?attacker", "x5u": "https://attacker.example/cert.pem", "jwk": other,
			}})
		}), status: 401, err: "public_key error", desc: descBadSig},
		{name: "24 x5c header ignored", run: assertion(func(e *testEnv) string {
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &otherKey.PublicKey, otherKey)
			if err != nil {
				t.Fatal(err)
			}
			return e.sign(e.claims(), signOpts{key: otherKey, header: map[jose.HeaderKey]any{
				"x5c": []string{base64.StdEncoding.EncodeToString(der)},
			}})
		}), status: 401, err: "public_key error", desc: descBadSig},
		{name: "24 tampered claims", run: assertion(func(e *testEnv) string {
			good := strings.Split(e.sign(e.claims(), signOpts{}), ".")
			c := e.claims()
			c["extra"] = "x"
			b, _ := json.Marshal(c)
			return good[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + good[2]
		}), status: 401, err: "public_key error", desc: descBadSig},
		{name: "25 aud wrong", run: claimsWith("aud", "https://int.api.service.nhs.uk/oauth2/token"),
			status: 401, err: "invalid_request", desc: descAud},
		{name: "25 aud trailing slash", run: func(e *testEnv) httpResult { return claimsWith("aud", e.tokenURL()+"/")(e) },
			status: 401, err: "invalid_request", desc: descAud},
		{name: "25 aud missing", run: claimsWith("aud", nil), status: 401, err: "invalid_request", desc: descAud},
		{name: "25 aud array without the token URL", run: claimsWith("aud", []string{"https://int.api.service.nhs.uk/oauth2/token"}),
			status: 401, err: "invalid_request", desc: descAud},
		{name: "26 no level3 scope", mod: func(c *Config) {
			c.Apps[0].Scopes = []string{"urn:nhsd:apim:user-nhs-id:aal3:personal-demographics-service"}
		},
			run: claimsWith(), status: 401, err: "unauthorized_client", desc: descNoScope},
		{name: "404 unknown path under /oauth2", run: func(e *testEnv) httpResult {
			req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/oauth2/tokens", strings.NewReader(form("x").Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return e.do(req)
		}, status: 404, err: "invalid_request", desc: "Not Found"},
		{name: "404 /oauth2/authorize GET", run: func(e *testEnv) httpResult { return e.get("/oauth2/authorize", nil) },
			status: 404, err: "invalid_request", desc: "Not Found"},
		{name: "20 rate limit", mod: func(c *Config) { c.TokenRateLimit = 2 }, run: func(e *testEnv) httpResult {
			for i := 0; i < 2; i++ {
				if r := claimsWith()(e); r.status != 200 {
					t.Fatalf("request %d: %d %s", i, r.status, r.body)
				}
			}
			return claimsWith()(e)
		}, status: 429, err: "rate_limit_exceeded",
			desc: "Your application, Test App, has exceeded its quota of 2 requests every 1 minute(s) and is being rate limited. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details.",
			checkHdr: func(t *testing.T, h http.Header) {
				n, err := strconv.Atoi(h.Get("Retry-After"))
				if err != nil || n < 1 || n > 60 {
					t.Errorf("Retry-After = %q", h.Get("Retry-After"))
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, c.mod)
			res := c.run(e)
			assertTokenError(t, res, c.status, c.err, c.desc)
			if c.checkHdr != nil {
				c.checkHdr(t, res.header)
			}
		})
	}
}

func TestTokenMethodNotAllowed(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, e.tokenURL(), nil)
		res := e.do(req)
		if res.status != 405 || res.header.Get("Allow") != "POST" || len(res.body) != 0 ||
			res.header.Get("Content-Type") != "text/plain" {
			t.Errorf("%s: status %d, Allow %q, Content-Type %q, body %q", m, res.status,
				res.header.Get("Allow"), res.header.Get("Content-Type"), res.body)
		}
	}
}

func TestTokenSuccess(t *testing.T) {
	e := newTestEnv(t, nil)
	res := e.post(form(e.sign(e.claims(), signOpts{})))
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if res.header.Get("Content-Type") != "application/json" || res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", res.header)
	}
	var m map[string]any
	if err := json.Unmarshal(res.body, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 4 || m["expires_in"] != "599" || m["token_type"] != "Bearer" ||
		m["issued_at"] != strconv.FormatInt(e.clock.Now().UnixMilli(), 10) {
		t.Errorf("body %s", res.body)
	}
	tok, _ := m["access_token"].(string)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < 20 || strings.Count(tok, ".") != 0 {
		t.Errorf("access_token %q is not an opaque token of >= 160 bits", tok)
	}
	if got := e.get("/hello-world/hello/application", map[string]string{"Authorization": "Bearer " + tok}); got.status != 200 ||
		strings.TrimSpace(string(got.body)) != `{"message":"Hello Application!"}` {
		t.Errorf("hello: %d %s", got.status, got.body)
	}
}

// TestJTIBurnedBeforeSignature: a rejected assertion (row 24) burns its
// jti; the identical retry gets row 17.
func TestJTIBurnedBeforeSignature(t *testing.T) {
	_, other := testKeys(t)
	e := newTestEnv(t, nil)
	a := e.sign(e.claims(), signOpts{key: other})
	assertTokenError(t, e.post(form(a)), 401, "public_key error", descBadSig)
	assertTokenError(t, e.post(form(a)), 400, "invalid_request", descJTIReused)
	// Also for an unknown API key (row 19) and a missing JWKS URL (row 21).
	c := with(e.claims(), "iss", "ghost", "sub", "ghost")
	a = e.sign(c, signOpts{})
	assertTokenError(t, e.post(form(a)), 401, "invalid_request", descBadSub)
	assertTokenError(t, e.post(form(a)), 400, "invalid_request", descJTIReused)
	// The same jti under another sub is a different pair.
	c2 := with(e.claims(), "jti", c["jti"])
	if r := e.post(form(e.sign(c2, signOpts{}))); r.status != 200 {
		t.Errorf("same jti, other sub: %d %s", r.status, r.body)
	}
}

func TestJTIRememberedThirtyDays(t *testing.T) {
	e := newTestEnv(t, nil)
	jti := uuid.NewString()
	c := with(e.claims(), "jti", jti)
	if r := e.post(form(e.sign(c, signOpts{}))); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	e.clock.Advance(29 * 24 * time.Hour)
	c = with(e.claims(), "jti", jti)
	assertTokenError(t, e.post(form(e.sign(c, signOpts{}))), 400, "invalid_request", descJTIReused)
	e.clock.Advance(2 * 24 * time.Hour)
	c = with(e.claims(), "jti", jti)
	if r := e.post(form(e.sign(c, signOpts{}))); r.status != 200 {
		t.Errorf("after 31 days: %d %s", r.status, r.body)
	}
}

func TestAccessTokenExpiryOverride(t *testing.T) {
	cases := []struct {
		allowed bool
		ms      string
		want    string
	}{
		{true, "100000", "100"},
		{true, "500000", "500"},
		{true, "700000", "599"},
		{true, "1000000", "599"},
		{true, "", "599"},
		{true, "abc", "599"},
		{true, "-5", "599"},
		{true, "1500", "1"},
		{false, "100000", "599"},
	}
	for _, c := range cases {
		t.Run(c.ms+"/"+strconv.FormatBool(c.allowed), func(t *testing.T) {
			e := newTestEnv(t, func(cfg *Config) { cfg.Apps[0].CanOverrideTokenExpiry = c.allowed })
			f := form(e.sign(e.claims(), signOpts{}))
			if c.ms != "" {
				f.Set("_access_token_expiry_ms", c.ms)
			}
			res := e.post(f)
			var m map[string]string
			if err := json.Unmarshal(res.body, &m); err != nil || res.status != 200 {
				t.Fatalf("%d %s", res.status, res.body)
			}
			if m["expires_in"] != c.want {
				t.Errorf("expires_in = %q, want %q", m["expires_in"], c.want)
			}
			n, _ := strconv.Atoi(c.want)
			tok := m["access_token"]
			hdr := map[string]string{"Authorization": "Bearer " + tok, "X-Request-ID": uuid.NewString()}
			e.clock.Advance(time.Duration(n)*time.Second - time.Millisecond)
			if r := e.get(PDSBasePath+"/Patient/9000000009", hdr); r.status != 200 {
				t.Errorf("just before expiry: %d %s", r.status, r.body)
			}
			e.clock.Advance(time.Millisecond)
			if r := e.get(PDSBasePath+"/Patient/9000000009", hdr); r.status != 401 {
				t.Errorf("at expiry: %d %s", r.status, r.body)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newTestEnv(t, nil)
	f := form(strings.Repeat("a", maxFormBytes))
	res := e.post(f)
	if res.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", res.status)
	}
}

// TestAudience: aud is a string equal to the token URL, or an array (RFC
// 7519 §4.1.3) containing it [I]; anything else is row 25.
func TestAudience(t *testing.T) {
	e := newTestEnv(t, nil)
	url := e.tokenURL()
	for _, c := range []struct {
		name string
		aud  any
		ok   bool
	}{
		{"string", url, true},
		{"array containing", []any{url}, true},
		{"array containing among others", []any{"https://other/oauth2/token", 7, url}, true},
		{"string not equal", url + "/", false},
		{"array not containing", []any{"https://other/oauth2/token", url + "/"}, false},
		{"empty array", []any{}, false},
		{"number", 12, false},
		{"null", jsonNull{}, false},
		{"object", map[string]any{"aud": url}, false},
		{"array of non-strings", []any{1, true, nil}, false},
		{"nested array", []any{[]any{url}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := e.post(form(e.sign(with(e.claims(), "aud", c.aud), signOpts{})))
			if c.ok {
				if res.status != http.StatusOK {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				return
			}
			assertTokenError(t, res, 401, "invalid_request", descAud)
		})
	}
}
