package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// generated is one 4096-bit key made with the CLI, shared by the tests
// below (RSA-4096 generation takes seconds).
var generated struct {
	once sync.Once
	dir  string
	kid  string
	err  error
}

func keyDir(t *testing.T) (dir, kid string) {
	t.Helper()
	generated.once.Do(func() {
		d, err := os.MkdirTemp("", "pkjwt-cli-keys-")
		if err != nil {
			generated.err = err
			return
		}
		generated.dir = filepath.Join(d, "keys")
		r := runCLI(t, nil, "keys", "generate", "--dir", generated.dir)
		if r.Code != 0 {
			generated.err = fmt.Errorf("keys generate: %d %s", r.Code, r.Stderr)
		}
		generated.kid = strings.TrimSpace(r.Stdout)
	})
	if generated.err != nil {
		t.Fatal(generated.err)
	}
	return generated.dir, generated.kid
}

func TestKeysGenerate(t *testing.T) {
	dir, kid := keyDir(t)
	path := filepath.Join(dir, kid+".pem")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %v", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	b, _ := pem.Decode(data)
	priv, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rk := priv.(*rsa.PrivateKey)
	if rk.N.BitLen() != 4096 {
		t.Fatalf("%d bits, want 4096", rk.N.BitLen())
	}
	// The kid is the RFC 7638 thumbprint, computed here with go-jose directly.
	sum, err := (&jose.JSONWebKey{Key: &rk.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64url(sum); kid != want {
		t.Fatalf("kid %s, thumbprint %s", kid, want)
	}
}

func base64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestKeysGenerateRejects(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--bits", "1024"}, "at least 2048"},
		{[]string{"--alg", "HS256"}, "unsupported signing algorithm"},
		{[]string{"--state", "retired"}, "--state must be"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--nope"}, "flag provided but not defined"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "k")
			r := runCLI(t, nil, append([]string{"keys", "generate", "--dir", dir}, tc.args...)...)
			if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.Code, r.Stderr, tc.want)
			}
			if _, err := os.Stat(dir); err == nil {
				entries, _ := os.ReadDir(dir)
				if len(entries) > 0 {
					t.Fatalf("a refused command left files: %v", entries)
				}
			}
		})
	}
}

func TestJWKSCommand(t *testing.T) {
	dir, kid := keyDir(t)
	r := runCLI(t, nil, "jwks", "--dir", dir)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("%q: %v", r.Stdout, err)
	}
	k := set.Keys[0]
	if len(k) != 6 || k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS512" || k["kid"] != kid || k["e"] != "AQAB" || len(k["n"]) != 683 {
		t.Fatalf("JWK %v", k)
	}
	// The same bytes through an environment variable.
	if r2 := runCLI(t, []string{"PKJWT_DIR=" + dir}, "jwks"); r2.Stdout != r.Stdout {
		t.Fatal("PKJWT_DIR gave different output")
	}
	if r3 := runCLI(t, nil, "jwks", "--dir", t.TempDir()); r3.Code != 1 || !strings.Contains(r3.Stderr, "holds no key") {
		t.Fatalf("empty dir: %d %q", r3.Code, r3.Stderr)
	}
}

// verifyingEndpoint is a standards-following token endpoint for the CLI
// tests: it verifies each assertion with the public key and go-jose alone.
type verifyingEndpoint struct {
	*httptest.Server
	pub      *rsa.PublicKey
	clientID string
	mu       sync.Mutex
	jtis     []string
	fail     atomic.Bool
}

func newVerifyingEndpoint(t *testing.T, dir, kid, clientID string) *verifyingEndpoint {
	k, err := keydir.Dir{Path: dir}.Load(kid)
	if err != nil {
		t.Fatal(err)
	}
	v := &verifyingEndpoint{pub: k.Public().(*rsa.PublicKey), clientID: clientID}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", v.serve)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret-token-value" {
			w.WriteHeader(401)
			return
		}
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	})
	v.Server = httptest.NewServer(mux)
	t.Cleanup(v.Close)
	return v
}

