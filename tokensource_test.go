package pkjwt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
)

// Compile-time check: *TokenSource is an oauth2.TokenSource.
var _ oauth2.TokenSource = (*pkjwt.TokenSource)(nil)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock               { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

func newSource(t *testing.T, srv *tokenServer, mod func(*pkjwt.Config)) *pkjwt.TokenSource {
	t.Helper()
	cfg := pkjwt.Config{Profile: pkjwt.Local(srv.URL), ClientID: srv.clientID, Keys: testKey()}
	if mod != nil {
		mod(&cfg)
	}
	ts, err := pkjwt.NewTokenSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestTokenSourceSendsVerifiableAssertions(t *testing.T) {
	srv := newTokenServer(t, testKey(), "client-123")
	clk := newClock()
	srv.now = clk.Now
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.Now = clk.Now })
	for i := 0; i < 3; i++ {
		tok, err := ts.Token()
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if want := fmt.Sprintf("tok-%d", i+1); tok.AccessToken != want {
			t.Fatalf("fetch %d: token %q, want %q (cache should be empty after expiry)", i, tok.AccessToken, want)
		}
		info := pkjwt.Info(tok)
		if info == nil || info.ExpiresIn != 599 || info.KeyID != testKey().ID || info.TokenType != "Bearer" {
			t.Fatalf("info %+v", info)
		}
		if got := info.Expiry.Sub(info.ReceivedAt); got != 599*time.Second {
			t.Fatalf("expiry - received = %s, want 599s from the string expires_in", got)
		}
		clk.Add(600 * time.Second) // past expiry: the next call must fetch
		ts.SyncClock()             // the tick the moved wall clock would get within 250 ms
	}
	seen := srv.assertions()
	if len(seen) != 3 {
		t.Fatalf("%d requests, want 3", len(seen))
	}
	jtis := map[string]bool{}
	for _, s := range seen {
		if s.Err != "" {
			t.Fatalf("endpoint rejected an assertion: %s", s.Err)
		}
		jtis[s.JTI] = true
	}
	if len(jtis) != 3 {
		t.Fatalf("jtis not unique: %v", jtis)
	}
}

func TestTokenSourceCachesUntilRefreshTime(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	clk := newClock()
	srv.now = clk.Now
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.Now = clk.Now })
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	// 599 s token: refresh time is 599 - min(599/5, 60) = 539 s.
	clk.Add(538 * time.Second)
	ts.SyncClock() // the tick the moved wall clock would get within 250 ms
	if tok, _ := ts.Token(); tok != first || srv.requests.Load() != 1 {
		t.Fatalf("at 538 s: a new request was made (%d)", srv.requests.Load())
	}
	clk.Add(2 * time.Second) // 540 s: early-refresh window, old token still valid
	ts.SyncClock()           // the tick the moved wall clock would get within 250 ms
	if tok, _ := ts.Token(); tok != first {
		t.Fatal("in the early-refresh window the cached token must be served at once")
	}
	waitFor(t, func() bool { return srv.requests.Load() == 2 })
	waitFor(t, func() bool { tok, _ := ts.Token(); return tok.AccessToken == "tok-2" })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestThousandCallersOneRequest: 1,000 concurrent callers with an expired
// cache cause exactly one token request, and all get its token.
func TestThousandCallersOneRequest(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	clk := newClock()
	const callers = 1000
	var entered atomic.Int64
	srv.reply = func(n int64, w http.ResponseWriter) {
		if n > 1 { // the first fetch fills the cache; hold the second until every caller waits
			deadline := time.Now().Add(5 * time.Second)
			for entered.Load() < callers && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":599,"token_type":"bearer"}`, n)
	}
	srv.now = clk.Now
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.Now = clk.Now })
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour) // the cached token has expired
	ts.SyncClock()     // the tick the moved wall clock would get within 250 ms
	var wg sync.WaitGroup
	tokens := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			entered.Add(1)
			tok, err := ts.TokenContext(context.Background())
			errs[i] = err
			if tok != nil {
				tokens[i] = tok.AccessToken
			}
		})
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || tokens[i] != "tok-2" {
			t.Fatalf("caller %d: %q, %v", i, tokens[i], errs[i])
		}
	}
	if got := srv.requests.Load(); got != 2 {
		t.Fatalf("%d token requests for 1,000 callers at expiry, want exactly 1 (plus the first fill)", got-1)
	}
}

