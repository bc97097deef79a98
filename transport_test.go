package pkjwt_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pkjwt/pkjwt"
)

// apiServer records the headers of every request and answers with plan
// (status, Retry-After) per request number, then 200.
type apiServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []http.Header
	plan []int
}

func newAPIServer(t *testing.T, plan ...int) *apiServer {
	a := &apiServer{plan: plan}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		n := len(a.reqs)
		h := r.Header.Clone()
		h.Set("X-Test-Body", string(body))
		a.reqs = append(a.reqs, h)
		a.mu.Unlock()
		if n < len(a.plan) {
			w.Header().Set("Retry-After", "0")
			if a.plan[n] == 503 || a.plan[n] == 429 {
				w.Header().Set("Retry-After", "1")
			}
			w.WriteHeader(a.plan[n])
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *apiServer) headers() []http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]http.Header(nil), a.reqs...)
}

func TestClientHeaders(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	api := newAPIServer(t)
	ts := newSource(t, srv, nil) // local profile: NHS rules, X-Request-ID on
	client := pkjwt.NewClient(ts)
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("GET", api.URL+"/Patient/9000000009", nil)
		if i == 2 {
			req.Header.Set("X-Correlation-ID", "corr-1")
			req.Header.Set("X-Request-ID", "11111111-2222-4333-8444-555555555555")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get("Authorization") != "" {
			t.Fatal("the caller's request was modified")
		}
	}
	h := api.headers()
	if len(h) != 3 {
		t.Fatalf("%d requests", len(h))
	}
	for i, hd := range h {
		if hd.Get("Authorization") != "Bearer tok-1" {
			t.Fatalf("request %d: Authorization %q", i, hd.Get("Authorization"))
		}
	}
	if !uuidV4.MatchString(h[0].Get("X-Request-ID")) || !uuidV4.MatchString(h[1].Get("X-Request-ID")) || h[0].Get("X-Request-ID") == h[1].Get("X-Request-ID") {
		t.Fatalf("X-Request-IDs %q %q: want a new UUIDv4 per request", h[0].Get("X-Request-ID"), h[1].Get("X-Request-ID"))
	}
	if h[2].Get("X-Request-ID") != "11111111-2222-4333-8444-555555555555" || h[2].Get("X-Correlation-ID") != "corr-1" {
		t.Fatalf("caller's ids not passed through: %v", h[2])
	}
	if srv.requests.Load() != 1 {
		t.Fatalf("%d token requests for 3 calls, want 1", srv.requests.Load())
	}
}

func TestClientGenericProfileHasNoRequestID(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	api := newAPIServer(t)
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.Profile = pkjwt.Generic(); c.TokenURL = srv.tokenURL() })
	resp, err := pkjwt.NewClient(ts).Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := api.headers()[0].Get("X-Request-ID"); id != "" {
		t.Fatalf("generic profile sent X-Request-ID %q", id)
	}
}

func TestClientRetries(t *testing.T) {
	cases := []struct {
		name       string
		plan       []int
		body       string
		wantCalls  int
		wantTokens []string
		wantStatus int
	}{
		{"503 retried with the same request id", []int{503}, "", 2, []string{"tok-1", "tok-1"}, 200},
		{"429 retried", []int{429}, "", 2, []string{"tok-1", "tok-1"}, 200},
		{"401 retried once with a new token", []int{401}, "", 2, []string{"tok-1", "tok-2"}, 200},
		{"401 twice is returned", []int{401, 401}, "", 2, []string{"tok-1", "tok-2"}, 401},
		{"body replayed", []int{503}, "payload", 2, []string{"tok-1", "tok-1"}, 200},
		{"400 not retried", []int{400}, "", 1, []string{"tok-1"}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTokenServer(t, testKey(), "c")
			api := newAPIServer(t, tc.plan...)
			client := pkjwt.NewClient(newSource(t, srv, nil))
			var body io.Reader
			method := "GET"
			if tc.body != "" {
				body, method = strings.NewReader(tc.body), "PUT"
			}
			req, _ := http.NewRequest(method, api.URL, body)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			h := api.headers()
			if len(h) != tc.wantCalls {
				t.Fatalf("%d calls, want %d", len(h), tc.wantCalls)
			}
			for i, hd := range h {
				if hd.Get("Authorization") != "Bearer "+tc.wantTokens[i] {
					t.Fatalf("call %d: %q", i, hd.Get("Authorization"))
				}
				if hd.Get("X-Request-ID") != h[0].Get("X-Request-ID") {
					t.Fatal("a retry changed X-Request-ID")
				}
				if hd.Get("X-Test-Body") != tc.body {
					t.Fatalf("call %d body %q", i, hd.Get("X-Test-Body"))
				}
			}
		})
	}
}

