package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/jwks"
)

// localEmulator generates a key in a new directory, starts the emulator
// with an app whose JWKS is that key's, and returns the directory and the
// client flags that reach it.
func localEmulator(t *testing.T) (dir string, flags []string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "keys")
	if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048"); r.Code != 0 {
		t.Fatal(r)
	}
	doc := runCLI(t, nil, "jwks", "--dir", dir).Stdout
	tokenURL := emulatorFor(t, "new-user-app", jwksServer(t, []byte(doc)).URL+jwks.Path)
	return dir, []string{"--profile", "local", "--token-url", tokenURL, "--client-id", "new-user-app", "--dir", dir}
}

// TestNewUserRoughEdges: each point a new user tripped over (issue 10's
// CLI list), through the binary.
func TestNewUserRoughEdges(t *testing.T) {
	dir, flags := localEmulator(t)

	t.Run("version", func(t *testing.T) {
		for _, args := range [][]string{{"version"}, {"--version"}} {
			r := runCLI(t, nil, args...)
			if r.Code != 0 || !strings.HasPrefix(r.Stdout, "pkjwt ") || !strings.Contains(r.Stdout, "go1.") {
				t.Fatalf("%v: %v", args, r)
			}
		}
	})
	t.Run("call: flags after the URL, -i, request ids", func(t *testing.T) {
		r := runCLI(t, nil, append([]string{"call", "Patient/9000000009", "-i", "--header", "X-Correlation-ID: 11111111-2222-4333-8444-555555555555"}, flags...)...)
		if r.Code != 0 {
			t.Fatalf("call URL --flags: %v", r)
		}
		if !strings.HasPrefix(r.Stdout, "HTTP/1.1 200 OK\r\n") || !strings.Contains(r.Stdout, "Content-Type: application/fhir+json") || !strings.Contains(r.Stdout, "\r\n\r\n{") {
			t.Fatalf("-i output:\n%s", excerpt(r.Stdout))
		}
		if !strings.Contains(r.Stderr, "X-Request-ID (sent): ") || !strings.Contains(r.Stderr, "X-Correlation-ID (answered): 11111111-2222-4333-8444-555555555555") {
			t.Fatalf("request ids on stderr: %q", r.Stderr)
		}
		plain := runCLI(t, nil, append([]string{"call"}, append(flags, "Patient/9000000009")...)...)
		if plain.Code != 0 || !strings.HasPrefix(plain.Stdout, "{") {
			t.Fatalf("without -i the body alone: %v", excerpt(plain.Stdout))
		}
	})
	t.Run("missing and empty key directories", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope")
		empty := t.TempDir()
		for _, tc := range []struct {
			args []string
			want string
			code int
		}{
			{[]string{"token", "--profile", "local", "--client-id", "x", "--dir", missing}, "no key directory at " + missing, 1},
			{[]string{"token", "--profile", "local", "--client-id", "x", "--dir", empty}, "holds no key", 1},
			{[]string{"keys", "list", "--dir", missing}, "no key directory at", 1},
			{[]string{"jwks", "--dir", missing}, "no key directory at", 1},
		} {
			r := runCLI(t, nil, tc.args...)
			if r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) || !strings.Contains(r.Stderr, "hint: ") {
				t.Errorf("%v: exit %d, stderr %q; want %d and %q with a hint", tc.args, r.Code, r.Stderr, tc.code, tc.want)
			}
		}
		if r := runCLI(t, nil, "keys", "list", "--dir", empty); r.Code != 0 || !strings.Contains(r.Stderr, "holds no key") {
			t.Errorf("keys list of an empty directory: %v", r)
		}
	})
	t.Run("one error style", func(t *testing.T) {
		// A token URL that answers a web page.
		html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(404)
			w.Write([]byte("<!DOCTYPE html>\n<html>\n<head><title>Not Found</title></head>\n<body>\n<p>nothing here</p>\n</body></html>\n"))
		}))
		defer html.Close()
		r := runCLI(t, nil, "token", "--profile", "local", "--token-url", html.URL+"/oauth2/token", "--client-id", "x", "--dir", dir)
		if r.Code != 1 || strings.Contains(r.Stderr, "pkjwt: ") ||
			!strings.HasPrefix(r.Stderr, "pkjwt token: ") || strings.Contains(r.Stderr, `\n`) ||
			!strings.Contains(r.Stderr, `"Not Found"`) || !strings.Contains(r.Stderr, "hint: ") || !strings.Contains(r.Stderr, "--token-url") {
			t.Errorf("HTML token URL: %v", r)
		}
		// An NHS error gets its hint and the pointer to check.
		r = runCLI(t, nil, append([]string{"token"}, append(flags[:4:4], "--client-id", "not-registered", "--dir", dir)...)...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "hint: ") || !strings.Contains(r.Stderr, "pkjwt check") {
			t.Errorf("NHS error without hint: %v", r)
		}
		// Usage errors exit 2, whatever the flag.
		for _, args := range [][]string{
			append([]string{"token", "--lifetime", "10m"}, flags...),
			append([]string{"token", "--profile", "bogus"}, flags[2:]...),
		} {
			if r := runCLI(t, nil, args...); r.Code != 2 {
				t.Errorf("%v: exit %d, want 2: %s", args, r.Code, r.Stderr)
			}
		}
	})
	t.Run("environment variables are traced", func(t *testing.T) {
		r := runCLI(t, []string{"PKJWT_PROFILE=bogus"}, "token", "--client-id", "x", "--dir", dir)
		if r.Code != 2 || !strings.Contains(r.Stderr, "PKJWT_PROFILE") {
			t.Errorf("PKJWT_PROFILE=bogus: %v", r)
		}
		r = runCLI(t, []string{"PKJWT_SHOW_TOKEN=1"}, append([]string{"token"}, flags...)...)
		if r.Code != 0 || !strings.Contains(r.Stderr, "PKJWT_SHOW_TOKEN is ignored") || strings.Contains(r.Stdout, "access_token") {
			t.Errorf("PKJWT_SHOW_TOKEN=1: %v", r)
		}
	})
	t.Run("help", func(t *testing.T) {
		r := runCLI(t, nil, "keys", "generate", "--help")
		if !strings.Contains(r.Stdout, "--state active|pending") || strings.Contains(r.Stdout, "config file") {
			t.Errorf("keys generate --help: %s", r.Stdout)
		}
		r = runCLI(t, nil, "check", "--help")
		order := []string{"  keys ", "  config ", "  jwks ", "  clock ", "  token "}
		last := -1
		for _, o := range order {
			i := strings.Index(r.Stdout, o)
			if i < last {
				t.Errorf("check --help lists %q out of the order it prints", o)
			}
			last = i
		}
	})
}

