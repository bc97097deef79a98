package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestREADMEWalkthrough runs the README's walkthrough block, as written,
// with bash: the emulator, serve, token, call and check on loopback. The
// go build line is replaced by the binary the tests built; the addresses
// are the README's own, so the test fails if 127.0.0.1:9000 or :8080 is
// taken rather than pass on other ports.
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("runs servers on the README's fixed ports")
	}
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- walkthrough -->\n```sh\n(.*?)```").FindSubmatch(data)
	if m == nil {
		t.Fatal("README has no walkthrough block")
	}
	script := string(m[1])
	build := "go build -o /tmp/pkjwt ./cmd/pkjwt && export PATH=/tmp:$PATH"
	if !strings.Contains(script, build) {
		t.Fatalf("the walkthrough no longer starts with %q; update this test", build)
	}
	script = strings.Replace(script, build, "export PATH="+filepath.Dir(pkjwtBin(t))+":$PATH", 1)
	// A failing step fails the script; background jobs are stopped even then.
	script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PKJWT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"token_type": "Bearer"`, "HTTP/1.1 200 OK", `"family":"Smith"`, "ok    token"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "FAIL") {
		t.Errorf("a check failed:\n%s", out)
	}
}
