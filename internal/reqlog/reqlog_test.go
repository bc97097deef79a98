package reqlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	cases := []struct {
		in   string
		want slog.Level
		bad  bool
	}{
		{"debug", slog.LevelDebug, false}, {"INFO", slog.LevelInfo, false}, {"warn", slog.LevelWarn, false},
		{"error", slog.LevelError, false}, {"trace", 0, true}, {"1", 0, true},
	}
	for _, tc := range cases {
		got, err := ParseLevel(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseLevel(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestNewFormats(t *testing.T) {
	var b bytes.Buffer
	l, err := New(&b, "json", slog.LevelWarn)
	if err != nil {
		t.Fatal(err)
	}
	l.Info("dropped")
	l.Warn("kept", "k", "v")
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil || m["msg"] != "kept" || m["k"] != "v" {
		t.Fatalf("json line %q: %v", b.String(), err)
	}
	b.Reset()
	l, _ = New(&b, "text", slog.LevelDebug)
	l.Debug("d")
	if !strings.Contains(b.String(), "level=DEBUG msg=d") {
		t.Fatalf("text line %q", b.String())
	}
	if _, err := New(&b, "xml", slog.LevelInfo); err == nil {
		t.Fatal("xml accepted")
	}
}

func TestIDs(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Request-ID", "60E0B220-8136-4CA5-AE46-1D97EF59D068")
	r.Header.Set("X-Correlation-ID", "a b\nc"+strings.Repeat("x", 300))
	rid, cid := IDs(r)
	if rid != "60E0B220-8136-4CA5-AE46-1D97EF59D068" {
		t.Errorf("request id %q", rid)
	}
	if len(cid) != maxID || !strings.HasPrefix(cid, "a_b_c") {
		t.Errorf("correlation id %q", cid)
	}
	attrs := Attrs(nil, httptest.NewRequest("GET", "/", nil))
	if len(attrs) != 2 || attrs[0].Value.String() != "" || attrs[1].Key != "correlation_id" {
		t.Errorf("attrs %v", attrs)
	}
}
