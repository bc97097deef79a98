package emulator

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// pdsGet reads patient 9000000009 with a token, as a client would.
func (e *testEnv) pdsGet(tok string) httpResult {
	e.t.Helper()
	return e.get(PDSBasePath+"/Patient/9000000009", map[string]string{
		"Authorization": "Bearer " + tok, "X-Request-ID": "60E0B220-8136-4CA5-AE46-1D97EF59D068",
	})
}

// TestFaultAnswers: each fault kind on each target answers what the table
// documents, only on its target, and clears after Count hits.
func TestFaultAnswers(t *testing.T) {
	const wantRateLimitBody = "Your application has exceeded its quota and is being rate limited. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details."
	tests := []struct {
		name  string
		fault Fault
		// checks the answer to a hit token request / PDS request; nil
		// means the target is not hit (the request succeeds).
		token func(t *testing.T, res httpResult)
		pds   func(t *testing.T, res httpResult)
	}{
		{"fail token", Fault{Kind: FaultFail, Target: TargetToken},
			func(t *testing.T, res httpResult) {
				assertTokenError(t, res, 500, "unknown_error", "An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID")
			}, nil},
		{"fail pds", Fault{Kind: FaultFail, Target: TargetPDS}, nil,
			func(t *testing.T, res httpResult) {
				assertOutcome(t, res, 500, outcome("fatal", "exception", "SERVICE_ERROR", "Service error", "The emulator injected a failure (--fail-rate)"))
				if got := res.header.Get("X-Request-ID"); got == "" {
					t.Error("X-Request-ID not mirrored on a fault")
				}
			}},
		{"rate-limit token", Fault{Kind: FaultRateLimit, Target: TargetToken, RetryAfter: 1500 * time.Millisecond},
			func(t *testing.T, res httpResult) {
				assertTokenError(t, res, 429, "rate_limit_exceeded", wantRateLimitBody)
				if ra := res.header.Get("Retry-After"); ra != "2" {
					t.Errorf("Retry-After = %q, want 2 (1.5s rounded up)", ra)
				}
			}, nil},
		{"rate-limit pds", Fault{Kind: FaultRateLimit, Target: TargetPDS}, nil,
			func(t *testing.T, res httpResult) {
				assertOutcome(t, res, 429, outcome("error", "value", "TOO_MANY_REQUESTS", "Too many requests", wantRateLimitBody))
				if ra := res.header.Get("Retry-After"); ra != "1" {
					t.Errorf("Retry-After = %q, want 1", ra)
				}
			}},
		{"rate-limit both", Fault{Kind: FaultRateLimit},
			func(t *testing.T, res httpResult) {
				assertTokenError(t, res, 429, "rate_limit_exceeded", wantRateLimitBody)
			},
			func(t *testing.T, res httpResult) {
				assertOutcome(t, res, 429, outcome("error", "value", "TOO_MANY_REQUESTS", "Too many requests", wantRateLimitBody))
			}},
		{"jwks-unreachable", Fault{Kind: FaultJWKSUnreachable},
			func(t *testing.T, res httpResult) {
				assertTokenError(t, res, 403, "public_key error", "The JWKS endpoint, for your client_assertion can't be reached")
			}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			tok := e.token() // before the fault: a token for the PDS requests
			f := tt.fault
			// Two rounds; Count is the fault's hits over all its targets.
			perRound := 0
			if tt.token != nil {
				perRound++
			}
			if tt.pds != nil {
				perRound++
			}
			f.Count = 2 * perRound
			if err := e.srv.SetFaults([]Fault{f}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				res := e.post(form(e.sign(e.claims(), signOpts{})))
				if tt.token != nil {
					tt.token(t, res)
				} else if res.status != 200 {
					t.Fatalf("token request not targeted: status %d %s", res.status, res.body)
				}
				res = e.pdsGet(tok)
				if tt.pds != nil {
					tt.pds(t, res)
				} else if res.status != 200 {
					t.Fatalf("PDS request not targeted: status %d %s", res.status, res.body)
				}
			}
			// Count reached: the fault has cleared on both targets.
			if res := e.post(form(e.sign(e.claims(), signOpts{}))); res.status != 200 {
				t.Fatalf("after the fault cleared: token status %d %s", res.status, res.body)
			}
			if res := e.pdsGet(tok); res.status != 200 {
				t.Fatalf("after the fault cleared: PDS status %d %s", res.status, res.body)
			}
			if got := e.srv.FaultHits()[f.Kind]; got != int64(f.Count) {
				t.Errorf("FaultHits = %d, want %d", got, f.Count)
			}
			if !strings.Contains(e.logs.String(), "fault="+string(f.Kind)) {
				t.Errorf("log lacks fault=%s:\n%s", f.Kind, e.logs.String())
			}
		})
	}
}

