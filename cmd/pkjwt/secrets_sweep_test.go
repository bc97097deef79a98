package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

// sweepCapture sits in front of an emulator (a reverse proxy to a `pkjwt
// emulator` process, or the demo's wrapEmulator) and records every
// assertion sent to the token endpoint and every access token issued, and
// keeps the token endpoint's error bodies for the sweep.
type sweepCapture struct {
	mu         sync.Mutex
	assertions []string
	tokens     []string
	errBodies  []string
}

func (c *sweepCapture) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth2/token" {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("client_assertion") != "" {
			c.mu.Lock()
			c.assertions = append(c.assertions, form.Get("client_assertion"))
			c.mu.Unlock()
		}
		rec := &captureWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if json.Unmarshal(rec.body.Bytes(), &tok) == nil && tok.AccessToken != "" {
			c.tokens = append(c.tokens, tok.AccessToken)
		} else {
			c.errBodies = append(c.errBodies, rec.body.String())
		}
	})
}

type captureWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sweepCorpus is everything the programs showed: log lines, stdout and
// stderr, pages, error bodies, metrics.
type sweepCorpus struct {
	mu    sync.Mutex
	parts []string
}

func (c *sweepCorpus) add(label, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parts = append(c.parts, "== "+label+"\n"+s)
}

func (c *sweepCorpus) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.parts, "\n")
}

// secret is one needle of the sweep.
type secret struct{ what, value string }

// findSecrets returns a description of every secret that occurs in hay.
func findSecrets(hay string, secrets []secret) []string {
	var found []string
	for _, s := range secrets {
		if i := strings.Index(hay, s.value); i >= 0 {
			start := max(0, i-200)
			found = append(found, fmt.Sprintf("%s found, after: %q", s.what, hay[start:i]))
		}
	}
	return found
}

// keySecrets returns the needles of every private key in the PEM files of
// dirs: a line of the PEM body, the DER in base64 and base64url, and the
// private exponent d in base64url.
func keySecrets(t *testing.T, dirs ...string) []secret {
	t.Helper()
	var out []secret
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			blk, _ := pem.Decode(b)
			if blk == nil {
				t.Fatalf("%s: no PEM", f)
			}
			priv, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rk, ok := priv.(*rsa.PrivateKey)
			if !ok {
				t.Fatalf("%s: not RSA", f)
			}
			lines := strings.Split(string(b), "\n")
			name := filepath.Base(f)
			out = append(out,
				secret{name + " PEM body line", lines[2]},
				secret{name + " DER base64", base64.StdEncoding.EncodeToString(blk.Bytes)[40:120]},
				secret{name + " DER base64url", base64.RawURLEncoding.EncodeToString(blk.Bytes)[40:120]},
				secret{name + " d base64url", base64.RawURLEncoding.EncodeToString(rk.D.Bytes())[:60]},
			)
		}
		if len(files) == 0 {
			t.Fatalf("no key files in %s", dir)
		}
	}
	return out
}