func (v *verifyingEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":%q,"message_id":"msg-7"}`, msg)
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil ||
		r.PostForm.Get("grant_type") != "client_credentials" ||
		r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		fail("bad form")
		return
	}
	tok, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS512})
	if err != nil {
		fail("parse")
		return
	}
	var c jwt.Claims
	if err := tok.Claims(v.pub, &c); err != nil {
		fail("signature")
		return
	}
	if c.Issuer != v.clientID || c.Subject != v.clientID || len(c.Audience) != 1 || c.Audience[0] != "http://"+r.Host+"/token" || c.ID == "" || c.Expiry == nil {
		fail(fmt.Sprintf("claims %+v", c))
		return
	}
	if err := c.Validate(jwt.Expected{Time: time.Now()}); err != nil {
		fail("time")
		return
	}
	v.mu.Lock()
	v.jtis = append(v.jtis, c.ID)
	v.mu.Unlock()
	if v.fail.Load() {
		fail("Missing or invalid 'aud' claim in client_assertion JWT")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"access_token":"secret-token-value","token_type":"Bearer","expires_in":"599","scope":"read"}`)
}

func TestTokenCommand(t *testing.T) {
	dir, kid := keyDir(t)
	v := newVerifyingEndpoint(t, dir, kid, "app-1")
	base := []string{"token", "--dir", dir, "--token-url", v.URL + "/token"}

	r := runCLI(t, []string{"PKJWT_CLIENT_ID=app-1"}, base...)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("%q: %v", r.Stdout, err)
	}
	if out["token_type"] != "Bearer" || out["expires_in"] != 599.0 || out["scope"] != "read" || out["kid"] != kid || out["expires_at"] == nil {
		t.Fatalf("output %v", out)
	}
	if strings.Contains(r.Stdout+r.Stderr, "secret-token-value") {
		t.Fatal("the access token was printed without --show-token")
	}

	r = runCLI(t, nil, append(base, "--client-id", "app-1", "--show-token")...)
	if r.Code != 0 || !strings.Contains(r.Stdout, `"access_token": "secret-token-value"`) {
		t.Fatalf("--show-token: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	v.mu.Lock()
	jtis := append([]string(nil), v.jtis...)
	v.mu.Unlock()
	if len(jtis) != 2 || jtis[0] == jtis[1] {
		t.Fatalf("jtis %v: want a fresh one per run", jtis)
	}

	// An error response: the server's error and description, exit 1.
	v.fail.Store(true)
	r = runCLI(t, nil, append(base, "--client-id", "app-1")...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "error: invalid_client") ||
		!strings.Contains(r.Stderr, "error_description: Missing or invalid 'aud' claim in client_assertion JWT") ||
		!strings.Contains(r.Stderr, "message_id: msg-7") {
		t.Fatalf("error run: %d %q", r.Code, r.Stderr)
	}
	v.fail.Store(false)

	// A config file, overridden by the environment, overridden by a flag.
	cfg := filepath.Join(t.TempDir(), "pkjwt.yaml")
	os.WriteFile(cfg, []byte("client_id: wrong-from-file\ntoken-url: "+v.URL+"/token\ndir: "+dir+"\n"), 0o600)
	if r = runCLI(t, nil, "token", "--config", cfg); r.Code != 1 || !strings.Contains(r.Stderr, "claims") {
		t.Fatalf("file value not used: %d %s", r.Code, r.Stderr)
	}
	if r = runCLI(t, []string{"PKJWT_CLIENT_ID=app-1"}, "token", "--config", cfg); r.Code != 0 {
		t.Fatalf("env should win over file: %d %s", r.Code, r.Stderr)
	}
	if r = runCLI(t, []string{"PKJWT_CLIENT_ID=wrong"}, "token", "--config", cfg, "--client-id", "app-1"); r.Code != 0 {
		t.Fatalf("flag should win over env: %d %s", r.Code, r.Stderr)
	}
	os.WriteFile(cfg, []byte("clientid: x\n"), 0o600)
	if r = runCLI(t, nil, "token", "--config", cfg); r.Code != 2 || !strings.Contains(r.Stderr, `unknown key "clientid"`) {
		t.Fatalf("unknown config key: %d %s", r.Code, r.Stderr)
	}
	if r = runCLI(t, nil, "token", "--dir", dir); r.Code != 2 || !strings.Contains(r.Stderr, "--client-id is required") {
		t.Fatalf("missing client id: %d %s", r.Code, r.Stderr)
	}
	if r = runCLI(t, nil, "token", "--dir", dir, "--client-id", "a", "--token-url", "http://example.com/token"); r.Code != 2 || !strings.Contains(r.Stderr, "plain http") {
		t.Fatalf("plain http: %d %s", r.Code, r.Stderr)
	}
}

func TestCallCommand(t *testing.T) {
	dir, kid := keyDir(t)
	v := newVerifyingEndpoint(t, dir, kid, "app-1")
	r := runCLI(t, nil, "call", "--dir", dir, "--client-id", "app-1", "--token-url", v.URL+"/token", "--api-url", v.URL+"/api", "Patient/9000000009")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != `{"path":"/api/Patient/9000000009"}` || !strings.Contains(r.Stderr, "200 OK") {
		t.Fatalf("call: %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	if strings.Contains(r.Stdout+r.Stderr, "secret-token-value") {
		t.Fatal("call printed the token")
	}
	r = runCLI(t, nil, "call", "--dir", dir, "--client-id", "app-1", "--token-url", v.URL+"/token", v.URL+"/missing")
	if r.Code != 1 || !strings.Contains(r.Stderr, "404") {
		t.Fatalf("404: %d %q", r.Code, r.Stderr)
	}
}

// TestHelp: every command answers --help with exit 0 and its usage.
func TestHelp(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, nil, append(strings.Fields(c.name), "--help")...)
			if r.Code != 0 || !strings.Contains(r.Stdout, "Usage: pkjwt "+c.name) {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
			}
		})
	}
	if r := runCLI(t, nil); r.Code != 2 || !strings.Contains(r.Stdout, "keys generate") {
		t.Fatalf("no args: %d %q", r.Code, r.Stdout)
	}
	if r := runCLI(t, nil, "help"); r.Code != 0 {
		t.Fatalf("help: %d", r.Code)
	}
	if r := runCLI(t, nil, "frobnicate"); r.Code != 2 {
		t.Fatalf("unknown command: %d", r.Code)
	}
	if r := runCLI(t, nil, "keys"); r.Code != 2 || !strings.Contains(r.Stderr, "keys list") {
		t.Fatalf("keys group: %d %q", r.Code, r.Stderr)
	}
}

// TestCallThroughEmulator runs the whole flow through the CLI: the key made
// by 'keys generate', its JWKS served over HTTP, the emulator judging the
// assertion, and 'call' fetching the synthetic patient 9000000009.
func TestCallThroughEmulator(t *testing.T) {
	dir, _ := keyDir(t)
	ring, err := keydir.Dir{Path: dir}.LoadRing()
	if err != nil {
		t.Fatal(err)
	}
	h, err := jwks.NewHandler(ring.Keys())
	if err != nil {
		t.Fatal(err)
	}
	jwksSrv := httptest.NewServer(h)
	defer jwksSrv.Close()
	emu, err := emulator.New(emulator.Config{Apps: []emulator.App{{
		Name: "cli-test", APIKey: "cli-test-key", JWKSURL: jwksSrv.URL + jwks.Path, Scopes: []string{emulator.PDSScope},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()
	r := runCLI(t, []string{"PKJWT_PROFILE=local", "PKJWT_TOKEN_URL=" + emuSrv.URL + "/oauth2/token", "PKJWT_CLIENT_ID=cli-test-key", "PKJWT_DIR=" + dir},
		"call", "Patient/9000000009")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"family":"Smith"`) || !strings.Contains(r.Stderr, "200 OK") {
		t.Fatalf("call: %d\nstdout %s\nstderr %s", r.Code, r.Stdout, r.Stderr)
	}
	r = runCLI(t, []string{"PKJWT_PROFILE=local", "PKJWT_TOKEN_URL=" + emuSrv.URL + "/oauth2/token", "PKJWT_CLIENT_ID=cli-test-key", "PKJWT_DIR=" + dir},
		"call", "Patient/9000000000")
	if r.Code != 1 || !strings.Contains(r.Stdout, "INVALID_RESOURCE_ID") || !strings.Contains(r.Stderr, "400") {
		t.Fatalf("invalid NHS number: %d\nstdout %s\nstderr %s", r.Code, r.Stdout, r.Stderr)
	}
}

