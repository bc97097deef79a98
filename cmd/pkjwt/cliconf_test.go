package main

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/jwks"
)

// quickKeyDir makes a key directory with one active 2048-bit key (quick to
// generate) and returns it and the kid.
func quickKeyDir(t *testing.T) (dir, kid string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "keys")
	r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048")
	if r.Code != 0 {
		t.Fatal(r)
	}
	return dir, strings.TrimSpace(r.Stdout)
}

// TestSafetyOverridesOnlyOnCommandLine: no environment variable or config
// file can force an action or weaken a check; a variable set for such a
// flag is ignored with a warning, and the same flag typed on the command
// line still works (so each refusal below is the variable being ignored).
func TestSafetyOverridesOnlyOnCommandLine(t *testing.T) {
	dir, k1 := quickKeyDir(t)
	r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048", "--state", "pending")
	k2 := strings.TrimSpace(r.Stdout)
	if r.Code != 0 {
		t.Fatal(r)
	}
	// Forced early activation retires k1 now: it is inside its grace.
	if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", k2, "--force"); r.Code != 0 {
		t.Fatal(r)
	}
	for _, tc := range []struct {
		name, env, warning string
	}{
		{"PKJWT_FORCE", "PKJWT_FORCE=true", "PKJWT_FORCE is ignored"},
		{"PKJWT_GRACE", "PKJWT_GRACE=0s", "PKJWT_GRACE is ignored"},
	} {
		t.Run(tc.name+" does not remove a key inside its grace", func(t *testing.T) {
			r := runCLI(t, []string{tc.env}, "keys", "remove", "--dir", dir, "--kid", k1)
			if r.Code != 1 || !strings.Contains(r.Stderr, "warning: "+tc.warning) || !strings.Contains(r.Stderr, "grace") {
				t.Fatalf("%s keys remove: %v", tc.env, r)
			}
			if _, ok := listKeys(t, dir)[k1]; !ok {
				t.Fatalf("%s removed %s inside its grace", tc.env, k1)
			}
		})
	}
	t.Run("--force on the command line removes it", func(t *testing.T) {
		if r := runCLI(t, nil, "keys", "remove", "--dir", dir, "--kid", k1, "--force"); r.Code != 0 {
			t.Fatalf("keys remove --force: %v", r)
		}
		if _, ok := listKeys(t, dir)[k1]; ok {
			t.Fatal("keys remove --force left the key")
		}
	})

	t.Run("PKJWT_INSECURE_KEY_PERMISSIONS does not disarm the key-file check", func(t *testing.T) {
		loose, _ := quickKeyDir(t)
		pems, _ := filepath.Glob(filepath.Join(loose, "*.pem"))
		if len(pems) == 0 {
			t.Fatal("no key file in the directory")
		}
		for _, p := range pems {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range []string{"1", "true"} {
			r := runCLI(t, []string{"PKJWT_INSECURE_KEY_PERMISSIONS=" + v}, "keys", "list", "--dir", loose)
			if r.Code != 1 || !strings.Contains(r.Stderr, "warning: PKJWT_INSECURE_KEY_PERMISSIONS is ignored") || !strings.Contains(r.Stderr, "chmod 600") {
				t.Fatalf("PKJWT_INSECURE_KEY_PERMISSIONS=%s keys list: %v", v, r)
			}
		}
		if r := runCLI(t, nil, "keys", "list", "--dir", loose, "--insecure-key-permissions"); r.Code != 0 {
			t.Fatalf("--insecure-key-permissions on the command line: %v", r)
		}
	})

	t.Run("a config file cannot set a command-line-only flag", func(t *testing.T) {
		for _, line := range []string{"force: true", "show-token: true", "insecure-key-permissions: true", "insecure_key_permissions: true"} {
			cfg := filepath.Join(t.TempDir(), "pkjwt.yaml")
			if err := os.WriteFile(cfg, []byte("client-id: app-1\n"+line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runCLI(t, nil, "token", "--config", cfg, "--dir", dir, "--token-url", "https://127.0.0.1:1/token")
			if r.Code != 2 || !strings.Contains(r.Stderr, "config file "+cfg) {
				t.Errorf("config file with %q: %v", line, r)
			}
		}
	})
}

// TestConfigurationHelp: each command's --help lists the flags that read a
// variable, and which; the addresses of serve, emulator and demo read
// different variables, and a variable meant for another command is
// ignored with a warning.
func TestConfigurationHelp(t *testing.T) {
	cases := []struct {
		cmd        []string
		want, dont []string
	}{
		{[]string{"token"}, []string{"--client-id", "PKJWT_CLIENT_ID", "PKJWT_PROFILE", "PKJWT_KEYS", "PKJWT_CONFIG", "only from the command line"},
			[]string{"PKJWT_SHOW_TOKEN", "PKJWT_INSECURE_KEY_PERMISSIONS"}},
		{[]string{"keys", "remove"}, []string{"PKJWT_DIR", "only from the command line"}, []string{"PKJWT_FORCE", "PKJWT_GRACE", "PKJWT_KID", "config file"}},
		{[]string{"keys", "activate"}, []string{"PKJWT_DIR"}, []string{"PKJWT_FORCE", "PKJWT_LEAD", "PKJWT_KID"}},
		{[]string{"serve"}, []string{"PKJWT_ADDR", "PKJWT_PUBLIC_URL", "PKJWT_LOG_LEVEL"}, []string{"PKJWT_EMULATOR_ADDR", "PKJWT_DEMO_ADDR"}},
		{[]string{"emulator"}, []string{"PKJWT_EMULATOR_ADDR", "PKJWT_EMULATOR_PUBLIC_URL", "PKJWT_LOG_FORMAT"},
			[]string{"PKJWT_ADDR ", "PKJWT_REFETCH_UNKNOWN_KID", "PKJWT_SANDBOX"}},
		{[]string{"demo"}, []string{"PKJWT_DEMO_ADDR", "PKJWT_DEMO_EMULATOR_ADDR", "PKJWT_DEMO_DIR"}, []string{"PKJWT_ADDR ", "PKJWT_DIR "}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.cmd, " "), func(t *testing.T) {
			r := runCLI(t, nil, append(tc.cmd, "--help")...)
			if r.Code != 0 {
				t.Fatal(r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stdout, w) {
					t.Errorf("--help lacks %q:\n%s", w, r.Stdout)
				}
			}
			for _, d := range tc.dont {
				if strings.Contains(r.Stdout, d) {
					t.Errorf("--help mentions %q:\n%s", d, r.Stdout)
				}
			}
		})
	}
	t.Run("demo reads PKJWT_DEMO_ADDR, not PKJWT_ADDR", func(t *testing.T) {
		env := []string{"PKJWT_ADDR=127.0.0.1:1", "PKJWT_DEMO_ADDR=0.0.0.0:1", "PKJWT_DEMO_DIR=" + filepath.Join(t.TempDir(), "demo")}
		r := runCLI(t, env, "demo")
		if r.Code != 2 || !strings.Contains(r.Stderr, "PKJWT_DEMO_ADDR: \"0.0.0.0:1\"") ||
			!strings.Contains(r.Stderr, "warning: PKJWT_ADDR is ignored: 'pkjwt demo --addr' reads PKJWT_DEMO_ADDR") {
			t.Fatalf("demo: %v", r)
		}
	})
}

// TestErrorsNameTheirOrigin: a bad value says where it came from: the
// flag, the variable or the config file (with its path), also for values
// checked after parsing.
func TestErrorsNameTheirOrigin(t *testing.T) {
	dir, _ := quickKeyDir(t)
	config := func(body string) string {
		p := filepath.Join(t.TempDir(), "pkjwt.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lifetimeFile := config("profile: nhs-int\nlifetime: 10m\n")
	profileFile := config("profile: bogus\n")
	base := []string{"--dir", dir, "--client-id", "app-1"}
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"profile from the environment", []string{"PKJWT_PROFILE=bogus"}, []string{"token"}, `PKJWT_PROFILE: unknown profile "bogus"`},
		{"profile from the flag", nil, []string{"token", "--profile", "bogus"}, `-profile: unknown profile "bogus"`},
		{"profile from a config file", nil, []string{"token", "--config", profileFile}, "config file " + profileFile + `: key "profile": unknown profile "bogus"`},
		{"timeout from the environment", []string{"PKJWT_TIMEOUT=-1s"}, append([]string{"token", "--token-url", "https://127.0.0.1:1/token"}, base...), "PKJWT_TIMEOUT: must be positive"},
		{"timeout from the flag", nil, append([]string{"token", "--timeout", "-1s", "--token-url", "https://127.0.0.1:1/token"}, base...), "--timeout: must be positive"},
		{"lifetime from a config file", nil, append([]string{"token", "--config", lifetimeFile}, base...), "config file " + lifetimeFile + " (key lifetime): assertion lifetime 10m0s exceeds"},
		{"token URL from the environment", []string{"PKJWT_TOKEN_URL=not-a-url"}, append([]string{"token", "--profile", "local"}, base...), `PKJWT_TOKEN_URL: "not-a-url" is not an absolute URL`},
		{"duration from the environment", []string{"PKJWT_EVERY=xyz"}, []string{"check"}, `PKJWT_EVERY: invalid value "xyz"`},
		{"publish destination from the environment", []string{"PKJWT_PUBLISH_TO=ftp://example.invalid/jwks.json"}, []string{"jwks", "publish", "--dir", dir},
			`PKJWT_PUBLISH_TO: publish: bad destination`},
		{"log level from the environment", []string{"PKJWT_LOG_LEVEL=loud"}, append([]string{"serve"}, base...), `PKJWT_LOG_LEVEL: log level "loud"`},
		{"unknown --keys scheme from the environment", []string{"PKJWT_KEYS=foo:key.pem"}, []string{"token", "--client-id", "app-1", "--token-url", "https://127.0.0.1:1/token"},
			`PKJWT_KEYS: "foo:key.pem": unknown scheme "foo:"`},
		{"unknown --keys scheme from the flag", nil, []string{"token", "--client-id", "app-1", "--token-url", "https://127.0.0.1:1/token", "--keys", "foo:key.pem"},
			`--keys: "foo:key.pem": unknown scheme "foo:": use a directory (./keys or dir:PATH), pem:FILE, pfx:FILE, azurekv://… or awskms://…`},
		{"bad Key Vault secret reference", nil, []string{"token", "--client-id", "app-1", "--token-url", "https://127.0.0.1:1/token", "--keys", "azurekv://a_b/secrets/JWT--PubPrivateKeyBase64"},
			`--keys: azurekv: bad reference: "azurekv://a_b/secrets/JWT--PubPrivateKeyBase64": vault name "a_b"`},
		{"bad Key Vault key reference", nil, []string{"token", "--client-id", "app-1", "--token-url", "https://127.0.0.1:1/token", "--keys", "azurekv://myvault/certificates/nhs"},
			`--keys: azurekv: bad reference: "azurekv://myvault/certificates/nhs": the path must start with /keys/ or /secrets/`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, tc.args...)
			if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("want exit 2 and %q: %v", tc.want, r)
			}
			if strings.Contains(r.Stderr, "keys generate") {
				t.Fatalf("a usage error hints at creating keys: %v", r)
			}
		})
	}
}

