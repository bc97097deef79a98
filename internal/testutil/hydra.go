package testutil

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// HydraVersion is the ORY Hydra release tools/hydra builds.
const HydraVersion = "v2.3.0"

// HydraBin finds the ORY Hydra binary (tools/hydra/build.sh): $PKJWT_HYDRA,
// else the copy "make deps" builds at
// ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/hydra. Without it the test is
// skipped, unless PKJWT_REQUIRE_HYDRA is set ("make test" sets it): then it
// fails.
func HydraBin(t testing.TB) string {
	t.Helper()
	bin, ok := cachedTool("PKJWT_HYDRA", "hydra")
	if !ok {
		Missing(t, "PKJWT_REQUIRE_HYDRA", "ORY Hydra not found ("+bin+"): build it with 'make hydra' or tools/hydra/build.sh, or set PKJWT_HYDRA")
	}
	return bin
}

// HydraOptions configures StartHydra.
type HydraOptions struct {
	// AccessTokenTTL is ttl.access_token; 0 leaves Hydra's default (1 h).
	AccessTokenTTL time.Duration
	// LogLevel is Hydra's log level; "" means "warn".
	LogLevel string
}

// Hydra is an ORY Hydra server started by StartHydra for one test: public
// and admin APIs on 127.0.0.1 over TLS with a certificate made for the test,
// state in a SQLite file.
type Hydra struct {
	// Issuer is the issuer URL, https://127.0.0.1:PORT/.
	Issuer string
	// PublicURL is the public API's base URL, without a trailing slash.
	PublicURL string
	// AdminURL is the admin API's base URL, without a trailing slash.
	AdminURL string
	// TokenURL is the token endpoint, the exact aud Hydra accepts.
	TokenURL string
	// Roots holds the certificate Hydra serves (and only it).
	Roots *x509.CertPool
	// CertFile is that certificate as a PEM file, for a child process
	// (SSL_CERT_FILE=CertFile makes a Go program trust it).
	CertFile string
	// Client is an HTTP client that trusts Roots only.
	Client *http.Client

	log *SyncBuffer
}

// Log returns what Hydra wrote to stdout and stderr so far.
func (h *Hydra) Log() string { return h.log.String() }

// StartHydra migrates a fresh SQLite file database and runs "hydra serve
// all" on two free ports of 127.0.0.1, in production mode (no --dev): the
// issuer is https, so both APIs serve TLS with a self-signed certificate
// for 127.0.0.1 made here. Hydra runs with a minimal environment (none of
// the test's), telemetry off, and is stopped when the test ends.
func StartHydra(t testing.TB, opts HydraOptions) *Hydra {
	t.Helper()
	bin := HydraBin(t)
	if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Version:    "+HydraVersion+"\n")) {
		t.Fatalf("%s is not ORY Hydra %s (rebuild it with tools/hydra/build.sh): %v\n%s", bin, HydraVersion, err, out)
	}
	dir := t.TempDir()
	certPEM, keyPEM, roots := hydraCert(t)
	certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	level := opts.LogLevel
	if level == "" {
		level = "warn"
	}
	// The SQLite file DSN: DSN=memory returns sporadic 500s under
	// concurrency. _fk=true is what Hydra's docs give for SQLite; WAL and a
	// busy timeout (go-sqlite3's _journal_mode and _busy_timeout) are
	// SQLite's own advice for concurrent readers and one writer, so that the
	// benchmark measures Hydra in its best file-database setup, not in the
	// rollback journal's default.
	dbPath := filepath.Join(dir, "hydra.sqlite")
	dsn := "sqlite://" + dbPath + "?_fk=true&_journal_mode=WAL&_busy_timeout=5000"

	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		publicAddr, adminAddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
		h := &Hydra{
			Issuer:    "https://" + publicAddr + "/",
			PublicURL: "https://" + publicAddr,
			AdminURL:  "https://" + adminAddr,
			Roots:     roots,
			CertFile:  certPath,
			Client: &http.Client{
				Timeout:   30 * time.Second,
				Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
			},
			log: &SyncBuffer{},
		}
		h.TokenURL = h.PublicURL + "/oauth2/token"
		cfg := hydraConfig(dsn, publicAddr, adminAddr, h.Issuer, certPath, keyPath, hex.EncodeToString(secret), level, opts)
		cfgPath := filepath.Join(dir, "hydra.json")
		if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
			t.Fatal(err)
		}
		if attempt == 0 {
			hydraMigrate(t, bin, dir, cfgPath)
		}
		ok, msg := h.run(t, bin, dir, cfgPath)
		if ok {
			// A database in WAL mode keeps its -wal file while open.
			if _, err := os.Stat(dbPath + "-wal"); err != nil {
				t.Fatalf("Hydra's SQLite database is not in WAL mode (the DSN's _journal_mode was not applied): %v", err)
			}
			return h
		}
		lastErr = msg
		if !strings.Contains(msg, "address already in use") {
			break
		}
	}
	t.Fatalf("hydra did not start: %s", lastErr)
	return nil
}

