package webapp_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/webapp"
)

// testKey is one RS512 key for every test: 2048 bits keeps the tests fast
// (the emulator, like NHS's verifier, checks the signature, not the size).
var testKey = sync.OnceValues(func() (*keys.Key, error) { return keys.Generate("RS512", 2048) })

func key(t testing.TB) *keys.Key {
	t.Helper()
	k, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// stack is the emulator and the web app, both on 127.0.0.1.
type stack struct {
	emu      *emulator.Server
	emuSrv   *httptest.Server
	ts       *pkjwt.TokenSource
	keys     *swapRing // the token source's keys, which the app publishes
	app      *webapp.App
	web      *httptest.Server
	logs     *testutil.SyncBuffer
	clientID string
}

type stackOptions struct {
	unregistered bool   // do not register the app with the emulator
	callPath     string // relative to the PDS base; "" = the default
}

// swapRing is a key source whose ring a test replaces, as a key
// directory's reload does.
type swapRing struct{ p atomic.Pointer[keys.Ring] }

func newSwapRing(ks ...*keys.Key) *swapRing {
	s := &swapRing{}
	s.p.Store(keys.NewRing(ks...))
	return s
}

func (s *swapRing) Ring() *keys.Ring               { return s.p.Load() }
func (s *swapRing) SigningKey() (*keys.Key, error) { return s.Ring().SigningKey() }
func (s *swapRing) swap(ks ...*keys.Key)           { s.p.Store(keys.NewRing(ks...)) }

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	k := key(t)
	s := &stack{logs: &testutil.SyncBuffer{}, clientID: "webappTestClient0123456789abcdef"}
	log := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	s.emu, err = emulator.New(emulator.Config{Logger: log.With("component", "emulator")})
	if err != nil {
		t.Fatal(err)
	}
	s.emuSrv = httptest.NewServer(s.emu.Handler())
	t.Cleanup(s.emuSrv.Close)
	s.keys = newSwapRing(k)
	s.ts, err = pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(s.emuSrv.URL), ClientID: s.clientID, Keys: s.keys})
	if err != nil {
		t.Fatal(err)
	}
	cfg := webapp.Config{TokenSource: s.ts, Logger: log.With("component", "webapp")}
	if o.callPath != "" {
		cfg.CallURL = s.ts.Config().Profile.APIBaseURL + "/" + o.callPath
	}
	s.app, err = webapp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.web = httptest.NewServer(s.app.Handler())
	t.Cleanup(s.web.Close)
	if !o.unregistered {
		err = s.emu.AddApp(emulator.App{Name: "webapp test", APIKey: s.clientID,
			JWKSURL: s.web.URL + jwks.Path, Scopes: []string{emulator.PDSScope}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *stack) get(t *testing.T, method, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.web.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// cachedToken returns the token the app's token source holds: the one the
// app used (tokens last 599 s, far longer than a test).
func (s *stack) cachedToken(t *testing.T) string {
	t.Helper()
	tok, err := s.ts.TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
	}
}

func TestIndexShowsConfigurationAndNoSecret(t *testing.T) {
	s := newStack(t, stackOptions{})
	resp, body := s.get(t, "GET", "/")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	k := key(t)
	mustContain(t, body,
		"local", s.ts.Config().TokenURL, s.clientID, k.ID,
		s.web.URL+jwks.Path,
		s.emuSrv.URL+"/personal-demographics/FHIR/R4/Patient/9000000009",
		`href="/system-to-system"`)
	for _, secret := range []string{"PRIVATE KEY", "BEGIN", `"d":`, "access_token", "client_assertion="} {
		if strings.Contains(body, secret) {
			t.Errorf("index page contains %q", secret)
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if strings.Contains(body, string(pemBytes[40:80])) {
		t.Error("index page contains part of the private key")
	}
}

func TestSystemToSystemCallShowsPatient(t *testing.T) {
	s := newStack(t, stackOptions{})
	resp, body := s.get(t, "GET", "/system-to-system")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d\n%s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	mustContain(t, body, "200 OK", "Jane", "Smith", "Mrs Jane Smith MBE", "9000000009", "2010-10-22", "female",
		"Y12345", "1 Trevelyan Square", "LS1 6AE", "<details>", "raw-json", key(t).ID, "9m59s")
	tok := s.cachedToken(t)
	if strings.Contains(body, tok) {
		t.Fatal("the call page contains the access token")
	}
	// A second call uses the cached token: the emulator sees one token request.
	_, body2 := s.get(t, "GET", "/system-to-system")
	if !strings.Contains(body2, "Jane") || strings.Contains(body2, tok) {
		t.Fatal("second call: no patient, or the token on the page")
	}
	if n := strings.Count(s.logs.String(), "path=/oauth2/token"); n != 1 {
		t.Errorf("%d token requests for two calls, want 1 (cached)", n)
	}
	assertTokenNotLogged(t, s, tok)
}

func assertTokenNotLogged(t *testing.T, s *stack, tok string) {
	t.Helper()
	logs := s.logs.String()
	if !strings.Contains(logs, "path=/system-to-system") {
		t.Fatalf("no request line logged:\n%s", logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, tok) || strings.Contains(line, tok[:16]) {
			t.Fatalf("a log line contains the access token: %s", line)
		}
		if strings.Contains(line, "eyJ") { // a JWS: the client assertion
			t.Fatalf("a log line contains a JWT: %s", line)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/", 200},
		{"HEAD", "/", 200},
		{"GET", "/system-to-system", 200},
		{"GET", jwks.Path, 200},
		{"GET", "/healthz", 200},
		{"GET", "/readyz", 200},
		{"GET", "/static/style.css", 200},
		{"GET", "/no/such/page", 404},
		{"GET", "/static/", 404},
		{"POST", "/", 405},
		{"POST", "/system-to-system", 405},
		{"HEAD", "/system-to-system", 405},
		{"DELETE", jwks.Path, 405},
	} {
		resp, body := s.get(t, c.method, c.path)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
		for h, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s %s: %s = %q, want %q", c.method, c.path, h, got, want)
			}
		}
		if c.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
		if (c.status == 404 || c.status == 405) && c.method != "HEAD" && !strings.Contains(body, "<h1>") {
			t.Errorf("%s %s: error is not an HTML page: %q", c.method, c.path, body)
		}
	}
	resp, body := s.get(t, "GET", "/")
	if strings.Contains(body, "<script") || strings.Contains(body, "http://cdn") || strings.Contains(body, "https://") {
		t.Error("index page loads a script or an outside resource")
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	resp, _ = s.get(t, "GET", "/static/style.css")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("stylesheet Content-Type %q", ct)
	}
}

func TestJWKSIsTheRingsBytes(t *testing.T) {
	s := newStack(t, stackOptions{})
	want, err := jwks.MarshalRing(s.keys.Ring())
	if err != nil {
		t.Fatal(err)
	}
	resp, body := s.get(t, "GET", jwks.Path)
	if resp.StatusCode != 200 || body != string(want) {
		t.Fatalf("JWKS status %d\n got %s\nwant %s", resp.StatusCode, body, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestReadiness(t *testing.T) {
	s := newStack(t, stackOptions{})
	resp, body := s.get(t, "GET", "/readyz")
	if resp.StatusCode != 200 || !strings.Contains(body, "ready") {
		t.Fatalf("readyz %d %q", resp.StatusCode, body)
	}
	resp, body = s.get(t, "GET", "/healthz")
	if resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", resp.StatusCode, body)
	}

	// The key source reloads a ring whose only key is pending (published,
	// not yet signing).
	pending, err := keys.Generate("ES256", 0)
	if err != nil {
		t.Fatal(err)
	}
	pending.State = keys.StatePending
	s.keys.swap(pending)
	resp, body = s.get(t, "GET", "/readyz")
	if resp.StatusCode != 503 || !strings.Contains(body, "no key can sign now") {
		t.Fatalf("readyz with a pending key only: %d %q", resp.StatusCode, body)
	}
	s3 := s
	s3.keys.swap()
	resp, body = s3.get(t, "GET", "/readyz")
	if resp.StatusCode != 503 || !strings.Contains(body, "no keys loaded") {
		t.Fatalf("readyz with no keys: %d %q", resp.StatusCode, body)
	}
	if _, idx := s3.get(t, "GET", "/"); !strings.Contains(idx, "none") {
		t.Error("index with no keys should say none are published")
	}
	// Liveness does not depend on readiness.
	if resp, _ := s3.get(t, "GET", "/healthz"); resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
}

func TestTokenErrorRendered(t *testing.T) {
	s := newStack(t, stackOptions{unregistered: true})
	resp, body := s.get(t, "GET", "/system-to-system")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	mustContain(t, body, "HTTP 401", "error", "invalid_request", "error_description",
		"Invalid &#39;iss&#39;/&#39;sub&#39; claims in client_assertion JWT", "message_id", `id="token-error-message-id"`)
	if strings.Contains(body, "Jane") || strings.Contains(body, "API response") {
		t.Error("an API call was shown after a token error")
	}
	if !strings.Contains(s.logs.String(), "message_id=") {
		t.Error("the token error's message_id was not logged")
	}
}

func TestAPIErrorRendered(t *testing.T) {
	t.Run("invalid NHS number", func(t *testing.T) {
		s := newStack(t, stackOptions{callPath: "Patient/9000000000"})
		resp, body := s.get(t, "GET", "/system-to-system")
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("status %d, want 502", resp.StatusCode)
		}
		mustContain(t, body, "400 Bad Request", "OperationOutcome", "INVALID_RESOURCE_ID", "Resource Id is invalid", "<code>value</code>")
		if strings.Contains(body, s.cachedToken(t)) {
			t.Fatal("page contains the token")
		}
	})
	t.Run("search with diagnostics", func(t *testing.T) {
		s := newStack(t, stackOptions{callPath: "Patient?family=Smith&_max-results=5"})
		_, body := s.get(t, "GET", "/system-to-system")
		mustContain(t, body, "403 Forbidden", "INVALID_VALUE",
			"Your app has insufficient permissions to perform this search. Please contact support.")
		tok := s.cachedToken(t)
		if strings.Contains(body, tok) {
			t.Fatal("page contains the token")
		}
		assertTokenNotLogged(t, s, tok)
	})
}

func TestAPIUnreachable(t *testing.T) {
	s := newStack(t, stackOptions{})
	// A token first, then the API goes away: the page shows a transport error.
	s.cachedToken(t)
	s.emuSrv.Close()
	resp, body := s.get(t, "GET", "/system-to-system")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, `id="call-error"`) {
		t.Fatalf("status %d\n%s", resp.StatusCode, body)
	}
}

// keyOnly is a key source that is neither a key nor a ring source.
type keyOnly struct{ k *keys.Key }

func (s keyOnly) SigningKey() (*keys.Key, error) { return s.k, nil }

func TestNewChecksConfig(t *testing.T) {
	k := key(t)
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(""), ClientID: "x", Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	keyOnlyTS, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(""), ClientID: "x", Keys: keyOnly{k}})
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]webapp.Config{
		"no token source":          {},
		"keys without a ring":      {TokenSource: keyOnlyTS},
		"relative call":            {TokenSource: ts, CallURL: "Patient/9000000009"},
		"user info":                {TokenSource: ts, CallURL: "https://u:p@example.org/x"},
		"bad public URL":           {TokenSource: ts, PublicURL: "example.org"},
		"http to a remote host":    {TokenSource: ts, CallURL: "http://api.example.org/Patient/9000000009"},
		"http to a remote IP":      {TokenSource: ts, CallURL: "http://192.0.2.10:8080/Patient/9000000009"},
		"http to a 127 look-alike": {TokenSource: ts, CallURL: "http://127.0.0.1.example.org/x"},
		"http to localhost.evil":   {TokenSource: ts, CallURL: "http://localhost.example.org/x"},
	} {
		if _, err := webapp.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	for _, ok := range []string{
		"https://api.example.org/Patient/9000000009", "http://127.0.0.1:9000/x", "http://127.8.9.10/x",
		"http://[::1]:9000/x", "http://localhost:9000/x", "http://LOCALHOST/x",
	} {
		if _, err := webapp.New(webapp.Config{TokenSource: ts, CallURL: ok}); err != nil {
			t.Errorf("CallURL %s refused: %v", ok, err)
		}
	}
	if _, err := webapp.New(webapp.Config{TokenSource: ts, CallURL: "http://api.example.org/x"}); err == nil ||
		!strings.Contains(err.Error(), "clear text") {
		t.Errorf("http to a remote host: error %v, want one that explains the clear-text token", err)
	}
	app, err := webapp.New(webapp.Config{TokenSource: ts})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := app.CallURL(), pkjwt.Local("").APIBaseURL+"/Patient/9000000009"; got != want {
		t.Errorf("CallURL %q, want %q", got, want)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	s := newStack(t, stackOptions{})
	srv := webapp.NewServer(s.app.Handler())
	if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 || srv.MaxHeaderBytes == 0 {
		t.Fatal("a server timeout is unset")
	}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- webapp.Serve(ctx, srv, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// An API that echoes the request's Authorization header must not put the
// token on the page: the app redacts it from everything it shows.
func TestEchoedTokenIsRedacted(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Header().Set("X-Request-ID", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"value","diagnostics":%q}]}`,
			"you sent "+r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	s := newStack(t, stackOptions{})
	app, err := webapp.New(webapp.Config{TokenSource: s.ts, CallURL: echo.URL + "/Patient/9000000009"})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(app.Handler())
	defer web.Close()
	resp, err := http.Get(web.URL + "/system-to-system")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := s.cachedToken(t)
	if strings.Contains(string(body), tok) {
		t.Fatal("the page shows the token the API echoed")
	}
	if n := strings.Count(string(body), "[access token removed]"); n < 3 { // header, diagnostics, raw JSON
		t.Fatalf("redaction marker found %d times, want 3\n%s", n, body)
	}
}

// TestRefreshedTokenEchoIsRedacted: the API rejects the first token with a
// 401, so the Transport fetches a second one and retries; the API then
// echoes the second token. Neither token may reach the page, whether the
// app uses its own client or one given in Config.HTTPClient.
func TestRefreshedTokenEchoIsRedacted(t *testing.T) {
	for _, own := range []bool{true, false} {
		t.Run(fmt.Sprintf("own client %v", own), func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				mu.Lock()
				seen = append(seen, strings.TrimPrefix(auth, "Bearer "))
				first := len(seen) == 1
				mu.Unlock()
				w.Header().Set("Content-Type", "application/fhir+json")
				if first {
					w.WriteHeader(http.StatusUnauthorized)
					io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"Invalid Access Token"}]}`)
					return
				}
				w.Header().Set("X-Request-ID", auth)
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"value","diagnostics":%q}],"echo":%q}`,
					"you sent "+auth, auth)
			}))
			defer api.Close()
			s := newStack(t, stackOptions{})
			cfg := webapp.Config{TokenSource: s.ts, CallURL: api.URL + "/Patient/9000000009"}
			if !own {
				cfg.HTTPClient = pkjwt.NewClient(s.ts)
			}
			app, err := webapp.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			web := httptest.NewServer(app.Handler())
			defer web.Close()
			resp, err := http.Get(web.URL + "/system-to-system")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			toks := append([]string(nil), seen...)
			mu.Unlock()
			if len(toks) != 2 || toks[0] == toks[1] || toks[1] != s.cachedToken(t) {
				t.Fatalf("the API saw %d requests; want a 401 then a retry with a new token", len(toks))
			}
			for i, tok := range toks {
				if strings.Contains(string(body), tok) {
					t.Errorf("the page shows token %d (of 2) that the API echoed", i+1)
				}
			}
			if n := strings.Count(string(body), "[access token removed]"); n < 4 { // header, diagnostics, raw JSON twice
				t.Errorf("redaction marker found %d times, want 4\n%s", n, body)
			}
		})
	}
}

// TestHostCheck: against DNS rebinding, the app answers only requests whose
// Host is loopback or PublicURL's host; others get a 421 page (health
// probes excepted).
func TestHostCheck(t *testing.T) {
	k := key(t)
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(""), ClientID: "x", Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		publicURL, host, path string
		want                  int
	}{
		{"", "127.0.0.1:8080", "/", 200},
		{"", "127.9.9.9", "/", 200},
		{"", "localhost:8080", "/", 200},
		{"", "LocalHost", "/", 200},
		{"", "[::1]:8080", "/", 200},
		{"", "[::1]", "/", 200},
		{"", "attacker.example:8080", "/", 421},
		{"", "attacker.example:8080", "/system-to-system", 421},
		{"", "attacker.example:8080", jwks.Path, 421},
		{"", "attacker.example:8080", "/nowhere", 421},
		{"", "192.0.2.1:8080", "/", 421},
		{"", "localhost.attacker.example", "/", 421},
		{"", "127.0.0.1.attacker.example", "/", 421},
		{"", "", "/", 421},
		{"", "attacker.example", "/healthz", 200},
		{"", "attacker.example", "/readyz", 200},
		{"https://app.example.org", "app.example.org", "/", 200},
		{"https://app.example.org", "APP.example.org:443", "/", 200},
		{"https://app.example.org", "app.example.org:8443", "/", 421},
		{"https://app.example.org", "attacker.example", "/system-to-system", 421},
		{"https://app.example.org", "127.0.0.1:8080", "/", 200},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", "/", 200},
		{"http://127.0.0.1:8080", "localhost:8080", "/", 200},
		{"http://127.0.0.1:8080", "attacker.example:8080", "/", 421},
		{"http://app.internal:8080", "app.internal:8080", "/", 200},
		{"http://app.internal:8080", "app.internal", "/", 421},
	} {
		app, err := webapp.New(webapp.Config{TokenSource: ts, PublicURL: c.publicURL})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		req.Host = c.host
		rec := httptest.NewRecorder()
		app.Handler().ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("PublicURL %q, Host %q, %s: status %d, want %d", c.publicURL, c.host, c.path, rec.Code, c.want)
			continue
		}
		if c.want == 421 {
			if body := rec.Body.String(); !strings.Contains(body, "loopback") || strings.Contains(body, "attacker") {
				t.Errorf("Host %q: 421 page %q: want a short explanation that does not echo the Host", c.host, body)
			}
		}
	}
}

// TestCrossSiteCallRefused: a page on another site cannot make a visitor's
// browser run the System to System Call (and spend tokens and API quota).
func TestCrossSiteCallRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	cases := []struct {
		site       string
		wantStatus int
	}{
		{"cross-site", http.StatusForbidden},
		{"same-origin", http.StatusOK},
		{"none", http.StatusOK}, // typed into the address bar
		{"", http.StatusOK},     // not a browser
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", s.web.URL+"/system-to-system", nil)
		if tc.site != "" {
			req.Header.Set("Sec-Fetch-Site", tc.site)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("Sec-Fetch-Site %q: %d, want %d", tc.site, resp.StatusCode, tc.wantStatus)
		}
	}
	if n := strings.Count(s.logs.String(), "system-to-system call"); n != 3 {
		t.Errorf("%d calls made, want 3 (none for the cross-site request)", n)
	}
}
