package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/internal/testutil"
)

// proc is a long-running pkjwt process (demo, serve).
type proc = testutil.Proc

// startProc runs the built binary with args and a clean PKJWT_* environment.
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	return testutil.StartProc(t, binPath, nil, args...)
}

func httpGet(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// checkStrictJWKS checks that body is a JWKS whose keys have exactly kty,
// use, alg, kid, n and e, and returns the kids.
func checkStrictJWKS(t *testing.T, body string) []string {
	t.Helper()
	var doc map[string][]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &doc); err != nil || len(doc) != 1 || len(doc["keys"]) == 0 {
		t.Fatalf("not a JWKS with keys: %v %s", err, body)
	}
	var kids []string
	for _, k := range doc["keys"] {
		var members []string
		for m := range k {
			members = append(members, m)
		}
		if len(k) != 6 || k["kty"] == nil || k["use"] == nil || k["alg"] == nil || k["kid"] == nil || k["n"] == nil || k["e"] == nil {
			t.Fatalf("JWK members %v, want exactly kty use alg kid n e", members)
		}
		var kty, use, alg, kid, n string
		json.Unmarshal(k["kty"], &kty)
		json.Unmarshal(k["use"], &use)
		json.Unmarshal(k["alg"], &alg)
		json.Unmarshal(k["kid"], &kid)
		json.Unmarshal(k["n"], &n)
		nb, err := base64.RawURLEncoding.DecodeString(n)
		if kty != "RSA" || use != "sig" || alg != "RS512" || err != nil || len(nb)*8 != 4096 {
			t.Fatalf("JWK kty=%s use=%s alg=%s, %d-bit modulus (%v)", kty, use, alg, len(nb)*8, err)
		}
		kids = append(kids, kid)
	}
	return kids
}

func TestDemoCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")

	// First run, on any free port: generates the 4096-bit key.
	start := time.Now()
	p := startProc(t, "demo", "--addr", "127.0.0.1:0", "--dir", dir)
	open := p.WaitLine(t, "Open ", 3*time.Minute)
	t.Logf("first start (key generation): %s", time.Since(start).Round(time.Millisecond))
	webURL := strings.TrimSuffix(strings.TrimPrefix(open, "Open "), "/")
	if !strings.HasPrefix(webURL, "http://127.0.0.1:") || strings.HasSuffix(webURL, ":0") {
		t.Fatalf("printed %q, want the URL of the port it got", open)
	}
	if !strings.Contains(p.Stdout.String(), "Emulator http://127.0.0.1:") {
		t.Errorf("the emulator URL is not printed:\n%s", p.Stdout)
	}

	resp, body := httpGet(t, webURL+"/system-to-system")
	if resp.StatusCode != 200 || !strings.Contains(body, "Jane") || !strings.Contains(body, "Smith") {
		t.Fatalf("system-to-system: %d\n%s\nstderr:\n%s", resp.StatusCode, body, p.Stderr)
	}
	resp, body = httpGet(t, webURL+"/.well-known/jwks.json")
	if resp.StatusCode != 200 {
		t.Fatalf("JWKS: %d", resp.StatusCode)
	}
	kids := checkStrictJWKS(t, body)
	if len(kids) != 1 || !strings.Contains(p.Stdout.String(), "key "+kids[0]) {
		t.Fatalf("JWKS kids %v; stdout:\n%s", kids, p.Stdout)
	}
	if strings.Contains(p.Stderr.String(), "access_token") || strings.Contains(p.Stderr.String(), "eyJ") {
		t.Errorf("the demo logged a token or an assertion:\n%s", p.Stderr)
	}
	if code := p.Interrupt(t); code != 0 {
		t.Fatalf("exit %d after SIGINT\nstderr:\n%s", code, p.Stderr)
	}
	clientID, err := os.ReadFile(filepath.Join(dir, "client-id"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "keys", kids[0]+".pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}

	// Second run, same directory, any free port: same key, same client id.
	start = time.Now()
	p2 := startProc(t, "demo", "--addr", "127.0.0.1:0", "--dir", dir)
	open = p2.WaitLine(t, "Open ", time.Minute)
	second := time.Since(start)
	t.Logf("second start (key reused): %s", second.Round(time.Millisecond))
	if second > 10*time.Second {
		t.Errorf("second start took %s", second)
	}
	if strings.Contains(p2.Stderr.String(), "generating") {
		t.Error("the second run generated a new key")
	}
	webURL = strings.TrimSuffix(strings.TrimPrefix(open, "Open "), "/")
	_, body = httpGet(t, webURL+"/.well-known/jwks.json")
	if kids2 := checkStrictJWKS(t, body); len(kids2) != 1 || kids2[0] != kids[0] {
		t.Fatalf("second run publishes %v, want %v", kids2, kids)
	}
	if !strings.Contains(p2.Stdout.String(), "client id "+strings.TrimSpace(string(clientID))) {
		t.Errorf("second run uses another client id:\n%s", p2.Stdout)
	}
	if _, body := httpGet(t, webURL+"/system-to-system"); !strings.Contains(body, "Jane") {
		t.Fatalf("second run: no patient\n%s", body)
	}
	if err := p2.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p2.Done()
	if code := p2.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}

func TestDemoRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "192.0.2.1:8080", "example.org:80"} {
		r := runCLI(t, nil, "demo", "--addr", addr, "--dir", t.TempDir())
		if r.Code != 2 || !strings.Contains(r.Stderr, "loopback") {
			t.Errorf("demo --addr %s: exit %d, stderr %q", addr, r.Code, r.Stderr)
		}
	}
	r := runCLI(t, nil, "demo", "--emulator-addr", "0.0.0.0:0", "--dir", t.TempDir())
	if r.Code != 2 || !strings.Contains(r.Stderr, "loopback") {
		t.Errorf("demo --emulator-addr 0.0.0.0:0: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestServeCommand(t *testing.T) {
	dir, kid := keyDir(t)
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	yaml := "profile: local\n" +
		"token-url: " + emuSrv.URL + "/oauth2/token\n" +
		"api-url: " + emuSrv.URL + "/personal-demographics/FHIR/R4\n" +
		"client-id: serveTestClient\n" +
		"dir: " + dir + "\n" +
		"addr: 127.0.0.1:0\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "serve", "--config", cfg)
	line := p.WaitLine(t, "Serving the pkjwt web app on ", time.Minute)
	webURL := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(line, "Serving the pkjwt web app on "))[0], "/")
	if err := emu.AddApp(emulator.App{Name: "serve test", APIKey: "serveTestClient",
		JWKSURL: webURL + "/.well-known/jwks.json", Scopes: []string{emulator.PDSScope}}); err != nil {
		t.Fatal(err)
	}
	_, index := httpGet(t, webURL+"/")
	for _, want := range []string{kid, "serveTestClient", emuSrv.URL + "/oauth2/token", "Patient/9000000009"} {
		if !strings.Contains(index, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	resp, body := httpGet(t, webURL+"/system-to-system")
	if resp.StatusCode != 200 || !strings.Contains(body, "Jane") {
		t.Fatalf("system-to-system: %d\n%s\nstderr:\n%s", resp.StatusCode, body, p.Stderr)
	}
	_, served := httpGet(t, webURL+"/.well-known/jwks.json")
	if printed := runCLI(t, nil, "jwks", "--dir", dir); printed.Code != 0 || printed.Stdout != served {
		t.Fatalf("served JWKS differs from 'pkjwt jwks':\n%s\n%s", served, printed.Stdout)
	}
	if !strings.Contains(p.Stderr.String(), "path=/system-to-system status=200") {
		t.Errorf("no request log line:\n%s", p.Stderr)
	}
	if code := p.Interrupt(t); code != 0 {
		t.Fatalf("exit %d after SIGINT\nstderr:\n%s", code, p.Stderr)
	}
}
