// Package bench holds the benchmarks that run the project's servers as
// processes next to their peers (ORY Hydra) and the client under a refresh
// storm; bench/all.sh runs them with the wrk rows (bench/README.md).
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/internal/testutil"
)

// envInt is $name as an int, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// binaries builds the pkjwt CLI and tokenload once for the benchmark, or
// reuses $PKJWT_BENCH_BIN (bench/all.sh builds them there).
func binaries(b *testing.B) (pkjwtBin, tokenload string) {
	b.Helper()
	dir := os.Getenv("PKJWT_BENCH_BIN")
	if dir == "" {
		dir = b.TempDir()
	}
	pkjwtBin, tokenload = filepath.Join(dir, "pkjwt"), filepath.Join(dir, "tokenload")
	for bin, pkg := range map[string]string{pkjwtBin: "github.com/pkjwt/pkjwt/cmd/pkjwt", tokenload: "github.com/pkjwt/pkjwt/bench/cmd/tokenload"} {
		if _, err := os.Stat(bin); err == nil {
			continue
		}
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return pkjwtBin, tokenload
}

// start runs a server process until the benchmark ends (SIGTERM, then
// SIGKILL after 10 s), its output in a file of the temporary directory.
func start(b *testing.B, name string, args ...string) *exec.Cmd {
	b.Helper()
	out, err := os.Create(filepath.Join(b.TempDir(), filepath.Base(name)+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		out.Close()
	})
	return cmd
}

// pair is "pkjwt serve" (the app's JWKS) and "pkjwt emulator" with that
// app registered, both as processes on loopback, and the app's key. Each
// takes a free port (--addr 127.0.0.1:0) and reports it in its
// --addr-file; serve starts first, so that the emulator can be given its
// JWKS URL, and is used here for its JWKS only (its own token requests
// would go to the local profile's default URL).
type pair struct {
	clientID, keyDir       string
	webURL, emuURL         string
	tokenURL, jwksURL      string
	emulator, web          *exec.Cmd
	pkjwtBin, tokenloadBin string
}

func startPair(b *testing.B, bits int) *pair {
	b.Helper()
	p := &pair{clientID: "bench-app", keyDir: filepath.Join(b.TempDir(), "keys")}
	p.pkjwtBin, p.tokenloadBin = binaries(b)
	if out, err := exec.Command(p.pkjwtBin, "keys", "generate", "--dir", p.keyDir, "--bits", strconv.Itoa(bits)).CombinedOutput(); err != nil {
		b.Fatalf("keys generate: %v\n%s", err, out)
	}
	run := b.TempDir()
	webFile, emuFile := filepath.Join(run, "web.addr"), filepath.Join(run, "emu.addr")
	p.web = start(b, p.pkjwtBin, "serve", "--addr", "127.0.0.1:0", "--addr-file", webFile, "--profile", "local",
		"--client-id", p.clientID, "--dir", p.keyDir)
	p.webURL = "http://" + waitAddrFile(b, p.web, webFile)
	p.jwksURL = p.webURL + "/.well-known/jwks.json"
	p.emulator = start(b, p.pkjwtBin, "emulator", "--addr", "127.0.0.1:0", "--addr-file", emuFile,
		"--app-key", p.clientID, "--app-jwks-url", p.jwksURL)
	p.emuURL = "http://" + waitAddrFile(b, p.emulator, emuFile)
	p.tokenURL = p.emuURL + "/oauth2/token"
	return p
}

// waitAddrFile waits (60 s at most) for the --addr-file that a server
// started with --addr 127.0.0.1:0 writes once it listens, and returns the
// address in it.
func waitAddrFile(b *testing.B, cmd *exec.Cmd, path string) string {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if data, err := os.ReadFile(path); err == nil {
			return strings.TrimSuffix(string(data), "\n")
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s wrote no %s in a minute (its log is in the temporary directory)", strings.Join(cmd.Args, " "), path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs a command to its end and returns its stdout; a failure fails
// the benchmark with its stderr.
func run(b *testing.B, name string, args ...string) []byte {
	b.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// loadResult is tokenload's JSON line.
type loadResult struct {
	Mode        string  `json:"mode"`
	Requests    int64   `json:"requests"`
	OK          int64   `json:"ok"`
	Failed      int64   `json:"failed"`
	FirstError  string  `json:"first_error"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	SignSeconds float64 `json:"sign_seconds"`
	Signed      int     `json:"signed"`
	CPUms       float64 `json:"server_cpu_ms_per_request"`
	ClientCPUms float64 `json:"client_cpu_ms_per_request"`
	RSS         []struct {
		Requests int64 `json:"requests"`
		RSSKiB   int64 `json:"rss_kib"`
	} `json:"rss"`
}

func tokenload(b *testing.B, bin string, args ...string) loadResult {
	b.Helper()
	out := run(b, bin, args...)
	var r loadResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &r); err == nil {
			return r
		}
	}
	b.Fatalf("tokenload %s: no result in its output", args[0])
	return r
}

// childPID finds the one child process of this process whose command name
// is comm (/proc/PID/stat): the server testutil started.
func childPID(b *testing.B, comm string) int {
	b.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	self := os.Getpid()
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(data)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(s[closing+1:]) // state, ppid, ...
		if s[open+1:closing] == comm && len(fields) > 1 && fields[1] == strconv.Itoa(self) {
			pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
			return pid
		}
	}
	b.Fatalf("no child process named %s", comm)
	return 0
}

// BenchmarkTokenEndpointVsHydra is row 1 of bench/README.md: the emulator's
// token endpoint and ORY Hydra (SQLite file, a private_key_jwt client with
// the same RSA-4096 key, RS512, the same JWKS) under the same load from
// the same generator (tokenload: 64 clients, assertions pre-signed before
// the clock starts), then rsa.VerifyPKCS1v15 with that key on every core
// (the floor of a Go token endpoint on these cores). Run it once:
//
//	go test -run '^$' -bench TokenEndpointVsHydra -benchtime 1x ./bench/
//
// PKJWT_BENCH_EMULATOR_N and PKJWT_BENCH_HYDRA_N set how many assertions
// each gets (default 12000 and 4000: each run lasts a few seconds); on a
// busy machine tokenload signs fewer (at most 90 s of signing each).
func BenchmarkTokenEndpointVsHydra(b *testing.B) {
	testutil.HydraBin(b) // skips without Hydra, before any work, unless PKJWT_REQUIRE_HYDRA
	p := startPair(b, 4096)
	emuN := envInt("PKJWT_BENCH_EMULATOR_N", 12000)
	hydraN := envInt("PKJWT_BENCH_HYDRA_N", 4000)
	const clients = "64"
	dur := "10s"

	// Hydra gets the app's JWKS (the web app's bytes) in the client itself:
	// its SSRF guard refuses a loopback jwks_uri at registration. The
	// emulator fetches the same document once and caches it, so neither
	// fetches keys while measured.
	jwksPath := filepath.Join(b.TempDir(), "jwks.json")
	run(b, p.tokenloadBin, "wait", "-url", p.jwksURL, "-o", jwksPath)
	jwksDoc, err := os.ReadFile(jwksPath)
	if err != nil {
		b.Fatal(err)
	}
	var set map[string]any
	if err := json.Unmarshal(jwksDoc, &set); err != nil {
		b.Fatalf("the web app's JWKS: %v", err)
	}
	hy := testutil.StartHydra(b, testutil.HydraOptions{LogLevel: "error"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const hydraClient = "bench-app"
	if _, err := hy.CreateClient(ctx, map[string]any{
		"client_id":                       hydraClient,
		"grant_types":                     []string{"client_credentials"},
		"response_types":                  []string{"token"},
		"token_endpoint_auth_method":      "private_key_jwt",
		"token_endpoint_auth_signing_alg": "RS512",
		"jwks":                            set,
	}); err != nil {
		b.Fatal(err)
	}

	hydraPID := childPID(b, "hydra")
	for i := 0; i < b.N; i++ {
		emu := tokenload(b, p.tokenloadBin, "tokens", "-dir", p.keyDir, "-client-id", p.clientID, "-token-url", p.tokenURL,
			"-n", strconv.Itoa(emuN), "-c", clients, "-duration", dur, "-pid", strconv.Itoa(p.emulator.Process.Pid))
		hyd := tokenload(b, p.tokenloadBin, "tokens", "-dir", p.keyDir, "-client-id", hydraClient, "-token-url", hy.TokenURL,
			"-cacert", hy.CertFile, "-n", strconv.Itoa(hydraN), "-c", clients, "-duration", dur, "-pid", strconv.Itoa(hydraPID))
		ver := tokenload(b, p.tokenloadBin, "verify", "-dir", p.keyDir, "-goroutines", strconv.Itoa(2), "-duration", "3s")
		for name, r := range map[string]loadResult{"emulator": emu, "hydra": hyd} {
			if r.Failed > 0 || r.OK == 0 {
				b.Fatalf("%s: %d of %d token requests failed; first: %s", name, r.Failed, r.Requests, r.FirstError)
			}
		}
		b.ReportMetric(emu.PerSecond, "emulator_tokens/s")
		b.ReportMetric(emu.P99ms, "emulator_p99_ms")
		b.ReportMetric(hyd.PerSecond, "hydra_tokens/s")
		b.ReportMetric(hyd.P99ms, "hydra_p99_ms")
		b.ReportMetric(ver.PerSecond, "verify/s")
		b.ReportMetric(emu.CPUms, "emulator_cpu_ms/token")
		b.ReportMetric(hyd.CPUms, "hydra_cpu_ms/token")
		b.ReportMetric(ver.CPUms, "cpu_ms/verify")
		b.ReportMetric(emu.ClientCPUms, "loadgen_cpu_ms/emulator_token")
		b.Logf("emulator: %d tokens in %.1f s (%d signed in %.1f s); hydra: %d tokens in %.1f s (%d signed in %.1f s); verify: %d in %.1f s",
			emu.OK, emu.Seconds, emu.Signed, emu.SignSeconds, hyd.OK, hyd.Seconds, hyd.Signed, hyd.SignSeconds, ver.Requests, ver.Seconds)
	}
}
