package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestREADMEWalkthrough runs the README's walkthrough block, as written,
// with bash: serve, the emulator, token, call and check on loopback. The
// go build line is replaced by the binary the tests built; nothing else
// is. The servers take free ports and report them (--addr 127.0.0.1:0
// --addr-file), so the walkthrough must not depend on the defaults: the
// test holds 127.0.0.1:8080 and :9000 while it runs (when something else
// holds one, the better) and fails if anything connects to them.
func TestREADMEWalkthrough(t *testing.T) {
	var stray atomic.Int64
	for _, addr := range []string{"127.0.0.1:8080", "127.0.0.1:9000"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("%s is taken already: %v", addr, err)
			continue
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				stray.Add(1)
				c.Close()
			}
		}()
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
	if n := stray.Load(); n > 0 {
		t.Errorf("%d connections to 127.0.0.1:8080 or :9000, which the walkthrough must not use:\n%s", n, out)
	}
}
