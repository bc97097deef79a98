// Package httpx holds small HTTP helpers shared inside pkjwt: bounded body
// reads, the bearer token of a request, Retry-After parsing and the
// status-recording response writer.
package httpx

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrTooLarge is returned by ReadBounded when a body exceeds its limit.
var ErrTooLarge = errors.New("response body too large")

// ReadBounded reads at most limit bytes of r. A longer body is an error
// wrapping ErrTooLarge; nothing past limit+1 bytes is read.
func ReadBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("body exceeds %d bytes: %w", limit, ErrTooLarge)
	}
	return b, nil
}

// Bearer returns the bearer token of a request's Authorization header, ""
// when it has none.
func Bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// DrainClose reads a little of body, so that the connection can be reused,
// and closes it.
func DrainClose(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	body.Close()
}

// maxRetryAfter caps a Retry-After in seconds (one day), so that a huge
// value cannot overflow time.Duration.
const maxRetryAfter = 86400

// RetryAfter parses a Retry-After header (delay seconds or an HTTP date)
// relative to now. It returns 0 when the header is absent or invalid.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, maxRetryAfter)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
