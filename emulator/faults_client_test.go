package emulator_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/webapp"
)

// faultStack is the emulator, the sample web app registered with it (its
// JWKS is the app's), and one TokenSource shared by the web app and the
// test's own client, all on 127.0.0.1. It records every request the
// emulator receives.
type faultStack struct {
	emu      *emulator.Server
	emuSrv   *httptest.Server
	web      *httptest.Server
	ts       *pkjwt.TokenSource
	client   *http.Client // pkjwt.NewClient(ts), also the web app's API client
	browser  *http.Client // plays the user of the web app
	callURL  string
	clientTr *http.Transport

	mu     sync.Mutex
	arrive map[emulator.FaultTarget][]time.Time
}

// Timeouts: tokenTimeout bounds each token request, apiTimeout each API
// call through NewClient's client (its retries included, so it must be
// longer than the Retry-After of the rate-limit case). Both are shorter
// than the latency fault of their target, so that a delayed answer is a
// timeout the client must recover from.
const (
	tokenTimeout = time.Second
	apiTimeout   = 3 * time.Second
)

func newFaultStack(t *testing.T, k *keys.Key) *faultStack {
	t.Helper()
	s := &faultStack{arrive: map[emulator.FaultTarget][]time.Time{}}
	var err error
	s.emuSrv = httptest.NewUnstartedServer(nil)
	s.emuSrv.Start()
	s.emu, err = emulator.New(emulator.Config{PublicURL: s.emuSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	h := s.emu.Handler()
	s.emuSrv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := emulator.TargetPDS
		if r.URL.Path == emulator.TokenPath {
			target = emulator.TargetToken
		}
		s.mu.Lock()
		s.arrive[target] = append(s.arrive[target], time.Now())
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
	s.clientTr = &http.Transport{}
	const clientID = "fault-test-client"
	s.ts, err = pkjwt.NewTokenSource(pkjwt.Config{
		Profile: pkjwt.Local(s.emuSrv.URL), ClientID: clientID, Keys: k,
		HTTPClient: &http.Client{Timeout: tokenTimeout, Transport: s.clientTr},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.client = pkjwt.NewClient(s.ts)
	s.client.Timeout = apiTimeout
	s.callURL = s.ts.Config().Profile.APIBaseURL + "/Patient/9000000009"
	app, err := webapp.New(webapp.Config{TokenSource: s.ts, CallURL: s.callURL, HTTPClient: s.client})
	if err != nil {
		t.Fatal(err)
	}
	s.web = httptest.NewServer(app.Handler())
	if err := s.emu.AddApp(emulator.App{Name: "fault test", APIKey: clientID,
		JWKSURL: s.web.URL + jwks.Path, Scopes: []string{emulator.PDSScope}}); err != nil {
		t.Fatal(err)
	}
	s.browser = &http.Client{Transport: &http.Transport{}, Timeout: time.Minute}
	return s
}

// close stops everything the stack started, so that goleak sees no
// goroutine of it.
func (s *faultStack) close() {
	s.web.Close()
	s.emuSrv.Close()
	s.clientTr.CloseIdleConnections()
	s.browser.CloseIdleConnections()
}

func (s *faultStack) requests(target emulator.FaultTarget) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrive[target]...)
}

// callClient reads the patient with NewClient's client; ok on a 200.
func (s *faultStack) callClient(ctx context.Context) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.callURL, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"id":"9000000009"`) {
		return false, fmt.Sprintf("status %d", resp.StatusCode)
	}
	return true, ""
}

// callWebApp runs the web app's System to System Call; ok when the page
// shows the patient.
func (s *faultStack) callWebApp(ctx context.Context) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.web.URL+"/system-to-system", nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := s.browser.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "9000000009") {
		return false, fmt.Sprintf("page status %d", resp.StatusCode)
	}
	return true, ""
}

// TestClientAndWebAppRecoverFromFaults drives the library client
// (pkjwt.NewTokenSource + pkjwt.NewClient) and the web app's System to
// System Call through every fault of the emulator, on the token endpoint
// and on PDS. Each fault clears after Count hits (Fault.Count); the test
// then requires:
//
//   - recovery: a call succeeds once the fault has cleared, the caller
//     retrying like a user every 300 ms (within 30 s);
//   - bounded token requests: the token endpoint receives at most
//     Count+1 requests for a token-endpoint fault (every request is either
//     hit by the fault, at most Count, or succeeds, and after one success
//     the token is cached for 599 s), and exactly 1 for a PDS fault (no
//     PDS fault is a 401, so nothing may make the client fetch another
//     token); the PDS likewise receives at most Count+1 requests for a PDS
//     fault. A retry storm would break these bounds;
//   - Retry-After honoured: after a 429 with Retry-After: N, the client's
//     next request to that endpoint arrives N seconds later or more;
//   - no goroutine left behind once the stack is closed (goleak).
func TestClientAndWebAppRecoverFromFaults(t *testing.T) {
	k, err := keys.Generate("RS512", 2048) // 4096 in production; 2048 keeps the test fast
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		fault emulator.Fault
	}{
		{"token fail", emulator.Fault{Kind: emulator.FaultFail, Target: emulator.TargetToken, Count: 2}},
		{"token drop", emulator.Fault{Kind: emulator.FaultDrop, Target: emulator.TargetToken, Count: 2}},
		{"token latency", emulator.Fault{Kind: emulator.FaultLatency, Target: emulator.TargetToken, Latency: 5 * tokenTimeout / 2, Count: 1}},
		{"token rate-limit", emulator.Fault{Kind: emulator.FaultRateLimit, Target: emulator.TargetToken, RetryAfter: 2 * time.Second, Count: 1}},
		{"jwks-unreachable", emulator.Fault{Kind: emulator.FaultJWKSUnreachable, Count: 1}},
		{"pds fail", emulator.Fault{Kind: emulator.FaultFail, Target: emulator.TargetPDS, Count: 2}},
		{"pds drop", emulator.Fault{Kind: emulator.FaultDrop, Target: emulator.TargetPDS, Count: 2}},
		{"pds latency", emulator.Fault{Kind: emulator.FaultLatency, Target: emulator.TargetPDS, Latency: 5 * apiTimeout / 3, Count: 1}},
		{"pds rate-limit", emulator.Fault{Kind: emulator.FaultRateLimit, Target: emulator.TargetPDS, RetryAfter: time.Second, Count: 1}},
	}
	drivers := []struct {
		name string
		call func(*faultStack, context.Context) (bool, string)
	}{
		{"client", (*faultStack).callClient},
		{"webapp", (*faultStack).callWebApp},
	}
	for _, d := range drivers {
		for _, c := range cases {
			t.Run(d.name+"/"+c.name, func(t *testing.T) {
				before := goleak.IgnoreCurrent()
				s := newFaultStack(t, k)
				target := c.fault.Target
				if target == 0 {
					target = emulator.TargetToken // jwks-unreachable
				}
				if target == emulator.TargetPDS {
					// Get the token first, so that the PDS fault meets a
					// client that holds one.
					if _, err := s.ts.TokenContext(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.emu.SetFaults([]emulator.Fault{c.fault}); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				calls := 0
				for {
					calls++
					ok, detail := d.call(s, ctx)
					if ok {
						break
					}
					if ctx.Err() != nil {
						t.Fatalf("no recovery after %d calls: last %s", calls, detail)
					}
					t.Logf("call %d: %s", calls, detail)
					time.Sleep(300 * time.Millisecond)
				}
				cancel()
				hits := s.emu.FaultHits()[c.fault.Kind]
				if hits != int64(c.fault.Count) {
					t.Errorf("the fault hit %d requests, want %d (it must have been met before recovery)", hits, c.fault.Count)
				}
				tokens, pds := s.requests(emulator.TargetToken), s.requests(emulator.TargetPDS)
				if target == emulator.TargetToken {
					if len(tokens) > c.fault.Count+1 {
						t.Errorf("%d token requests, want at most Count+1 = %d", len(tokens), c.fault.Count+1)
					}
				} else {
					if len(tokens) != 1 {
						t.Errorf("%d token requests under a PDS fault, want exactly 1", len(tokens))
					}
					if len(pds) > c.fault.Count+1 {
						t.Errorf("%d PDS requests, want at most Count+1 = %d", len(pds), c.fault.Count+1)
					}
				}
				if c.fault.Kind == emulator.FaultRateLimit {
					reqs := tokens
					if target == emulator.TargetPDS {
						reqs = pds
					}
					if len(reqs) < 2 {
						t.Fatalf("%d requests to the rate-limited endpoint, want the 429 and a retry", len(reqs))
					}
					// The first request got the 429; the next one must wait
					// out Retry-After (whole seconds, as sent).
					if gap := reqs[1].Sub(reqs[0]); gap < c.fault.RetryAfter {
						t.Errorf("retried %v after a 429 with Retry-After %v", gap, c.fault.RetryAfter)
					}
				}
				t.Logf("%d calls, %d token and %d PDS requests, %d fault hits", calls, len(tokens), len(pds), hits)
				s.close()
				goleak.VerifyNone(t, before)
			})
		}
	}
}
