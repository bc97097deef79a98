package bench

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
)

// stormClock is the clock the token source and the emulator share, so
// that a storm can start exactly at expiry.
type stormClock struct{ ns atomic.Int64 }

func (c *stormClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *stormClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// BenchmarkRefreshStorm is row 5 of bench/README.md: 10,000 goroutines
// call Token() at the same moment, just after the cached token expired;
// exactly one token request may reach the emulator (over HTTP on
// 127.0.0.1, RS512, RSA-4096). It reports the p50 and p99 of the
// goroutines' waits and fails on any other number of requests.
//
//	go test -run '^$' -bench RefreshStorm -benchtime 1x ./bench/
func BenchmarkRefreshStorm(b *testing.B) {
	const waiters = 10_000
	key, jwksSrv := keyWithJWKS(b, 4096)

	clock := &stormClock{}
	clock.ns.Store(time.Now().UnixNano())
	emu, err := emulator.New(emulator.Config{
		Apps: []emulator.App{{Name: "storm", APIKey: "storm-app", JWKSURL: jwksSrv.URL + jwks.Path,
			Status: emulator.StatusApproved, Scopes: []string{emulator.PDSScope}}},
		Now: clock.now,
	})
	if err != nil {
		b.Fatal(err)
	}
	var tokenRequests atomic.Int64
	h := emu.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == emulator.TokenPath {
			tokenRequests.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile: pkjwt.Local(srv.URL), ClientID: "storm-app", Keys: key, Now: clock.now,
	})
	if err != nil {
		b.Fatal(err)
	}
	first, err := ts.Token()
	if err != nil {
		b.Fatal(err)
	}
	lifetime := first.Expiry.Sub(clock.now())

	waits := make([]time.Duration, waiters)
	stormsStart := tokenRequests.Load()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		before := tokenRequests.Load()
		clock.advance(lifetime + time.Second) // the cached token has expired
		ts.SyncClock()                        // the coarse clock's tick, at most 250 ms away
		gate := make(chan struct{})
		var ready, done sync.WaitGroup
		var failed atomic.Int64
		for g := 0; g < waiters; g++ {
			ready.Add(1)
			done.Go(func() {
				ready.Done()
				<-gate
				start := time.Now()
				tok, err := ts.Token()
				waits[g] = time.Since(start)
				if err != nil || !tok.Expiry.After(clock.now()) {
					failed.Add(1)
				}
			})
		}
		ready.Wait()
		b.StartTimer()
		close(gate)
		done.Wait()
		b.StopTimer()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d of %d goroutines got no valid token", n, waiters)
		}
		if n := tokenRequests.Load() - before; n != 1 {
			b.Fatalf("%d goroutines asking at expiry sent %d token requests, want exactly 1", waiters, n)
		}
	}
	slices.Sort(waits)
	b.ReportMetric(float64(waits[len(waits)/2].Microseconds())/1000, "p50_wait_ms")
	b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds())/1000, "p99_wait_ms")
	b.ReportMetric(float64(tokenRequests.Load()-stormsStart)/float64(b.N), "token_requests/storm")
}