// TestKeysRefPEM uses one PEM key file in place with --keys pem:FILE: the
// token is signed with its key under its thumbprint kid (or ?kid=), an
// encrypted PKCS#8 file opens with --password-file, kid-from methods that
// need a certificate are refused, and a file that others may read is
// refused unless --insecure-key-permissions is typed.
func TestKeysRefPEM(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	plain := filepath.Join(tmp, "key.pem")
	if err := os.WriteFile(plain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	encrypted := filepath.Join(tmp, "encrypted.pem")
	if err := os.WriteFile(encrypted, testutil.EncryptPEM(t, priv, fixturePassword, 10_000), 0o600); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(tmp, "pw.txt")
	if err := os.WriteFile(pwFile, []byte(fixturePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(tmp, "loose.pem")
	if err := os.WriteFile(loose, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	// The JWKS the app registered: the same key imported elsewhere.
	scratch := filepath.Join(t.TempDir(), "keys")
	r := runCLI(t, nil, "keys", "import", "--dir", scratch, "--pem", plain)
	if r.Code != 0 {
		t.Fatal(r)
	}
	thumb := strings.TrimSpace(r.Stdout)
	doc := runCLI(t, nil, "jwks", "--dir", scratch).Stdout
	tokenURL := emulatorFor(t, "pem-app", jwksServer(t, []byte(doc)).URL+jwks.Path)

	cases := []struct {
		name     string
		ref      string
		extra    []string
		wantCode int
		wantKID  string
		wantErr  string
	}{
		{"plain PKCS#8", "pem:" + plain, nil, 0, thumb, ""},
		{"kid-from thumbprint", "pem:" + plain + "?kid-from=thumbprint", nil, 0, thumb, ""},
		{"encrypted, password file", "pem:" + encrypted, []string{"--password-file", pwFile}, 0, thumb, ""},
		{"encrypted, no password", "pem:" + encrypted, nil, 1, "", "pem:" + encrypted},
		{"a kid the server does not know", "pem:" + plain + "?kid=other-kid", nil, 1, "", "Invalid 'kid'"},
		{"kid-from needs a certificate", "pem:" + plain + "?kid-from=x509-sha1-hex", nil, 2, "", "needs a certificate"},
		{"no file", "pem:", nil, 2, "", "no file after pem:"},
		{"missing file", "pem:" + filepath.Join(tmp, "nope.pem"), nil, 2, "", "no such file"},
		{"readable by others", "pem:" + loose, nil, 1, "", "chmod 600 " + loose},
		{"readable by others, --insecure-key-permissions", "pem:" + loose, []string{"--insecure-key-permissions"}, 0, thumb, ""},
		{"readable by others, PKJWT_INSECURE_KEY_PERMISSIONS", "pem:" + loose, []string{"PKJWT_INSECURE_KEY_PERMISSIONS=1"}, 1, "", "chmod 600"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"token", "--profile", "local", "--token-url", tokenURL, "--client-id", "pem-app", "--keys", tc.ref}
			var env []string
			for _, x := range tc.extra {
				if strings.HasPrefix(x, "PKJWT_") {
					env = append(env, x)
				} else {
					args = append(args, x)
				}
			}
			r := runCLI(t, env, args...)
			if r.Code != tc.wantCode || !strings.Contains(r.Stderr, tc.wantErr) {
				t.Fatalf("want exit %d and %q: %v", tc.wantCode, tc.wantErr, r)
			}
			if tc.wantKID != "" {
				var info map[string]any
				if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil || info["kid"] != tc.wantKID {
					t.Fatalf("token output %q (%v), want kid %s", r.Stdout, err, tc.wantKID)
				}
			}
			if strings.Contains(r.Stdout+r.Stderr, fixturePassword) {
				t.Fatal("the password was printed")
			}
		})
	}
}

// hostileTokenEndpoint answers every request with an RFC 6749 error whose
// members carry terminal escapes: clear screen, a fake "ok" line, an OSC 52
// clipboard write, a window title and a bidi override.
func hostileTokenEndpoint(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusUnauthorized)
		if r.Method == http.MethodHead {
			return
		}
		json.NewEncoder(w).Encode(map[string]string{
			"error":             "invalid_client\x1b[2J",
			"error_description": "denied\x1b[2J\x1b[H\nok    token  got a Bearer token\x1b]52;c;ZWNobyBwd25lZA==\x07 \u202edenied",
			"message_id":        "rrt-1\x1b]0;owned\x07\r\u009b",
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestServerTextIsInert: what a hostile token endpoint says reaches the
// terminal with its control characters escaped, in token, call and check.
func TestServerTextIsInert(t *testing.T) {
	dir, _ := quickKeyDir(t)
	srv := hostileTokenEndpoint(t)
	common := []string{"--dir", dir, "--client-id", "app-1", "--token-url", srv.URL + "/token"}
	for _, args := range [][]string{
		append([]string{"token"}, common...),
		append([]string{"call"}, append(common, srv.URL+"/api")...),
		append([]string{"check"}, common...),
	} {
		t.Run(args[0], func(t *testing.T) {
			r := runCLI(t, nil, args...)
			if r.Code != 1 {
				t.Fatalf("exit %d, want 1: %v", r.Code, r)
			}
			out := r.Stdout + r.Stderr
			for i, c := range out {
				if (c < 0x20 && c != '\n') || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == utf8.RuneError || (c >= 0x202a && c <= 0x202e) {
					t.Fatalf("raw control character %U at byte %d of the output: %q", c, i, out)
				}
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "ok    token") {
					t.Fatalf("the server faked a line: %q", out)
				}
			}
			if !strings.Contains(out, `denied\x1b[2J\x1b[H\nok    token`) || !strings.Contains(out, `\x1b]52;c;`) || !strings.Contains(out, `\u202e`) {
				t.Fatalf("the server's text is not shown escaped: %q", out)
			}
		})
	}
}

// TestCallStatusLineIsInert: Go's HTTP client refuses control characters
// in response header values but passes them in the status line's reason
// phrase; 'call' prints that line on stderr with them escaped.
func TestCallStatusLineIsInert(t *testing.T) {
	dir, _ := quickKeyDir(t)
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"opaque-test-token","token_type":"Bearer","expires_in":600}`))
	}))
	t.Cleanup(tokens.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\x1b[2J\x1b]52;c;ZXZpbA==\x07\u202e\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
			}()
		}
	}()
	r := runCLI(t, nil, "call", "--dir", dir, "--client-id", "app-1", "--token-url", tokens.URL+"/token", "http://"+ln.Addr().String()+"/api")
	if r.Code != 0 {
		t.Fatal(r)
	}
	for i, c := range r.Stderr {
		if (c < 0x20 && c != '\n') || (c >= 0x202a && c <= 0x202e) {
			t.Fatalf("raw %U at byte %d of stderr: %q", c, i, r.Stderr)
		}
	}
	if !strings.Contains(r.Stderr, `200 OK\x1b[2J\x1b]52;c;ZXZpbA==\x07\u202e`) {
		t.Fatalf("the status line is not shown escaped: %q", r.Stderr)
	}
}
