package webapp

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pkjwt/pkjwt/internal/httpx"
)

// middleware adds the security headers to every response, refuses Hosts
// the app does not serve (see Config.PublicURL), recovers from panics and
// logs one line per request.
func (a *App) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		rec := &httpx.StatusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v))
				if rec.Status == 0 {
					http.Error(rec, "internal error", http.StatusInternalServerError)
				}
			}
			// The path only: a query string could carry anything.
			a.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.StatusOr(),
				"duration_ms", time.Since(start).Milliseconds())
		}()
		if p := r.URL.Path; p != "/healthz" && p != "/readyz" && !a.hostAllowed(r.Host) {
			a.misdirected(rec, r)
			return
		}
		next.ServeHTTP(rec, r)
	})
}
