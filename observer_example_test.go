package pkjwt_test

import (
	"fmt"
	"log"
	"sync/atomic"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
)

// countingObserver counts what a token source reports; a real one would
// update metrics (the web app's feeds Prometheus).
type countingObserver struct {
	requests, ok, hits, refreshes atomic.Int64
}

func (o *countingObserver) TokenRequest(ev pkjwt.TokenRequestEvent) {
	o.requests.Add(1)
	if ev.Outcome == pkjwt.OutcomeOK {
		o.ok.Add(1)
	}
}
func (o *countingObserver) CacheHit()          { o.hits.Add(1) }
func (o *countingObserver) BackgroundRefresh() { o.refreshes.Add(1) }

func ExampleObserver() {
	srv := exampleServer()
	defer srv.Close()

	key, err := keys.Generate("RS512", 2048)
	if err != nil {
		log.Fatal(err)
	}
	obs := &countingObserver{}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile:  pkjwt.Local(srv.URL),
		ClientID: "my-api-key",
		Keys:     key,
		Observer: obs,
	})
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		if _, err := ts.Token(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("token requests:", obs.requests.Load(), "ok:", obs.ok.Load(), "cache hits:", obs.hits.Load())
	// Output: token requests: 1 ok: 1 cache hits: 2
}
