package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt/internal/testutil"
)

// startServer runs 'pkjwt serve' or 'pkjwt emulator' (args[0]) on any free
// port of 127.0.0.1, which the process binds and reports itself (see
// testutil.StartServer), and returns it with its base URL.
func startServer(t *testing.T, args ...string) (*proc, string) {
	t.Helper()
	return testutil.StartServer(t, binPath, nil, args...)
}

// TestAddrFile: serve and the emulator on port 0 write the address they got
// to --addr-file before the line that says they listen; it answers there;
// the file is gone once they stop.
func TestAddrFile(t *testing.T) {
	dir, _ := keyDir(t)
	for _, tc := range []struct {
		args []string
		path string
	}{
		{[]string{"serve", "--dir", dir, "--profile", "local", "--client-id", "addr-file-app"}, "/healthz"},
		{[]string{"emulator"}, "/metrics"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			p, url := startServer(t, tc.args...)
			if resp, body := httpGet(t, url+tc.path); resp.StatusCode != 200 {
				t.Fatalf("GET %s%s: %s\n%s", url, tc.path, resp.Status, body)
			}
			addrFile := p.AddrFile()
			if code := p.Interrupt(t); code != 0 {
				t.Fatalf("exit %d after SIGINT\n%s", code, p.Stderr)
			}
			if _, err := os.Stat(addrFile); !os.IsNotExist(err) {
				t.Fatalf("the address file is still there after the server stopped: %v", err)
			}
		})
	}
	// A file that cannot be written stops the server with the reason.
	r := runCLI(t, nil, "emulator", "--addr", "127.0.0.1:0", "--addr-file", filepath.Join(t.TempDir(), "no", "such", "dir", "addr"))
	if r.Code == 0 || !strings.Contains(r.Stderr, "address file") {
		t.Fatalf("unwritable --addr-file: %v", r)
	}
}