// TestFaultDropClosesConnection: a dropped request gets no HTTP answer at
// all, on either target, and the log line records it.
func TestFaultDropClosesConnection(t *testing.T) {
	e := newTestEnv(t, nil)
	tok := e.token()
	if err := e.srv.SetFaults([]Fault{{Kind: FaultDrop}}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{TokenPath, PDSBasePath + "/Patient/9000000009", HelloWorldPath} {
		method := http.MethodGet
		if path == TokenPath {
			method = http.MethodPost
		}
		req, err := http.NewRequest(method, e.ts.URL+path, strings.NewReader(form(e.sign(e.claims(), signOpts{})).Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := e.ts.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: got status %d, want the connection closed", path, resp.StatusCode)
		}
	}
	if got := e.srv.FaultHits()[FaultDrop]; got < 3 {
		t.Errorf("drop hits = %d, want at least 3", got)
	}
	if !strings.Contains(e.logs.String(), "status=0") || !strings.Contains(e.logs.String(), "fault=drop") {
		t.Errorf("log lacks the dropped requests:\n%s", e.logs.String())
	}
	// Clearing the faults restores service.
	if err := e.srv.SetFaults(nil); err != nil {
		t.Fatal(err)
	}
	if res := e.pdsGet(tok); res.status != 200 {
		t.Fatalf("after SetFaults(nil): %d %s", res.status, res.body)
	}
}

// TestFaultLatency: a latency fault holds the answer back (a client with a
// shorter timeout gives up), and ends when the client goes away.
func TestFaultLatency(t *testing.T) {
	e := newTestEnv(t, nil)
	tok := e.token()
	if err := e.srv.SetFaults([]Fault{{Kind: FaultLatency, Target: TargetPDS, Latency: time.Minute, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+PDSBasePath+"/Patient/9000000009", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Request-ID", "60E0B220-8136-4CA5-AE46-1D97EF59D068")
	resp, err := e.ts.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d within the client's deadline despite a one-minute latency", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// The token endpoint is not targeted, and after one hit the fault is gone.
	e.token()
	if res := e.pdsGet(tok); res.status != 200 {
		t.Fatalf("after the fault: %d %s", res.status, res.body)
	}
	// The held request's handler ended when the client went away (the
	// minute is not waited out): its log line is written.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.logs.String(), "fault=latency") {
		if time.Now().After(deadline) {
			t.Fatalf("the delayed handler did not end after the client left:\n%s", e.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFaultRate: a rate of 0.5 hits about half the requests (a loose
// statistical bound: outside [100, 300] of 400 has probability below 1e-20).
func TestFaultRate(t *testing.T) {
	e := newTestEnv(t, nil)
	tok := e.token()
	if err := e.srv.SetFaults([]Fault{{Kind: FaultFail, Target: TargetPDS, Rate: 0.5}}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i := 0; i < 400; i++ {
		switch res := e.pdsGet(tok); res.status {
		case 500:
			failed++
		case 200:
		default:
			t.Fatalf("status %d: %s", res.status, res.body)
		}
	}
	if failed < 100 || failed > 300 {
		t.Errorf("%d of 400 failed at rate 0.5", failed)
	}
	if got := e.srv.FaultHits()[FaultFail]; got != int64(failed) {
		t.Errorf("FaultHits = %d, want %d", got, failed)
	}
}

// TestFaultValidation: faults that cannot apply are refused by New and
// SetFaults with ErrBadFault.
func TestFaultValidation(t *testing.T) {
	bad := []Fault{
		{Kind: "explode"},
		{Kind: FaultFail, Rate: 1.5},
		{Kind: FaultFail, Rate: -0.1},
		{Kind: FaultDrop, Count: -1},
		{Kind: FaultLatency},
		{Kind: FaultLatency, Latency: 11 * time.Minute},
		{Kind: FaultRateLimit, RetryAfter: -time.Second},
		{Kind: FaultJWKSUnreachable, Target: TargetPDS},
		{Kind: FaultJWKSUnreachable, Target: TargetBoth},
		{Kind: FaultFail, Target: 8},
	}
	for _, f := range bad {
		if _, err := New(Config{Faults: []Fault{f}}); !errors.Is(err, ErrBadFault) {
			t.Errorf("New(%+v): err = %v, want ErrBadFault", f, err)
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetFaults([]Fault{{Kind: FaultFail}, {Kind: FaultJWKSUnreachable, Target: TargetPDS}}); !errors.Is(err, ErrBadFault) {
		t.Errorf("SetFaults: err = %v", err)
	}
	for _, tg := range []FaultTarget{TargetToken, TargetPDS, TargetBoth, 0} {
		if want := map[FaultTarget]string{TargetToken: "token", TargetPDS: "pds", TargetBoth: "both", 0: "none"}[tg]; tg.String() != want {
			t.Errorf("FaultTarget(%d).String() = %q, want %q", tg, tg.String(), want)
		}
	}
}
