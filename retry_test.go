package pkjwt_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pkjwt/pkjwt"
)

// TestRefreshFailureReturnsThe401: an API rejects the token, and the token
// endpoint then refuses a new one: the caller gets the API's 401 response,
// body intact, with the token endpoint's error reachable by RefreshError.
func TestRefreshFailureReturnsThe401(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	srv.reply = func(n int64, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		if n > 1 {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client","error_description":"The developer app associated with the API key is not approved or revoked","message_id":"m-2"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":"599","token_type":"Bearer"}`, n)
	}
	var calls int
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"code":"forbidden"}]}`)
	}))
	defer api.Close()
	client := pkjwt.NewClient(newSource(t, srv, nil))
	resp, err := client.Get(api.URL + "/Patient/9000000009")
	if err != nil {
		t.Fatalf("got an error instead of the 401 response: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "OperationOutcome") {
		t.Fatalf("the 401's body was not kept: %q", body)
	}
	ferr := pkjwt.RefreshError(resp)
	var te *pkjwt.TokenError
	if !errors.As(ferr, &te) || te.Code != "invalid_client" || te.MessageID != "m-2" {
		t.Fatalf("RefreshError = %v, want the token endpoint's invalid_client", ferr)
	}
	if calls != 1 {
		t.Fatalf("%d API calls, want 1 (no retry without a new token)", calls)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d token requests, want 2 (the first and the failed re-fetch)", n)
	}
	// The next call has no token to send: the cache is empty and the
	// fetch fails, so it is an error and the API sees nothing.
	if resp2, err := client.Get(api.URL); err == nil {
		resp2.Body.Close()
		t.Fatalf("status %d, want an error: no token to send", resp2.StatusCode)
	}
	if calls != 1 {
		t.Fatalf("%d API calls, want 1", calls)
	}
}

// TestRetryRules: which responses the retry layer retries, for which
// methods, and what a request carries on its retry.
func TestRetryRules(t *testing.T) {
	cases := []struct {
		name       string
		method     string
		header     map[string]string
		body       string
		plan       []int
		opts       []pkjwt.ClientOption
		wantCalls  int
		wantStatus int
	}{
		{name: "GET 503 retried", method: "GET", plan: []int{503}, wantCalls: 2, wantStatus: 200},
		{name: "DELETE 429 retried", method: "DELETE", plan: []int{429}, wantCalls: 2, wantStatus: 200},
		{name: "POST 503 not retried", method: "POST", body: "{}", plan: []int{503}, wantCalls: 1, wantStatus: 503},
		{name: "PATCH 429 not retried", method: "PATCH", body: "{}", plan: []int{429}, wantCalls: 1, wantStatus: 429},
		{name: "POST with Idempotency-Key retried", method: "POST", header: map[string]string{"Idempotency-Key": "k1"}, body: "{}", plan: []int{503}, wantCalls: 2, wantStatus: 200},
		{name: "POST 401 retried with a new token", method: "POST", body: "{}", plan: []int{401}, wantCalls: 2, wantStatus: 200},
		{name: "Retry-After 0 not retried", method: "GET", plan: []int{502}, wantCalls: 1, wantStatus: 502},
		{name: "without retries", method: "GET", plan: []int{503}, opts: []pkjwt.ClientOption{pkjwt.WithRetries(0, 0)}, wantCalls: 1, wantStatus: 503},
		{name: "without retries 401", method: "GET", plan: []int{401}, opts: []pkjwt.ClientOption{pkjwt.WithRetries(0, 0)}, wantCalls: 1, wantStatus: 401},
		{name: "Retry-After over the cap", method: "GET", plan: []int{503}, opts: []pkjwt.ClientOption{pkjwt.WithRetries(2, 500*time.Millisecond)}, wantCalls: 1, wantStatus: 503},
		{name: "one retry at most", method: "GET", plan: []int{503, 503}, opts: []pkjwt.ClientOption{pkjwt.WithRetries(1, 0)}, wantCalls: 2, wantStatus: 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTokenServer(t, testKey(), "c")
			api := newAPIServer(t, tc.plan...)
			client := pkjwt.NewClient(newSource(t, srv, nil), tc.opts...)
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, api.URL, body)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
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
				if !uuidV4.MatchString(hd.Get("X-Request-ID")) || hd.Get("X-Request-ID") != h[0].Get("X-Request-ID") {
					t.Fatalf("call %d: X-Request-ID %q, want the first attempt's %q", i, hd.Get("X-Request-ID"), h[0].Get("X-Request-ID"))
				}
				if hd.Get("X-Test-Body") != tc.body {
					t.Fatalf("call %d: body %q, want %q", i, hd.Get("X-Test-Body"), tc.body)
				}
			}
		})
	}
}

// TestTransportDoesNotRetry: the Transport alone sends each request once,
// whatever the answer, and fails without sending when no token comes.
func TestTransportDoesNotRetry(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	api := newAPIServer(t, 401, 503)
	ts := newSource(t, srv, nil)
	client := &http.Client{Transport: &pkjwt.Transport{Source: ts, RequestIDs: true}}
	for _, want := range []int{401, 503, 200} {
		resp, err := client.Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("status %d, want %d", resp.StatusCode, want)
		}
	}
	if n := len(api.headers()); n != 3 {
		t.Fatalf("%d calls for 3 requests", n)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d token requests, want 1: the Transport does not react to a 401", n)
	}

	failing := newTokenServer(t, testKey(), "c")
	failing.reply = func(n int64, w http.ResponseWriter) { w.WriteHeader(http.StatusBadRequest) }
	client = &http.Client{Transport: &pkjwt.Transport{Source: newSource(t, failing, nil)}}
	_, err := client.Get(api.URL)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusBadRequest {
		t.Fatalf("error %v, want the token endpoint's 400", err)
	}
	if n := len(api.headers()); n != 3 {
		t.Fatal("a request was sent without a token")
	}
}
