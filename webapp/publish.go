package webapp

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkjwt/pkjwt/keys"
)

// Retries of a failed first-publication record: the first waits
// recordRetry, each next one twice as long, recordAttempts in all. Each
// attempt itself waits up to the key directory's lock timeout for a
// rotation to finish.
const (
	recordAttempts = 5
	recordRetry    = time.Second
)

// recorder writes the first publication time of the keys the JWKS endpoint
// serves, off the request path: a request only notes the keys in memory
// (note), and one goroutine, started when there is something to record and
// ended when there is nothing left or the app closes, writes them through
// the Publisher with the directory's lock, retrying a bounded number of
// times. No request takes the lock or writes a file.
type recorder struct {
	pub    Publisher
	log    *slog.Logger
	noted  atomic.Pointer[keys.Ring] // the last ring note looked at
	ctx    context.Context           // done once closed
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending map[string]time.Time // kid → when it was first served
	running bool
}

func newRecorder(pub Publisher, log *slog.Logger) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	return &recorder{pub: pub, log: log, ctx: ctx, cancel: cancel, pending: map[string]time.Time{}}
}

// note queues the keys of ring that have no publication time, served at
// now(), once per ring, and starts the writer if it is not running. It takes
// only the recorder's own mutex, held for a map update.
func (r *recorder) note(ring *keys.Ring, now func() time.Time) {
	if ring == nil || r.noted.Load() == ring {
		return
	}
	at := now()
	r.noted.Store(ring)
	var kids []string
	for _, k := range ring.Keys() {
		if k.Published.IsZero() {
			kids = append(kids, k.ID)
		}
	}
	if len(kids) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	for _, kid := range kids {
		if _, ok := r.pending[kid]; !ok {
			r.pending[kid] = at
		}
	}
	if !r.running {
		r.running = true
		r.wg.Add(1)
		go r.run()
	}
}

// run records the pending keys until none is left, retrying a failure
// recordAttempts times, and returns when the recorder is closed.
func (r *recorder) run() {
	defer r.wg.Done()
	attempt, wait := 0, recordRetry
	for {
		r.mu.Lock()
		if len(r.pending) == 0 || r.ctx.Err() != nil {
			r.running = false
			r.mu.Unlock()
			return
		}
		// One write for the batch, at the latest serving time in it: a
		// later time only delays an activation, never hastens one.
		var kids []string
		var at time.Time
		for kid, t := range r.pending {
			kids = append(kids, kid)
			if t.After(at) {
				at = t
			}
		}
		r.mu.Unlock()

		err := r.pub.MarkPublished(r.ctx, kids, at)
		attempt++
		if err == nil || attempt >= recordAttempts || r.ctx.Err() != nil {
			r.mu.Lock()
			for _, kid := range kids {
				delete(r.pending, kid)
			}
			r.mu.Unlock()
			switch {
			case err == nil:
				r.log.Info("keys published for the first time", "kids", strings.Join(kids, ","))
			case r.ctx.Err() == nil:
				r.log.Warn("could not record the keys' first publication (record it with 'pkjwt jwks publish')", "kids", strings.Join(kids, ","), "attempts", attempt, "error", err.Error())
			}
			attempt, wait = 0, recordRetry
			continue
		}
		r.log.Debug("first publication not recorded yet; retrying", "kids", strings.Join(kids, ","), "in", wait.String(), "error", err.Error())
		t := time.NewTimer(wait)
		select {
		case <-r.ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait *= 2
	}
}

// close stops the writer and waits for it. A nil recorder is closed.
func (r *recorder) close() {
	if r == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
}
