package pkjwt_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
)

// recObserver records what a TokenSource reports.
type recObserver struct {
	mu        sync.Mutex
	events    []pkjwt.TokenRequestEvent
	hits      int
	refreshes int
}

func (o *recObserver) TokenRequest(ev pkjwt.TokenRequestEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, ev)
}

func (o *recObserver) CacheHit() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.hits++
}

func (o *recObserver) BackgroundRefresh() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refreshes++
}

func (o *recObserver) snapshot() ([]pkjwt.TokenRequestEvent, int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]pkjwt.TokenRequestEvent(nil), o.events...), o.hits, o.refreshes
}

// failingKey is a key source that cannot give a key.
type failingKey struct{ ok *keys.Key }

func (f *failingKey) SigningKey() (*keys.Key, error) {
	if f.ok != nil {
		return f.ok, nil
	}
	return nil, keys.ErrNotFound
}

// TestObserverOutcomes sends real token requests over loopback and checks
// the outcome each attempt is reported with.
func TestObserverOutcomes(t *testing.T) {
	cases := []struct {
		name     string
		reply    func(n int64, w http.ResponseWriter)
		attempts int
		want     []pkjwt.TokenOutcome
		status   int
		code     string
	}{
		{name: "ok", want: []pkjwt.TokenOutcome{pkjwt.OutcomeOK}, status: 200},
		{name: "rejected", reply: func(_ int64, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_request","error_description":"Invalid 'kid' header in client_assertion JWT - no matching public key","message_id":"m"}`)
		}, want: []pkjwt.TokenOutcome{pkjwt.OutcomeRejected}, status: 401, code: "invalid_request"},
		{name: "rate limited then ok", attempts: 2, reply: func(n int64, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			if n == 1 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(429)
				fmt.Fprint(w, `{"error":"rate_limit_exceeded","error_description":"slow down","message_id":"m"}`)
				return
			}
			fmt.Fprint(w, `{"access_token":"tok","expires_in":"599","token_type":"Bearer"}`)
		}, want: []pkjwt.TokenOutcome{pkjwt.OutcomeRateLimited, pkjwt.OutcomeOK}, status: 200},
		{name: "server error, retried", attempts: 2, reply: func(_ int64, w http.ResponseWriter) {
			w.WriteHeader(503)
		}, want: []pkjwt.TokenOutcome{pkjwt.OutcomeServerError, pkjwt.OutcomeServerError}, status: 503},
		{name: "invalid response", reply: func(_ int64, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"token_type":"Bearer"}`)
		}, want: []pkjwt.TokenOutcome{pkjwt.OutcomeInvalidResponse}, status: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTokenServer(t, testKey(), "obs-client")
			srv.reply = tc.reply
			obs := &recObserver{}
			ts := newSource(t, srv, func(c *pkjwt.Config) {
				c.Observer = obs
				if tc.attempts > 0 {
					c.MaxAttempts = tc.attempts
				}
			})
			_, _ = ts.Token()
			evs, _, _ := obs.snapshot()
			if len(evs) != len(tc.want) {
				t.Fatalf("got %d events, want %d: %+v", len(evs), len(tc.want), evs)
			}
			for i, ev := range evs {
				if ev.Outcome != tc.want[i] {
					t.Errorf("event %d: outcome %q, want %q", i, ev.Outcome, tc.want[i])
				}
				if ev.Duration <= 0 {
					t.Errorf("event %d: duration %s", i, ev.Duration)
				}
				if (ev.Outcome == pkjwt.OutcomeOK) != (ev.Err == nil) {
					t.Errorf("event %d: outcome %s with error %v", i, ev.Outcome, ev.Err)
				}
			}
			last := evs[len(evs)-1]
			if tc.status != 0 && last.StatusCode != tc.status {
				t.Errorf("status %d, want %d", last.StatusCode, tc.status)
			}
			if last.ErrorCode != tc.code {
				t.Errorf("error code %q, want %q", last.ErrorCode, tc.code)
			}
			if last.Outcome == pkjwt.OutcomeOK {
				if last.KeyID != testKey().ID || last.Expiry.Before(time.Now().Add(9*time.Minute)) {
					t.Errorf("ok event: kid %q expiry %s", last.KeyID, last.Expiry)
				}
				exp, ok := ts.CachedExpiry()
				if !ok || !exp.Equal(last.Expiry) {
					t.Errorf("CachedExpiry = %s, %v; want %s", exp, ok, last.Expiry)
				}
			}
		})
	}
}

func TestObserverNetworkErrorAndNotSent(t *testing.T) {
	// A port nothing listens on: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	obs := &recObserver{}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(url), ClientID: "c", Keys: testKey(), MaxAttempts: 1, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err == nil {
		t.Fatal("a token from a closed port")
	}
	if evs, _, _ := obs.snapshot(); len(evs) != 1 || evs[0].Outcome != pkjwt.OutcomeNetworkError || evs[0].StatusCode != 0 {
		t.Fatalf("events %+v, want one network_error", evs)
	}

	fk := &failingKey{ok: testKey()}
	obs = &recObserver{}
	ts, err = pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(url), ClientID: "c", Keys: fk, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	fk.ok = nil // the key goes away after start-up
	if _, err := ts.Token(); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("err %v, want keys.ErrNotFound", err)
	}
	if evs, _, _ := obs.snapshot(); len(evs) != 1 || evs[0].Outcome != pkjwt.OutcomeNotSent {
		t.Fatalf("events %+v, want one not_sent", evs)
	}
}

// TestObserverCacheHitsAndBackgroundRefresh: cached reads count as hits, the
// early refresh as one background refresh, and an observer added with
// Observe sees events beside Config.Observer.
func TestObserverCacheHitsAndBackgroundRefresh(t *testing.T) {
	srv := newTokenServer(t, testKey(), "obs-client")
	clk := newClock()
	srv.now = clk.Now
	first := &recObserver{}
	ts := newSource(t, srv, func(c *pkjwt.Config) { c.Observer = first; c.Now = clk.Now })
	added := &recObserver{}
	ts.Observe(added)
	if _, ok := ts.CachedExpiry(); ok {
		t.Fatal("CachedExpiry before any token")
	}
	if _, err := ts.Token(); err != nil { // miss: one request
		t.Fatal(err)
	}
	for range 5 {
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
	}
	// Into the early-refresh window (599 s token refreshes 60 s before).
	clk.Add(545 * time.Second)
	ts.SyncClock() // the tick the moved wall clock would get within 250 ms
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { evs, _, _ := added.snapshot(); return len(evs) == 2 })
	for _, o := range []*recObserver{first, added} {
		evs, hits, refreshes := o.snapshot()
		if len(evs) != 2 || evs[0].Outcome != pkjwt.OutcomeOK || evs[1].Outcome != pkjwt.OutcomeOK {
			t.Errorf("events %+v, want two ok", evs)
		}
		if hits != 6 {
			t.Errorf("cache hits %d, want 6 (5 fresh + 1 during the early refresh)", hits)
		}
		if refreshes != 1 {
			t.Errorf("background refreshes %d, want 1", refreshes)
		}
	}
}
