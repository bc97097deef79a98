// Package reqlog holds what pkjwt's servers and CLI share about logging:
// the --log-format and --log-level values, and the request ids a request
// log line carries.
package reqlog

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Formats are the values of --log-format.
var Formats = []string{"text", "json"}

// Levels are the values of --log-level.
var Levels = []string{"debug", "info", "warn", "error"}

// ParseLevel parses a --log-level value.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want one of %s", s, strings.Join(Levels, ", "))
}

// New returns a logger writing to w in format ("text" or "json") at level
// and above.
func New(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// Request id headers a request log line reports.
const (
	RequestIDHeader     = "X-Request-ID"
	CorrelationIDHeader = "X-Correlation-ID"
)

// maxID bounds a logged id: the header comes from the client.
const maxID = 128

// Clean makes a client-sent id fit for a log line: at most 128 bytes, and
// only printable ASCII (anything else becomes '_').
func Clean(v string) string {
	if len(v) > maxID {
		v = v[:maxID]
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e {
			b := []byte(v)
			for j := i; j < len(b); j++ {
				if b[j] < 0x21 || b[j] > 0x7e {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return v
}

// IDs returns the request's X-Request-ID and X-Correlation-ID, cleaned;
// "" for a header the request does not carry.
func IDs(r *http.Request) (requestID, correlationID string) {
	return Clean(r.Header.Get(RequestIDHeader)), Clean(r.Header.Get(CorrelationIDHeader))
}

// Attrs appends the request_id and correlation_id attributes of r to attrs
// (both always present, "" when the header is absent, so that every line
// has the same fields).
func Attrs(attrs []slog.Attr, r *http.Request) []slog.Attr {
	rid, cid := IDs(r)
	return append(attrs, slog.String("request_id", rid), slog.String("correlation_id", cid))
}
