package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/pkjwt/pkjwt/internal/testutil"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Now().Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// genKey generates a test RSA key; test keys are never committed.
func genKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jwksServer serves a JWKS on 127.0.0.1 and counts the GETs.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	status  int
	delay   time.Duration
	gets    atomic.Int64
	lastUA  atomic.Value
	rawBody []byte
}

func newJWKSServer(t testing.TB) *jwksServer {
	t.Helper()
	js := &jwksServer{status: http.StatusOK}
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.gets.Add(1)
		js.lastUA.Store(r.UserAgent())
		js.mu.Lock()
		delay, status, raw := js.delay, js.status, js.rawBody
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), js.keys...)}
		js.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if raw != nil {
			_, _ = w.Write(raw)
			return
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(js.Close)
	return js
}

// addKey publishes the public half of k under kid.
func (js *jwksServer) addKey(kid string, pub any) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.keys = append(js.keys, jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: "RS512", Use: "sig"})
}

func (js *jwksServer) set(f func(js *jwksServer)) {
	js.mu.Lock()
	defer js.mu.Unlock()
	f(js)
}

func (js *jwksServer) url() string { return js.URL + "/.well-known/jwks.json" }

// testEnv is an emulator on 127.0.0.1 with one approved PDS app.
type testEnv struct {
	t      testing.TB
	clock  *fakeClock
	srv    *Server
	ts     *httptest.Server
	jwks   *jwksServer
	key    *rsa.PrivateKey
	kid    string
	apiKey string
	logs   *testutil.SyncBuffer
}

var sharedKeys struct {
	once sync.Once
	a, b *rsa.PrivateKey
}

// testKeys returns two 2048-bit keys shared by the tests of one run.
func testKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	sharedKeys.once.Do(func() {
		sharedKeys.a = genKey(t, 2048)
		sharedKeys.b = genKey(t, 2048)
	})
	return sharedKeys.a, sharedKeys.b
}

// newTestEnv starts an emulator. mod may change the config before New; the
// PublicURL is set to the httptest server's URL.
func newTestEnv(t testing.TB, mod func(*Config)) *testEnv {
	t.Helper()
	key, _ := testKeys(t)
	e := &testEnv{t: t, clock: newFakeClock(), key: key, kid: "test-1", apiKey: "emu-app-key-1", logs: &testutil.SyncBuffer{}}
	e.jwks = newJWKSServer(t)
	e.jwks.addKey(e.kid, &key.PublicKey)
	e.ts = httptest.NewUnstartedServer(nil)
	e.ts.Start()
	t.Cleanup(e.ts.Close)
	cfg := Config{
		PublicURL: e.ts.URL,
		Apps:      []App{{Name: "Test App", APIKey: e.apiKey, JWKSURL: e.jwks.url(), Scopes: []string{PDSScope}}},
		Now:       e.clock.Now,
		Logger:    slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.ts.Config.Handler = srv.Handler()
	return e
}

func (e *testEnv) tokenURL() string { return e.ts.URL + TokenPath }

// claims returns NHS's reference claims (docs/nhs-reference.md, "Token endpoint").
func (e *testEnv) claims() map[string]any {
	return map[string]any{
		"iss": e.apiKey, "sub": e.apiKey, "aud": e.tokenURL(),
		"jti": uuid.NewString(), "exp": e.clock.Now().Unix() + 300,
	}
}

// signOpts describes how a test assertion is signed.
type signOpts struct {
	alg    jose.SignatureAlgorithm // default RS512
	key    any                     // default e.key
	kid    *string                 // default e.kid; pointer to "" drops it
	typ    *string                 // default "JWT"; pointer to "" drops it
	header map[jose.HeaderKey]any
}

func strp(s string) *string { return &s }

// sign builds a compact JWS with go-jose.
func (e *testEnv) sign(claims map[string]any, o signOpts) string {
	e.t.Helper()
	if o.alg == "" {
		o.alg = jose.RS512
	}
	key := o.key
	if key == nil {
		key = e.key
	}
	kid := e.kid
	if o.kid != nil {
		kid = *o.kid
	}
	opts := &jose.SignerOptions{}
	if o.typ == nil {
		opts = opts.WithType("JWT")
	} else if *o.typ != "" {
		opts = opts.WithType(jose.ContentType(*o.typ))
	}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	for k, v := range o.header {
		opts = opts.WithHeader(k, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: o.alg, Key: key}, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// form returns a valid token request form for an assertion.
func form(assertion string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {ClientAssertionType},
		"client_assertion":      {assertion},
	}
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

func (e *testEnv) do(req *http.Request) httpResult {
	e.t.Helper()
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return httpResult{resp.StatusCode, resp.Header, b}
}

func (e *testEnv) post(f url.Values) httpResult {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.tokenURL(), strings.NewReader(f.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

// token gets a valid access token.
func (e *testEnv) token() string {
	e.t.Helper()
	res := e.post(form(e.sign(e.claims(), signOpts{})))
	if res.status != http.StatusOK {
		e.t.Fatalf("token: status %d: %s", res.status, res.body)
	}
	var tr map[string]string
	if err := json.Unmarshal(res.body, &tr); err != nil {
		e.t.Fatal(err)
	}
	return tr["access_token"]
}

// pdsGet sends a GET with the given headers (nil values are omitted).
func (e *testEnv) get(path string, headers map[string]string) httpResult {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	return e.do(req)
}

// assertTokenError checks an NHS JSON error: status, exactly the three
// members, error and error_description exact, message_id present.
func assertTokenError(t testing.TB, res httpResult, status int, wantErr, wantDesc string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(res.body, &m); err != nil {
		t.Fatalf("body %q: %v", res.body, err)
	}
	if len(m) != 3 {
		t.Errorf("body has %d members, want 3: %s", len(m), res.body)
	}
	if m["error"] != wantErr {
		t.Errorf("error = %q, want %q", m["error"], wantErr)
	}
	if m["error_description"] != wantDesc {
		t.Errorf("error_description = %q, want %q", m["error_description"], wantDesc)
	}
	if id, _ := m["message_id"].(string); !strings.HasPrefix(id, "rrt-") || len(id) < 10 {
		t.Errorf("message_id = %q", m["message_id"])
	}
}