// TestSecretSweep runs the CLI, the emulator and the web app as processes
// (and the demo's wiring in-process) at --log-level debug through a
// success, each emulator fault, a rotation and a PFX import; then searches
// every log line, stdout/stderr, page, error body and /metrics output for
// every access token issued, every assertion sent, every private key and
// the PFX password. None may appear. The sweep first proves it finds each
// kind of secret when one is planted.
func TestSecretSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "keys")
	if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048"); r.Code != 0 {
		t.Fatalf("keys generate: %+v", r)
	}
	corpus := &sweepCorpus{}
	capture := &sweepCapture{}
	const clientID = "sweep-app"

	// A capturing reverse proxy in front of whichever emulator process runs.
	var target atomic.Pointer[url.URL]
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target.Load())
		pr.Out.Host = pr.In.Host // the assertion's aud is the proxy's URL
	},
		// An emulator that drops the connection (--drop-rate) drops the
		// client's too, so that the clients see what they would without
		// the proxy.
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxySrv := &http.Server{Handler: capture.wrap(proxy), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go proxySrv.Serve(proxyLn)
	defer proxySrv.Close()
	proxyURL := "http://" + proxyLn.Addr().String()

	// The web app first, on a port it picks, with the token URL of the
	// proxy (which forwards to whichever emulator runs); the emulators are
	// given its JWKS URL (up for the whole run, JSON logs).
	serve, webURL := startServer(t, "serve", "--dir", dir, "--profile", "local",
		"--token-url", proxyURL+"/oauth2/token", "--client-id", clientID, "--key-reload", "200ms",
		"--log-level", "debug", "--log-format", "json")
	jwksURL := webURL + "/.well-known/jwks.json"

	startEmulator := func(name string, extra ...string) *proc {
		args := append([]string{"emulator", "--public-url", proxyURL, "--app-key", clientID,
			"--app-jwks-url", jwksURL, "--log-level", "debug", "--jwks-cache-ttl", "1s"}, extra...)
		p, emuURL := startServer(t, args...)
		u, _ := url.Parse(emuURL)
		target.Store(u)
		return p
	}
	stopProc := func(name string, p *proc) {
		p.Cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			p.Cmd.Process.Kill()
			<-p.Done()
		}
		corpus.add(name+" stdout", p.Stdout.String())
		corpus.add(name+" stderr", p.Stderr.String())
	}
	get := func(label, u string) string {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("X-Request-ID", "sweep-"+strings.NewReplacer(" ", "-", "/", "_").Replace(label))
		req.Header.Set("X-Correlation-ID", "sweep-correlation")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			corpus.add(label+" error", err.Error())
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var h bytes.Buffer
		resp.Header.Write(&h)
		corpus.add(fmt.Sprintf("%s %s", label, resp.Status), h.String()+"\n"+string(b))
		return string(b)
	}
	cliEnv := []string{"PKJWT_DIR=" + dir, "PKJWT_PROFILE=local", "PKJWT_TOKEN_URL=" + proxyURL + "/oauth2/token",
		"PKJWT_CLIENT_ID=" + clientID}
	cli := func(label string, args ...string) result {
		r := runCLI(t, cliEnv, args...)
		corpus.add(fmt.Sprintf("cli %s (exit %d) stdout", label, r.Code), r.Stdout)
		corpus.add(fmt.Sprintf("cli %s stderr", label), r.Stderr)
		return r
	}
	exercise := func(name string, emu *proc) {
		for i := range 3 {
			get(fmt.Sprintf("%s call %d", name, i), webURL+"/system-to-system")
		}
		for _, p := range []string{"/", "/.well-known/jwks.json", "/healthz", "/readyz", "/metrics", "/nope"} {
			get(name+" "+p, webURL+p)
		}
		cli(name+" token", "token")
		cli(name+" call", "call", "-i", "Patient/9000000009")
		cli(name+" check", "check", "--jwks-url", jwksURL)
		get(name+" emulator metrics", proxyURL+"/metrics")
	}

	// Success first.
	emu := startEmulator("success")
	exercise("success", emu)
	stopProc("emulator success", emu)

	// Each fault, on a fresh emulator (so the cached token is unknown to
	// it and the web app and CLI go back to the token endpoint).
	faults := []struct {
		name string
		args []string
	}{
		{"latency", []string{"--latency", "300ms", "--fault-count", "4"}},
		{"drop", []string{"--drop-rate", "1", "--fault-count", "3"}},
		{"fail", []string{"--fail-rate", "1", "--fault-count", "3"}},
		{"rate-limit", []string{"--rate-limit-fraction", "1", "--fault-count", "3", "--retry-after", "1s"}},
		{"jwks-unreachable", []string{"--jwks-unreachable", "--fault-target", "token", "--fault-count", "3"}},
		{"token-fail", []string{"--fail-rate", "1", "--fault-target", "token", "--fault-count", "2"}},
		{"pds-rate-limit", []string{"--rate-limit-fraction", "1", "--fault-target", "pds", "--fault-count", "2", "--retry-after", "1s"}},
	}
	for _, f := range faults {
		emu := startEmulator(f.name, f.args...)
		exercise(f.name, emu)
		stopProc("emulator "+f.name, emu)
	}

	// A rotation with scaled-down durations: a pending key, published, then
	// activated; the web app follows the directory.
	published := filepath.Join(tmp, "jwks.json")
	rotate := []string{"keys", "rotate", "--dir", dir, "--lead", "1s", "--grace", "1s", "--bits", "2048", "--json"}
	var added rotateReport
	if r := cli("rotate add", rotate...); r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &added) != nil || len(added.Added) != 1 {
		t.Fatalf("rotate add: %+v", r)
	}
	cli("publish", "jwks", "publish", "--dir", dir, "--to", "file://"+published)
	ageKeys(t, dir, 2*time.Second) // past the 1 s lead
	cli("rotate activate", rotate...)
	cli("keys list", "keys", "list", "--dir", dir)
	// The web app's key reload (every 200 ms) picks the new signing key.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, home := httpGet(t, webURL+"/")
		if strings.Contains(home, `<code id="signing-kid">`+added.Added[0]+`</code>`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the web app does not sign with %s 30 s after its activation:\n%s", added.Added[0], excerpt(home))
		}
	}
	emu = startEmulator("after rotation")
	exercise("after rotation", emu)
	// Both /metrics, after all of the above, pass promtool.
	testutil.PromtoolCheckMetrics(t, []byte(get("serve metrics", webURL+"/metrics")))
	testutil.PromtoolCheckMetrics(t, []byte(get("emulator metrics", proxyURL+"/metrics")))

	// A PFX with a password, imported, listed and used.
	pfxKey, err := keys.Generate("RS512", 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := keys.SelfSignedCertificate(pfxKey.Signer, "sweep", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pwb := make([]byte, 18)
	rand.Read(pwb)
	password := "pw-" + base64.RawURLEncoding.EncodeToString(pwb)
	pfx, err := keyfile.EncodePFX(pfxKey.Signer, cert, password)
	if err != nil {
		t.Fatal(err)
	}
	pfxFile, pwFile := filepath.Join(tmp, "app.pfx"), filepath.Join(tmp, "pw.txt")
	if err := os.WriteFile(pfxFile, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pfxDir := filepath.Join(tmp, "pfx-keys")
	if r := cli("import pfx", "keys", "import", "--dir", pfxDir, "--pfx", pfxFile, "--password-file", pwFile); r.Code != 0 {
		t.Fatalf("keys import: %+v", r)
	}
	cli("import pfx wrong password", "keys", "import", "--dir", filepath.Join(tmp, "pfx-bad"), "--pfx", pfxFile, "--password-file", pfxFile)
	cli("pfx list", "keys", "list", "--dir", pfxDir)
	cli("pfx jwks", "jwks", "--dir", pfxDir)
	cli("pfx token", "token", "--keys", "pfx:"+pfxFile, "--password-file", pwFile)
	stopProc("emulator after rotation", emu)
	stopProc("serve", serve)

	// The demo's wiring in-process, at debug, with its emulator captured.
	demoDir := filepath.Join(tmp, "demo")
	if r := runCLI(t, nil, "keys", "generate", "--dir", filepath.Join(demoDir, "keys"), "--bits", "2048"); r.Code != 0 {
		t.Fatalf("keys generate: %+v", r)
	}
	var demoLogs bytes.Buffer
	var demoMu sync.Mutex
	demoLog := slog.New(slog.NewTextHandler(lockedWriter{&demoMu, &demoLogs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	d, err := startDemo(ctx, demoOptions{addr: "127.0.0.1:0", emulatorAddr: "127.0.0.1:0", dir: demoDir,
		stderr: lockedWriter{&demoMu, &demoLogs}, logger: demoLog, wrapEmulator: capture.wrap})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/system-to-system", "/system-to-system", "/.well-known/jwks.json", "/metrics", "/readyz"} {
		get("demo "+p, d.webURL+p)
	}
	get("demo emulator metrics", d.emulatorURL+"/metrics")
	cancel()
	if err := d.wait(); err != nil {
		t.Errorf("demo: %v", err)
	}
	demoMu.Lock()
	corpus.add("demo logs", demoLogs.String())
	demoMu.Unlock()

	// The needles.
	capture.mu.Lock()
	tokens, assertions := append([]string(nil), capture.tokens...), append([]string(nil), capture.assertions...)
	for i, b := range capture.errBodies {
		corpus.add(fmt.Sprintf("token endpoint error body %d", i), b)
	}
	capture.mu.Unlock()
	if len(tokens) < 5 || len(assertions) < len(tokens) {
		t.Fatalf("captured %d tokens and %d assertions: the sweep would have nothing to look for", len(tokens), len(assertions))
	}
	var secrets []secret
	for i, tok := range tokens {
		secrets = append(secrets, secret{fmt.Sprintf("access token %d", i), tok})
	}
	for i, a := range assertions {
		parts := strings.Split(a, ".")
		secrets = append(secrets, secret{fmt.Sprintf("assertion %d", i), a},
			secret{fmt.Sprintf("assertion %d signature", i), parts[len(parts)-1]})
	}
	ks := keySecrets(t, dir, pfxDir, filepath.Join(demoDir, "keys"))
	if len(ks) < 4*4 { // the first key, the rotated-in key, the PFX key, the demo key
		t.Fatalf("only %d key needles", len(ks))
	}
	secrets = append(secrets, ks...)
	secrets = append(secrets, secret{"PFX password", password})

	// The sweep must find what is planted: each needle, alone in a log line.
	for _, s := range secrets {
		if s.value == "" {
			t.Fatalf("%s: empty needle", s.what)
		}
		planted := `time=now level=DEBUG msg=request detail="` + s.value + `"`
		if got := findSecrets(planted, []secret{s}); len(got) != 1 {
			t.Fatalf("the sweep misses a planted %s", s.what)
		}
	}

	hay := corpus.String()
	// The corpus really holds what was run: pages, metrics and debug lines.
	for _, want := range []string{"pkjwt_token_requests_total", "pkjwt_emulator_token_requests_total", "Jane",
		`"level":"DEBUG"`, "level=DEBUG", "sweep-success-call-0", "request_id", "fault=drop"} {
		if !strings.Contains(hay, want) {
			t.Errorf("the corpus lacks %q: something did not run", want)
		}
	}
	if found := findSecrets(hay, secrets); len(found) > 0 {
		t.Fatalf("%d secrets leaked (of %d needles over %d bytes):\n%s", len(found), len(secrets), len(hay), strings.Join(found, "\n"))
	}
	t.Logf("swept %d bytes for %d needles (%d tokens, %d assertions, %d key needles, 1 password): none found",
		len(hay), len(secrets), len(tokens), len(assertions), len(ks))
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
