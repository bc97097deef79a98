package reqlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestTextLogIsInert: a server's text in a text-format log line (a token
// error's description, say) has its control characters and bidi overrides
// escaped by the handler's quoting: the line cannot clear a terminal that
// tails the log, nor add a line of its own.
func TestTextLogIsInert(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "text", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	hostile := "denied\x1b[2J\nlevel=INFO msg=ok\x1b]52;c;ZXZpbA==\x07\u202e\u009b"
	log.Info("token request failed", "error_description", hostile, "message_id", hostile)
	line := buf.String()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("not one line: %q", line)
	}
	for _, r := range strings.TrimSuffix(line, "\n") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) {
			t.Fatalf("raw %U in the log line %q", r, line)
		}
	}
}