// TestTokenNeverInErrors: a failing API call's error text holds no token.
func TestTokenNeverInErrors(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	client := pkjwt.NewClient(newSource(t, srv, nil))
	_, err := client.Get("http://127.0.0.1:1/unreachable")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "tok-1") || strings.Contains(err.Error(), "Bearer") {
		t.Fatalf("error holds the token: %v", err)
	}
}

// TestTokenStaysWithItsOrigin: the token is not sent to another host on a
// redirect, nor over plain http off this machine.
func TestTokenStaysWithItsOrigin(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	other := newAPIServer(t) // a different origin (another port)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		if r.URL.Path == "/final" {
			fmt.Fprint(w, r.Header.Get("Authorization"))
			return
		}
		http.Redirect(w, r, other.URL+"/stolen", http.StatusFound)
	}))
	defer redirector.Close()
	ts := newSource(t, srv, nil)

	// NewClient: a same-origin redirect is followed with the token...
	resp, err := pkjwt.NewClient(ts).Get(redirector.URL + "/same")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "Bearer tok-1" {
		t.Fatalf("same-origin redirect: %q", b)
	}
	// ...a cross-origin one is handed back, not followed.
	resp, err = pkjwt.NewClient(ts).Get(redirector.URL + "/away")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("cross-origin redirect: status %d", resp.StatusCode)
	}
	// A plain client with our Transport follows redirects itself: the
	// Transport refuses to add the token on the new origin.
	plain := &http.Client{Transport: &pkjwt.Transport{Source: ts}}
	_, err = plain.Get(redirector.URL + "/away")
	if !errors.Is(err, pkjwt.ErrUnsafeDestination) {
		t.Fatalf("plain client, cross-origin redirect: %v", err)
	}
	if n := len(other.headers()); n != 0 {
		t.Fatalf("the other origin got %d requests", n)
	}
	// Plain http to a host that is not loopback: refused before any dial.
	_, err = pkjwt.NewClient(ts).Get("http://api.example.invalid/Patient/9000000009")
	if !errors.Is(err, pkjwt.ErrUnsafeDestination) {
		t.Fatalf("plain http off loopback: %v", err)
	}
}

// TestTokenEndpointRedirectNotFollowed: a 307 from the token endpoint would
// make net/http re-post the assertion elsewhere; it is an error instead.
func TestTokenEndpointRedirectNotFollowed(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	thief := newAPIServer(t)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.requests.Add(1)
		http.Redirect(w, r, thief.URL+"/token", http.StatusTemporaryRedirect)
	})
	_, err := newSource(t, srv, func(c *pkjwt.Config) { c.HTTPClient = &http.Client{} }).Token()
	var te *pkjwt.TokenError
	if !errors.As(err, &te) || te.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("error %v, want a TokenError with status 307", err)
	}
	if n := len(thief.headers()); n != 0 {
		t.Fatalf("the redirect target received %d token requests", n)
	}
}

// TestRejectedTokenDoesNotStormTheTokenEndpoint: an API that answers 401
// to every token costs at most one extra token request per 30 s.
func TestRejectedTokenDoesNotStormTheTokenEndpoint(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	plan := make([]int, 100)
	for i := range plan {
		plan[i] = http.StatusUnauthorized
	}
	api := newAPIServer(t, plan...)
	client := pkjwt.NewClient(newSource(t, srv, nil))
	for range 20 {
		resp, err := client.Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d token requests for 20 rejected calls, want 2 (the first and one refresh)", n)
	}
}
