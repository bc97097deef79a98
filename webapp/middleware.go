package webapp

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/pkjwt/pkjwt/internal/httpx"
	"github.com/pkjwt/pkjwt/internal/reqlog"
)

// middleware adds the security headers to every response, refuses Hosts
// the app does not serve (see Config.PublicURL), recovers from panics,
// counts every request in the metrics and logs one line per request: at
// info for pages, at debug for the machine endpoints (JWKS, metrics, health,
// the stylesheet), which the metrics count instead. The line carries the
// request's X-Request-ID and X-Correlation-ID.
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
			route := routeName(r.URL.Path)
			status := rec.StatusOr()
			a.metrics.countRequest(route, status)
			level := slog.LevelInfo
			switch route {
			case "jwks", "metrics", "healthz", "readyz", "static":
				level = slog.LevelDebug
			}
			if !a.log.Enabled(r.Context(), level) {
				return
			}
			// The path only: a query string could carry anything.
			attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Int64("duration_ms", time.Since(start).Milliseconds())}
			a.log.LogAttrs(r.Context(), level, "request", reqlog.Attrs(attrs, r)...)
		}()
		if p := r.URL.Path; p != "/healthz" && p != "/readyz" && p != MetricsPath && !a.hostAllowed(r.Host) {
			a.misdirected(rec, r)
			return
		}
		next.ServeHTTP(rec, r)
	})
}