// TestCachedReadDoesNotWaitForRefresh: while a refresh is stuck on the
// network, callers with a valid cached token are answered at once.
func TestCachedReadDoesNotWaitForRefresh(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	clk := newClock()
	release := make(chan struct{})
	srv.reply = func(n int64, w http.ResponseWriter) {
		if n == 2 {
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":"599","token_type":"Bearer"}`, n)
	}
	defer close(release)
	srv.now = clk.Now
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.Now = clk.Now })
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(550 * time.Second) // early-refresh window
	ts.SyncClock()             // the tick the moved wall clock would get within 250 ms
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			tok, err := ts.TokenContext(ctx)
			cancel()
			if err != nil || tok != first {
				t.Errorf("got %v, %v; want the cached token", tok, err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("cached reads blocked behind the refresh")
	}
	waitFor(t, func() bool { return srv.requests.Load() == 2 })
	time.Sleep(50 * time.Millisecond)
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d requests, want 2 (the fill and one refresh)", n)
	}
}

// TestFailedBackgroundRefresh: when the refresh in the early-refresh
// window fails, the still-valid token is served, the failure is not retried
// at once, and once the token is no longer valid the caller gets the error.
func TestFailedBackgroundRefresh(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	srv.reply = func(n int64, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		if n > 1 {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_request","error_description":"refused"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":"599","token_type":"Bearer"}`, n)
	}
	clk := newClock()
	srv.now = clk.Now
	// 599 s token: refresh from 539 s, handed out until 589 s.
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.Now = clk.Now })
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(540 * time.Second)
	ts.SyncClock()
	if tok, err := ts.Token(); tok != first || err != nil {
		t.Fatalf("in the refresh window: %v, %v; want the cached token", tok, err)
	}
	waitFor(t, func() bool { return srv.requests.Load() == 2 })
	// The failed refresh settles: calls keep getting the valid token and
	// send nothing until the retry time (5-10 s later).
	waitFor(t, func() bool { tok, err := ts.Token(); return tok == first && err == nil })
	for range 10 {
		if tok, err := ts.Token(); tok != first || err != nil {
			t.Fatalf("after a failed refresh, still valid: %v, %v; want the cached token", tok, err)
		}
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d requests: a failed refresh was retried at once", n)
	}
	clk.Add(50 * time.Second) // 590 s: no longer handed out
	ts.SyncClock()
	_, err = ts.Token()
	var te *pkjwt.TokenError
	if !errors.As(err, &te) || te.Description != "refused" {
		t.Fatalf("after validity: %v, want the token endpoint's error", err)
	}
}

// TestCacheFollowsWallClockJump is a host or VM resuming from a pause: the
// wall clock (Config.Now) jumps past the token's expiry while no timer
// fires for it (the monotonic clock did not move). Nobody tells the source
// (no SyncClock): within about a second callers get a new token, and
// never the old one after that.
func TestCacheFollowsWallClockJump(t *testing.T) {
	cases := []struct {
		name string
		jump time.Duration
		want string // the token callers get after the jump
	}{
		{"past expiry", time.Hour, "tok-2"},
		{"into the early-refresh window", 545 * time.Second, "tok-2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTokenServer(t, testKey(), "c")
			clk := newClock()
			srv.now = clk.Now
			ts := newSource(t, srv, func(c *pkjwt.Config) { c.Now = clk.Now })
			first, err := ts.Token()
			if err != nil {
				t.Fatal(err)
			}
			// Cached reads start the coarse clock's ticks, as in a
			// process that serves requests when the host pauses.
			for range 3 {
				if tok, err := ts.Token(); tok != first || err != nil {
					t.Fatalf("cached read: %v, %v", tok, err)
				}
			}
			clk.Add(tc.jump)
			resumed := time.Now()
			for {
				tok, err := ts.Token()
				if err != nil {
					t.Fatal(err)
				}
				if tok.AccessToken == tc.want {
					break
				}
				if tok != first {
					t.Fatalf("got %q, want the cached token or %s", tok.AccessToken, tc.want)
				}
				if waited := time.Since(resumed); waited > time.Second {
					t.Fatalf("still served the old token %s after the wall clock moved (bound: about 1 s)", waited)
				}
				time.Sleep(time.Millisecond)
			}
			t.Logf("new token %s after the jump", time.Since(resumed).Round(time.Millisecond))
			for range 100 {
				if tok, _ := ts.Token(); tok.AccessToken != tc.want {
					t.Fatalf("after the new token, got %q", tok.AccessToken)
				}
			}
		})
	}
}

// TestLiveSourcesRunNoGoroutine: a TokenSource has no Close, so its clock
// must not cost a goroutine: 50 sources in use, their clocks ticking, leave
// no goroutine beside those that were there before (the clock's timer runs
// its function only for the moment of a tick).
func TestLiveSourcesRunNoGoroutine(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	warm := newSource(t, srv, func(c *pkjwt.Config) { c.HTTPClient = hc })
	if _, err := warm.Token(); err != nil { // opens the keep-alive connection
		t.Fatal(err)
	}
	before := goleak.IgnoreCurrent()
	sources := make([]*pkjwt.TokenSource, 50)
	for i := range sources {
		sources[i] = newSource(t, srv, func(c *pkjwt.Config) { c.HTTPClient = hc })
		for range 3 {
			if _, err := sources[i].Token(); err != nil {
				t.Fatal(err)
			}
		}
	}
	goleak.VerifyNone(t, before)
	runtime.KeepAlive(sources)
}

func TestTokenErrors(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		ctype      string
		body       string
		wantStatus int
		wantCode   string
		wantDesc   string
		wantMsgID  string
		wantReqs   int64
		wantErrIs  error
	}{
		{
			name: "nhs aud", status: 401, ctype: "application/json",
			body:       `{"error":"invalid_request","error_description":"Missing or invalid 'aud' claim in client_assertion JWT","message_id":"rrt-1-a-2"}`,
			wantStatus: 401, wantCode: "invalid_request", wantDesc: "Missing or invalid 'aud' claim in client_assertion JWT", wantMsgID: "rrt-1-a-2", wantReqs: 1,
		},
		{
			name: "400 not retried", status: 400, ctype: "application/json;charset=UTF-8",
			body:       `{"error":"invalid_request","error_description":"Non-unique 'jti' claim in client_assertion JWT","message_id":"m"}`,
			wantStatus: 400, wantCode: "invalid_request", wantDesc: "Non-unique 'jti' claim in client_assertion JWT", wantMsgID: "m", wantReqs: 1,
		},
		{
			name: "503 retried with fresh assertions", status: 503, ctype: "text/html",
			body: "<html>down</html>", wantStatus: 503, wantReqs: 3,
		},
		{
			name: "wrong token type", status: 200, ctype: "application/json",
			body: `{"access_token":"x","token_type":"N_A","expires_in":60}`, wantErrIs: pkjwt.ErrTokenResponse, wantReqs: 1,
		},
		{
			name: "no access token", status: 200, ctype: "application/json",
			body: `{"token_type":"Bearer","expires_in":"599"}`, wantErrIs: pkjwt.ErrTokenResponse, wantReqs: 1,
		},
		{
			name: "not json", status: 200, ctype: "application/json",
			body: `access_token=x`, wantErrIs: pkjwt.ErrTokenResponse, wantReqs: 1,
		},
		{
			name: "over 1 MiB", status: 200, ctype: "application/json",
			body: `{"access_token":"` + strings.Repeat("a", 1<<20) + `"}`, wantErrIs: pkjwt.ErrTokenResponse, wantReqs: 1,
		},
		{
			name: "bad expires_in", status: 200, ctype: "application/json",
			body: `{"access_token":"x","token_type":"Bearer","expires_in":"soon"}`, wantErrIs: pkjwt.ErrTokenResponse, wantReqs: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTokenServer(t, testKey(), "c")
			srv.reply = func(n int64, w http.ResponseWriter) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}
			ts := newSource(t, srv, nil)
			_, err := ts.Token()
			if err == nil {
				t.Fatal("no error")
			}
			if got := srv.requests.Load(); got != tc.wantReqs {
				t.Fatalf("%d requests, want %d", got, tc.wantReqs)
			}
			for _, s := range srv.assertions() {
				if s.Err != "" {
					t.Fatalf("a retry re-sent a bad assertion: %s", s.Err)
				}
			}
			if tc.wantErrIs != nil {
				if !errors.Is(err, tc.wantErrIs) {
					t.Fatalf("error %v, want %v", err, tc.wantErrIs)
				}
				return
			}
			var te *pkjwt.TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %T %v is not a *TokenError", err, err)
			}
			if te.StatusCode != tc.wantStatus || te.Code != tc.wantCode || te.Description != tc.wantDesc || te.MessageID != tc.wantMsgID {
				t.Fatalf("got %+v", te)
			}
			if tc.wantDesc != "" && !strings.Contains(err.Error(), tc.wantDesc) {
				t.Fatalf("error text %q lacks the description", err)
			}
			// Code written for x/oauth2 finds the same error.
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) {
				t.Fatalf("error %T %v is not an *oauth2.RetrieveError", err, err)
			}
			if re.ErrorCode != tc.wantCode || re.ErrorDescription != tc.wantDesc || re.Response == nil || re.Response.StatusCode != tc.wantStatus {
				t.Fatalf("RetrieveError %+v", re)
			}
			if re.Response.Request != nil {
				t.Fatal("RetrieveError.Response.Request is set: it holds the assertion")
			}
			if tc.wantCode == "" && !strings.Contains(string(re.Body), strings.TrimSpace(tc.body)) {
				t.Fatalf("RetrieveError.Body %q, want the server's body", re.Body)
			}
		})
	}
}

// TestErrorNeverEchoesAssertion: a server that echoes the request body in
// an error page does not get the assertion into our error text.
func TestErrorNeverEchoesAssertion(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	var echoed atomic.Value
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		a := r.PostForm.Get("client_assertion")
		echoed.Store(a)
		w.WriteHeader(400)
		fmt.Fprintf(w, "<p>bad request: %s</p>", a)
	})
	ts := newSource(t, srv, nil)
	_, err := ts.Token()
	a, _ := echoed.Load().(string)
	if err == nil || a == "" {
		t.Fatalf("err %v, assertion %q", err, a)
	}
	if strings.Contains(err.Error(), a) || strings.Contains(err.Error(), strings.Split(a, ".")[2]) {
		t.Fatalf("error text contains the assertion: %v", err)
	}
	if !strings.Contains(err.Error(), "[client_assertion]") {
		t.Fatalf("error text %q should show where the assertion was removed", err)
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("not an *oauth2.RetrieveError: %T", err)
	}
	if strings.Contains(re.Error(), a) || strings.Contains(string(re.Body), strings.Split(a, ".")[2]) {
		t.Fatalf("the RetrieveError holds the assertion: %v", re)
	}
}

func TestConfigErrors(t *testing.T) {
	rs256, err := keys.New(testKey().Signer, "RS256", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  pkjwt.Config
	}{
		{"no client id", pkjwt.Config{Profile: pkjwt.NHSInt(), Keys: testKey()}},
		{"no key", pkjwt.Config{Profile: pkjwt.NHSInt(), ClientID: "c"}},
		{"no token url", pkjwt.Config{ClientID: "c", Keys: testKey()}},
		{"plain http off loopback", pkjwt.Config{ClientID: "c", Keys: testKey(), TokenURL: "http://example.com/token"}},
		{"relative url", pkjwt.Config{ClientID: "c", Keys: testKey(), TokenURL: "/token"}},
		{"lifetime over NHS cap", pkjwt.Config{Profile: pkjwt.NHSInt(), ClientID: "c", Keys: testKey(), Lifetime: 6 * time.Minute}},
		{"RS256 key under NHS", pkjwt.Config{Profile: pkjwt.NHSInt(), ClientID: "c", Keys: rs256}},
		{"empty ring", pkjwt.Config{Profile: pkjwt.NHSInt(), ClientID: "c", Keys: keys.NewRing()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pkjwt.NewTokenSource(tc.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.name == "empty ring" {
				if !errors.Is(err, keys.ErrNoSigningKey) {
					t.Fatalf("error %v, want ErrNoSigningKey", err)
				}
				return
			}
			if !errors.Is(err, pkjwt.ErrConfig) && !errors.Is(err, keys.ErrAlgorithmMismatch) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
		})
	}
}

func TestProfiles(t *testing.T) {
	for _, name := range pkjwt.ProfileNames() {
		p, err := pkjwt.LookupProfile(name)
		if err != nil || p.Name != name {
			t.Fatalf("%s: %+v %v", name, p, err)
		}
		if strings.HasPrefix(name, "nhs-") {
			if p.Algorithm != "RS512" || p.KeyBits != 4096 || p.MaxLifetime != 5*time.Minute || !p.RequestIDs ||
				!strings.HasPrefix(p.TokenURL, "https://") || !strings.HasSuffix(p.TokenURL, "api.service.nhs.uk/oauth2/token") {
				t.Fatalf("%s: %+v", name, p)
			}
		}
	}
	if pkjwt.NHSInt().TokenURL != "https://int.api.service.nhs.uk/oauth2/token" {
		t.Fatal(pkjwt.NHSInt().TokenURL)
	}
	if _, err := pkjwt.LookupProfile("nhs-dev2"); !errors.Is(err, pkjwt.ErrConfig) {
		t.Fatalf("unknown profile: %v", err)
	}
	if p, err := pkjwt.LookupProfile(""); err != nil || p.Name != "generic" {
		t.Fatalf(`"" gives %+v, %v; want generic`, p, err)
	}
	names := pkjwt.ProfileNames()
	if !slices.IsSorted(names) || len(names) != 5 {
		t.Fatalf("names %v", names)
	}
}

// countingTransport counts the requests sent through a caller's client.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestCallerHTTPClientHonoured(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	ct := &countingTransport{}
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.HTTPClient = &http.Client{Transport: ct} })
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	if ct.n.Load() != 1 {
		t.Fatalf("caller's transport saw %d requests", ct.n.Load())
	}
	// The API client built from the source uses the same transport.
	api := newAPIServer(t)
	resp, err := pkjwt.NewClient(ts).Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct.n.Load() != 2 {
		t.Fatalf("NewClient did not use the caller's transport (%d)", ct.n.Load())
	}
}

func TestHangingEndpointTimesOut(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	block := make(chan struct{})
	defer close(block)
	srv.reply = func(n int64, w http.ResponseWriter) { <-block }
	ts := newSource(t, srv, func(c *pkjwt.Config) {
		// Long enough that each attempt reaches the server even on a
		// loaded machine (the count below depends on it), short enough
		// for a test.
		c.HTTPClient = &http.Client{Timeout: time.Second}
		c.MaxAttempts = 2
	})
	start := time.Now()
	_, err := ts.Token()
	if err == nil {
		t.Fatal("no error from a hanging endpoint")
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("took %s", el)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d attempts, want 2: a timed-out attempt is retried with a new assertion", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ts.TokenContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// TestFailedFetchIsRemembered: while nothing usable is cached, a failed
// fetch's error is returned for a moment instead of a request per call.
func TestFailedFetchIsRemembered(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	srv.reply = func(n int64, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, `{"error":"invalid_request","error_description":"Invalid 'kid' header in client_assertion JWT - no matching public key"}`)
	}
	clk := newClock()
	srv.now = clk.Now
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.Now = clk.Now })
	for range 100 {
		var te *pkjwt.TokenError
		if _, err := ts.Token(); !errors.As(err, &te) || te.StatusCode != 401 {
			t.Fatalf("error %v", err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d token requests for 100 calls, want 1", n)
	}
	clk.Add(4 * time.Second) // past the back-off
	ts.Token()
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d token requests after the back-off, want 2", n)
	}
}

// TestRefreshBeforeIsClamped: a RefreshBefore longer than the token's life
// must not make every call fetch.
func TestRefreshBeforeIsClamped(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	clk := newClock()
	srv.now = clk.Now
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.RefreshBefore = 15 * time.Minute; c.Now = clk.Now })
	for range 200 {
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}
}
