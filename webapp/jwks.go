// The JWKS endpoint, and the note of first publication it hands to the
// recorder (publish.go).

package webapp

import (
	"context"
	"net/http"
	"time"

	"github.com/pkjwt/pkjwt/keys"
)

// serveJWKS serves the JWKS of the current ring, re-marshalling it only
// when the key source has moved to a new ring.
func (a *App) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if ring := a.keys.Ring(); a.jwksRing.Load() != ring {
		if err := a.jwks.Update(ring.Keys()); err != nil {
			a.log.Error("JWKS update failed; serving the previous keys", "error", err.Error())
		} else {
			a.jwksRing.Store(ring)
		}
	}
	a.jwks.ServeHTTP(w, r)
	a.notePublished(a.jwksRing.Load())
}

// Publisher is a key source that records when its keys were first
// published; [*keys.DirSource] is one. The App calls MarkPublished from a
// goroutine of its own, never from a request.
type Publisher interface {
	MarkPublished(ctx context.Context, kids []string, t time.Time) error
}

// notePublished hands the keys of ring that have no publication time yet,
// once per ring, to the recorder, which writes their first publication
// time in the background (see recorder): serving the JWKS never waits for
// the key directory's lock or a disk. Key rotation relies on that time: a
// key may sign only once it has been published for the lead.
func (a *App) notePublished(ring *keys.Ring) {
	if a.firstPublish != nil {
		a.firstPublish.note(ring, a.now) // the clock is read only for a new ring
	}
}
