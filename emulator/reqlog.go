package emulator

import (
	"log/slog"
	"net/http"
	"unicode/utf8"
)

// maxLoggedID bounds a logged request id: the header comes from the client.
const maxLoggedID = 128

// cleanID makes a client-sent id fit for a log line: at most 128 bytes of
// printable ASCII (anything else becomes '_'). The emulator imports no
// pkjwt package (TestNoClientImports), so this is its own copy of the
// CLI's rule.
func cleanID(v string) string {
	if len(v) > maxLoggedID {
		v = v[:maxLoggedID]
	}
	b := []byte(v)
	for i, c := range b {
		if c < 0x21 || c > 0x7e {
			b[i] = '_'
		}
	}
	return string(b)
}

// maxEchoed bounds a request header value that an error text echoes (the
// invalid X-Request-ID, the Authorization scheme), as cleanID bounds a
// logged request id.
const maxEchoed = maxLoggedID

// echoed bounds a request header value that an error text quotes: at most
// maxEchoed bytes, cut on a UTF-8 boundary, with "…" when cut. Control
// characters stay for the JSON encoder to escape: the text says what was
// sent, only not all of it.
func echoed(v string) string {
	if len(v) <= maxEchoed {
		return v
	}
	cut := maxEchoed
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "…"
}

// requestIDAttrs appends the request's X-Request-ID and X-Correlation-ID
// to attrs ("" when absent), for the one log line per request.
func requestIDAttrs(attrs []slog.Attr, r *http.Request) []slog.Attr {
	return append(attrs,
		slog.String("request_id", cleanID(r.Header.Get("X-Request-ID"))),
		slog.String("correlation_id", cleanID(r.Header.Get("X-Correlation-ID"))))
}