// hydraConfig is Hydra's configuration file (JSON is YAML).
func hydraConfig(dsn, publicAddr, adminAddr, issuer, certPath, keyPath, secret, level string, opts HydraOptions) []byte {
	host := func(addr string) (string, int) {
		h, p, _ := net.SplitHostPort(addr)
		var port int
		fmt.Sscan(p, &port)
		return h, port
	}
	ph, pp := host(publicAddr)
	ah, ap := host(adminAddr)
	tlsCfg := map[string]any{"enabled": true, "cert": map[string]any{"path": certPath}, "key": map[string]any{"path": keyPath}}
	cfg := map[string]any{
		"dsn": dsn,
		"serve": map[string]any{
			"public": map[string]any{"host": ph, "port": pp},
			"admin":  map[string]any{"host": ah, "port": ap},
			"tls":    tlsCfg,
		},
		"urls":    map[string]any{"self": map[string]any{"issuer": issuer, "public": issuer}},
		"secrets": map[string]any{"system": []string{secret}},
		// Hydra's SSRF guard stays off (its default): the web app's JWKS
		// is on loopback, and Hydra v2.3.0's client validator refuses a
		// loopback jwks_uri under the guard whatever
		// private_ip_exception_urls says (the exceptions apply only to the
		// fetch). Production registers an https jwks_uri on a public host.
		"clients": map[string]any{"http": map[string]any{"disallow_private_ip_ranges": false}},
		"log":     map[string]any{"level": level, "format": "json", "leak_sensitive_values": false},
	}
	if opts.AccessTokenTTL > 0 {
		cfg["ttl"] = map[string]any{"access_token": opts.AccessTokenTTL.String()}
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return b
}

// hydraEnv is the environment Hydra runs with: none of the test's (a DSN or
// SERVE_* variable there would override the configuration file).
func hydraEnv(dir string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir, "SQA_OPT_OUT=true"}
}

func hydraMigrate(t testing.TB, bin, dir, cfgPath string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "migrate", "--config", cfgPath, "sql", "up", "--read-from-env", "--yes")
	cmd.Env = hydraEnv(dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hydra migrate sql up: %v\n%s", err, out)
	}
}

// run starts "hydra serve all" and waits until its admin API is ready; it
// reports false with Hydra's output when the process exits first.
func (h *Hydra) run(t testing.TB, bin, dir, cfgPath string) (bool, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "all", "--config", cfgPath, "--sqa-opt-out")
	cmd.Env = hydraEnv(dir)
	cmd.Stdout, cmd.Stderr = h.log, h.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			return false, fmt.Sprintf("hydra exited (%v):\n%s", cmd.ProcessState, h.log.String())
		default:
		}
		if h.ready() {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("hydra not ready after 60 s:\n%s", h.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("hydra's log:\n%s", h.log.String())
		}
	})
	return true, ""
}

func (h *Hydra) ready() bool {
	for _, u := range []string{h.AdminURL + "/health/ready", h.PublicURL + "/health/ready"} {
		resp, err := h.Client.Get(u)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
	}
	return true
}

// CreateClient registers an OAuth 2.0 client through the admin API
// (POST /admin/clients) and returns Hydra's answer (client_id is Hydra's
// choice when the request sets none), less the client_secret and
// registration_access_token Hydra generates even for a private_key_jwt
// client, so that no test can log them.
func (h *Hydra) CreateClient(ctx context.Context, client map[string]any) (map[string]any, error) {
	body, err := json.Marshal(client)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.AdminURL+"/admin/clients", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("POST /admin/clients: %s: %s", resp.Status, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("POST /admin/clients: %w", err)
	}
	delete(out, "client_secret")
	delete(out, "registration_access_token")
	return out, nil
}

// hydraCert makes a self-signed ECDSA P-256 certificate for 127.0.0.1,
// valid for a day, and a pool holding only it.
func hydraCert(t testing.TB) (certPEM, keyPEM []byte, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "pkjwt test hydra"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), roots
}

// freeLoopbackAddr returns a 127.0.0.1 address whose port was free a moment
// ago.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
