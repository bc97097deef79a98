package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serverLine is the stdout line that 'pkjwt serve' and 'pkjwt emulator'
// print once they listen, after writing their --addr-file.
var serverLine = map[string]string{
	"serve":    "Serving the pkjwt web app on ",
	"emulator": "pkjwt emulator: listening on ",
}

// startServer runs 'pkjwt serve' or 'pkjwt emulator' (args[0]) with args on
// any free port of 127.0.0.1: the process binds --addr 127.0.0.1:0 itself
// and reports the port in its --addr-file, so nothing can take the port
// between its choice and its use. It returns the process and its base URL
// (http://127.0.0.1:PORT, no trailing slash).
func startServer(t *testing.T, args ...string) (*proc, string) {
	t.Helper()
	prefix, ok := serverLine[args[0]]
	if !ok {
		t.Fatalf("startServer: %q is not a server command", args[0])
	}
	addrFile := filepath.Join(t.TempDir(), "addr")
	p := startProc(t, append(append([]string{}, args...), "--addr", "127.0.0.1:0", "--addr-file", addrFile)...)
	line := p.WaitLine(t, prefix, time.Minute)
	b, err := os.ReadFile(addrFile)
	if err != nil {
		t.Fatalf("pkjwt %s printed %q but wrote no --addr-file: %v", args[0], line, err)
	}
	url := "http://" + strings.TrimSuffix(string(b), "\n")
	if !strings.HasPrefix(strings.TrimPrefix(line, prefix), url) || !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("pkjwt %s: --addr-file holds %q, the line says %q", args[0], b, line)
	}
	return p, url
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
			addrFile := p.Cmd.Args[len(p.Cmd.Args)-1]
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
