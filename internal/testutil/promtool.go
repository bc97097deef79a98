package testutil

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// PromtoolCheckMetrics runs `promtool check metrics` (Debian's prometheus
// package; "make deps" installs it) on a Prometheus text exposition and
// fails t with promtool's complaints: a bad name, a counter without
// _total, a missing HELP, a malformed line. Without promtool the test is
// skipped, unless PKJWT_REQUIRE_PROMTOOL is set ("make test" sets it): then
// it fails. PKJWT_PROMTOOL names the binary (default: promtool on PATH).
func PromtoolCheckMetrics(t testing.TB, exposition []byte) {
	t.Helper()
	bin := os.Getenv("PKJWT_PROMTOOL")
	if bin == "" {
		bin = "promtool"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		Missing(t, "PKJWT_REQUIRE_PROMTOOL", "promtool not installed (apt-get install prometheus, or 'make deps')")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || strings.TrimSpace(out.String()) != "" {
		t.Fatalf("promtool check metrics: %v\n%s\n--- exposition:\n%s", err, out.String(), exposition)
	}
}
