// Liveness and readiness.

package webapp

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/pkjwt/pkjwt/keys"
)

func (a *App) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}

// Ready reports whether the app can serve the System to System Call: a key
// is loaded and one of them can sign now. The error says why not.
func (a *App) Ready(ctx context.Context) error {
	ring := a.keys.Ring()
	if ring.Len() == 0 {
		return errors.New("no keys loaded: the JWKS is empty and nothing can sign")
	}
	tc := a.ts.Config()
	k, err := tc.Keys.SigningKey()
	if err != nil {
		return fmt.Errorf("no key can sign now: %w", err)
	}
	if pk, err := ring.Lookup(k.ID); err != nil || !samePublic(pk, k) {
		return fmt.Errorf("no key can sign now: the signing key %s is not in the published JWKS", k.ID)
	}
	if a.callURL == "" || tc.TokenURL == "" || tc.ClientID == "" {
		return errors.New("configuration incomplete: token URL, client id and API URL are required")
	}
	return ctx.Err()
}

// samePublic reports whether two keys have the same public half.
func samePublic(a, b *keys.Key) bool {
	eq, ok := a.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b.Public())
}

func (a *App) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.Ready(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready: "+err.Error()+"\n")
		return
	}
	io.WriteString(w, "ready\n")
}