// TestInsecureKeyFileRefused: a private key file with mode 0644 is refused
// with the command that fixes it; --insecure-key-permissions loads it.
func TestInsecureKeyFileRefused(t *testing.T) {
	dir, flags := localEmulator(t)
	matches, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(matches) != 1 {
		t.Fatal(matches)
	}
	if err := os.Chmod(matches[0], 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, append([]string{"token"}, flags...)...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "chmod 600 "+matches[0]) {
		t.Fatalf("0644 key: %v", r)
	}
	if r := runCLI(t, nil, append([]string{"token", "--insecure-key-permissions"}, flags...)...); r.Code != 0 {
		t.Fatalf("--insecure-key-permissions: %v", r)
	}
}

// TestDemoTwice: a second demo on the same address says which address is
// taken and how to choose another.
func TestDemoTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 4096-bit key")
	}
	d := t.TempDir()
	first := startProc(t, "demo", "--addr", "127.0.0.1:0", "--dir", d)
	open := first.WaitLine(t, "Open ", 3*time.Minute)
	addr := strings.TrimSuffix(strings.TrimPrefix(open, "Open http://"), "/")
	r := runCLI(t, nil, "demo", "--addr", addr, "--dir", d)
	if r.Code != 1 || !strings.Contains(r.Stderr, addr) || !strings.Contains(r.Stderr, "already in use") || !strings.Contains(r.Stderr, "--addr") {
		t.Fatalf("second demo: %v", r)
	}
}