func TestKeysList(t *testing.T) {
	dir, kid := keyDir(t)
	r := runCLI(t, nil, "keys", "list", "--dir", dir, "--json")
	var list []map[string]any
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &list) != nil || len(list) != 1 {
		t.Fatalf("%d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	if list[0]["kid"] != kid || list[0]["bits"] != 4096.0 || list[0]["state"] != "active" || list[0]["signing"] != true || list[0]["alg"] != "RS512" {
		t.Fatalf("%v", list[0])
	}
	r = runCLI(t, nil, "keys", "list", "--dir", dir)
	if r.Code != 0 || !strings.Contains(r.Stdout, kid) || !strings.Contains(r.Stdout, "KID") {
		t.Fatalf("table: %q", r.Stdout)
	}
	// A damaged key file is reported, not skipped.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, kid+".pem"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA"), 0o600)
	if r = runCLI(t, nil, "keys", "list", "--dir", bad); r.Code != 1 || !strings.Contains(r.Stderr, "malformed") {
		t.Fatalf("damaged key: %d %q", r.Code, r.Stderr)
	}
	// A damaged key refuses a new one next to it, naming the file: a
	// change made without reading every key could duplicate a kid.
	if r = runCLI(t, nil, "keys", "generate", "--bits", "2048", "--dir", bad); r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, kid+".pem") {
		t.Fatalf("generate next to a damaged key: %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	// An unwritable place gives an error, not a partial key.
	if r = runCLI(t, nil, "keys", "generate", "--bits", "2048", "--dir", "/proc/pkjwt-keys"); r.Code != 1 || r.Stdout != "" {
		t.Fatalf("unwritable dir: %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
}

// TestSecretsStayOffTheTerminal: --show-token only from the command line,
// and an API that echoes the Authorization header does not get the token
// printed by 'call'.
func TestSecretsStayOffTheTerminal(t *testing.T) {
	dir, kid := keyDir(t)
	v := newVerifyingEndpoint(t, dir, kid, "app-1")
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"you_sent":%q}`, r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	base := []string{"--dir", dir, "--client-id", "app-1", "--token-url", v.URL + "/token"}

	r := runCLI(t, []string{"PKJWT_SHOW_TOKEN=true"}, append([]string{"token"}, base...)...)
	if r.Code != 0 || strings.Contains(r.Stdout, "secret-token-value") {
		t.Fatalf("PKJWT_SHOW_TOKEN printed the token: %d %q", r.Code, r.Stdout)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("show-token: true\n"), 0o600)
	r = runCLI(t, nil, append([]string{"token", "--config", cfg}, base...)...)
	if r.Code != 2 || !strings.Contains(r.Stderr, "only be given on the command line") {
		t.Fatalf("show-token in a config file: %d %q", r.Code, r.Stderr)
	}
	r = runCLI(t, nil, append([]string{"call"}, append(base, echo.URL+"/echo")...)...)
	if r.Code != 0 || strings.Contains(r.Stdout, "secret-token-value") || !strings.Contains(r.Stdout, "Bearer [access token removed]") {
		t.Fatalf("call printed the echoed token: %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	r = runCLI(t, nil, append([]string{"token", "--timeout", "-1s"}, base...)...)
	if r.Code != 2 || !strings.Contains(r.Stderr, "--timeout: must be positive") {
		t.Fatalf("negative timeout: %d %q", r.Code, r.Stderr)
	}
	r = runCLI(t, nil, append([]string{"call"}, append(base, "http://api.example.invalid/x")...)...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "refusing to send the access token") {
		t.Fatalf("plain http off loopback: %d %q", r.Code, r.Stderr)
	}
}

// TestKeysPendingThenActivate: a second key generated as pending does not
// sign until 'keys activate'; a second active key comes with a warning.
func TestKeysPendingThenActivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	first := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048")
	second := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048", "--state", "pending")
	if first.Code != 0 || second.Code != 0 || second.Stderr != "" {
		t.Fatalf("generate: %v %v", first, second)
	}
	k1, k2 := strings.TrimSpace(first.Stdout), strings.TrimSpace(second.Stdout)
	signer := func() string {
		r := runCLI(t, nil, "keys", "list", "--dir", dir, "--json")
		var list []map[string]any
		json.Unmarshal([]byte(r.Stdout), &list)
		for _, k := range list {
			if k["signing"] == true {
				return k["kid"].(string)
			}
		}
		return ""
	}
	if s := signer(); s != k1 {
		t.Fatalf("signer %s, want the first key %s while the second is pending", s, k1)
	}
	if r := runCLI(t, nil, "jwks", "--dir", dir); !strings.Contains(r.Stdout, k2) {
		t.Fatal("a pending key must be published")
	}
	// Never published: refused, and nothing changes.
	if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", k2); r.Code != 1 || !strings.Contains(r.Stderr, "never been published") || signer() != k1 {
		t.Fatalf("activate of an unpublished key: %v, signer %s", r, signer())
	}
	if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", k2, "--force"); r.Code != 0 || !strings.Contains(r.Stderr, "warning: --force") {
		t.Fatalf("activate --force: %v", r)
	}
	if s := signer(); s != k2 {
		t.Fatalf("signer %s, want the activated key %s", s, k2)
	}
	// Rollback: the previous key was retired, is still published, and
	// signs again at once.
	if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", k1); r.Code != 0 || !strings.Contains(r.Stderr, "rollback") || signer() != k1 {
		t.Fatalf("rollback: %v, signer %s", r, signer())
	}
	if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", "nope"); r.Code != 1 {
		t.Fatalf("activate a missing key: %v", r)
	}
	third := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048")
	if third.Code != 0 || !strings.Contains(third.Stderr, "warning: ") || !strings.Contains(third.Stderr, "keys activate") {
		t.Fatalf("second active key without a warning: %v", third)
	}
}
