package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
)

// jwksServer serves doc as a JWKS on loopback.
func jwksServer(t *testing.T, doc []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// emulatorFor starts the emulator with one app whose JWKS is jwksURL.
func emulatorFor(t *testing.T, apiKey, jwksURL string) string {
	t.Helper()
	emu, err := emulator.New(emulator.Config{Apps: []emulator.App{{Name: apiKey, APIKey: apiKey, JWKSURL: jwksURL, Scopes: []string{emulator.PDSScope}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	return srv.URL + "/oauth2/token"
}

// TestKeysRefPFX uses a PFX in place, with --keys pfx:FILE?kid-from=…, the
// way an app moving from the .NET sample can start before importing
// anything: the token request is signed with the PFX's key under the
// certificate-thumbprint kid, and the password comes from a file.
func TestKeysRefPFX(t *testing.T) {
	f := newPFXFixture(t, "rsa:2048")
	// The public half as the sample published it: import into a scratch
	// directory only to print the JWKS with the same kid.
	scratch := filepath.Join(t.TempDir(), "keys")
	if r := runCLI(t, nil, "keys", "import", "--dir", scratch, "--pfx", f.path("empty.pfx"), "--kid-from", "x509-sha1-hex"); r.Code != 0 {
		t.Fatal(r)
	}
	doc := runCLI(t, nil, "jwks", "--dir", scratch).Stdout
	tokenURL := emulatorFor(t, "pfx-app", jwksServer(t, []byte(doc)).URL+jwks.Path)

	cases := []struct {
		name     string
		ref      string
		extra    []string
		wantCode int
		wantKID  string
		wantErr  string
	}{
		{"empty password", "pfx:" + f.path("empty.pfx") + "?kid-from=x509-sha1-hex", nil, 0, f.fingerprint, ""},
		{"password file", "pfx:" + f.path("modern.pfx") + "?kid-from=x509-sha1-hex", []string{"--password-file", f.path("pw.txt")}, 0, f.fingerprint, ""},
		{"legacy, password from env", "pfx:" + f.path("legacy.pfx") + "?kid=" + f.fingerprint, []string{"--password-env", "PFX_PW"}, 0, f.fingerprint, ""},
		{"wrong password", "pfx:" + f.path("modern.pfx"), nil, 1, "", "password"},
		{"thumbprint kid is not registered", "pfx:" + f.path("empty.pfx"), nil, 1, "", "Invalid 'kid'"},
		{"unknown kid method", "pfx:" + f.path("empty.pfx") + "?kid-from=md5", nil, 2, "", "kid-from=md5"},
		{"unknown scheme", "vault://x/y", nil, 2, "", "unknown scheme"},
		{"missing file", "pfx:" + f.path("nope.pfx"), nil, 2, "", "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"token", "--profile", "local", "--token-url", tokenURL, "--client-id", "pfx-app", "--keys", tc.ref}, tc.extra...)
			r := runCLI(t, []string{"PFX_PW=" + fixturePassword}, args...)
			if r.Code != tc.wantCode {
				t.Fatalf("exit %d, want %d: %s", r.Code, tc.wantCode, r.Stderr)
			}
			if tc.wantErr != "" && !strings.Contains(r.Stderr, tc.wantErr) {
				t.Fatalf("stderr %q, want it to mention %q", r.Stderr, tc.wantErr)
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
	// --dir and --keys together are ambiguous.
	if r := runCLI(t, nil, "token", "--profile", "local", "--token-url", tokenURL, "--client-id", "pfx-app", "--dir", scratch, "--keys", "pfx:"+f.path("empty.pfx")); r.Code != 2 {
		t.Fatalf("--dir with --keys: %v", r)
	}
}

// TestKIDHonoured: with two keys in the directory, --kid pins the one that
// signs, and 'check' and the web app's home page say so (they used to
// report the newest active key instead).
func TestKIDHonoured(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	gen := func(args ...string) string {
		r := runCLI(t, nil, append([]string{"keys", "generate", "--dir", dir, "--bits", "2048"}, args...)...)
		if r.Code != 0 {
			t.Fatal(r)
		}
		return strings.TrimSpace(r.Stdout)
	}
	pinned := gen("--kid", "pinned-1")
	newer := gen() // active too, and newer: it signs unless --kid says otherwise
	if s := listKeys(t, dir); !s[newer].Signing {
		t.Fatalf("the newer key should sign by default: %+v", s)
	}
	doc := runCLI(t, nil, "jwks", "--dir", dir).Stdout
	jwksURL := jwksServer(t, []byte(doc)).URL + jwks.Path
	tokenURL := emulatorFor(t, "kid-app", jwksURL)
	common := []string{"--profile", "local", "--token-url", tokenURL, "--client-id", "kid-app", "--dir", dir}

	// check: the pinned key is the one it checks in the JWKS and uses.
	r := runCLI(t, nil, append([]string{"check", "--kid", pinned, "--jwks-url", jwksURL}, common...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, pinned+" signs") || !strings.Contains(r.Stdout, "holds the signing key "+pinned) ||
		!strings.Contains(r.Stdout, "assertion signed by "+pinned) {
		t.Fatalf("check --kid: %v", r)
	}
	// A kid that is not in the directory fails the check.
	if r := runCLI(t, nil, append([]string{"check", "--kid", "nope", "--no-token"}, common...)...); r.Code != 1 || !strings.Contains(r.Stdout, "--kid nope") {
		t.Fatalf("check --kid nope: %v", r)
	}

	// serve: the home page names the pinned key as the signing key.
	_, web := startServer(t, append([]string{"serve", "--kid", pinned}, common...)...)
	resp, err := http.Get(web + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `<code id="signing-kid">`+pinned+`</code>`) {
		t.Fatalf("serve --kid %s: home page shows another signing key:\n%s", pinned, excerpt(string(body)))
	}
}
