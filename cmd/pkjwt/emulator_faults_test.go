package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/emulator"
)

// emulatorProc is `pkjwt emulator` running as a process.
type emulatorProc struct {
	base   string // http://127.0.0.1:PORT
	out    string // stdout up to the app lines
	stderr *strings.Builder
	cmd    *exec.Cmd
	lines  chan string
	done   chan error
}

// startEmulatorProc runs the built binary with args (plus --addr 127.0.0.1:0
// and one app) and waits for its start-up lines.
func startEmulatorProc(t *testing.T, args ...string) *emulatorProc {
	t.Helper()
	args = append([]string{"emulator", "--addr", "127.0.0.1:0",
		"--app-key", "fault-cli-key", "--app-jwks-url", "http://127.0.0.1:1/jwks.json"}, args...)
	p := &emulatorProc{stderr: &strings.Builder{}, lines: make(chan string, 64), done: make(chan error, 1)}
	p.cmd = exec.Command(pkjwtBin(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PKJWT_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.done <- p.cmd.Wait()
	}()
	var out []string
	deadline := time.After(30 * time.Second)
	for !strings.Contains(strings.Join(out, "\n"), `app "app fault-cli-key"`) {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("emulator exited early:\n%s\n%s", strings.Join(out, "\n"), p.stderr.String())
			}
			out = append(out, l)
			if v, found := strings.CutPrefix(strings.TrimSpace(l), "token URL:"); found {
				p.base = strings.TrimSuffix(strings.TrimSpace(v), "/oauth2/token")
			}
		case <-deadline:
			t.Fatalf("no start-up lines:\n%s", strings.Join(out, "\n"))
		}
	}
	p.out = strings.Join(out, "\n")
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *emulatorProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range p.lines {
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("emulator did not stop on SIGTERM")
	}
}

type answer struct {
	status     int
	retryAfter string
	body       map[string]any
	err        error
}

func (p *emulatorProc) postToken(t *testing.T) answer {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
	resp, err := http.Post(p.base+"/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	return doAnswer(t, resp, err)
}

func (p *emulatorProc) getPatient(t *testing.T) answer {
	t.Helper()
	resp, err := http.Get(p.base + "/personal-demographics/FHIR/R4/Patient/9000000009")
	return doAnswer(t, resp, err)
}

func doAnswer(t *testing.T, resp *http.Response, err error) answer {
	t.Helper()
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{err: err}
	}
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("status %d, body not JSON: %q", resp.StatusCode, b)
	}
	return a
}

// TestEmulatorCommandTokenFaults runs `pkjwt emulator` with faults on the
// token endpoint that clear after one hit each: the first token request
// gets NHS's 500 unknown_error, the second row 20's 429 with the
// Retry-After given, the third the emulator's normal answer (row 6 for a
// form without an assertion); PDS is never hit.
func TestEmulatorCommandTokenFaults(t *testing.T) {
	p := startEmulatorProc(t, "--fail-rate", "1", "--rate-limit-fraction", "1", "--retry-after", "3s",
		"--fault-target", "token", "--fault-count", "1")
	for _, want := range []string{"fault: fail on token, clears after 1", "fault: rate-limit on token, Retry-After 3s, clears after 1"} {
		if !strings.Contains(p.out, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, p.out)
		}
	}
	if a := p.getPatient(t); a.err != nil || a.status != 401 {
		t.Errorf("PDS under a token fault: %+v", a)
	}
	a := p.postToken(t)
	if a.status != 500 || a.body["error"] != "unknown_error" {
		t.Errorf("first token request: %+v", a)
	}
	a = p.postToken(t)
	if a.status != 429 || a.body["error"] != "rate_limit_exceeded" || a.retryAfter != "3" {
		t.Errorf("second token request: %+v", a)
	}
	a = p.postToken(t)
	if a.status != 400 || a.body["error_description"] != "Missing client_assertion" {
		t.Errorf("after the faults cleared: %+v", a)
	}
	p.stop(t)
	if !strings.Contains(p.stderr.String(), "fault=fail") || !strings.Contains(p.stderr.String(), "fault=rate-limit") {
		t.Errorf("log lacks the faults:\n%s", p.stderr.String())
	}
}

// TestEmulatorCommandPDSFaults: --drop-rate on PDS closes the connection of
// the first two PDS requests; the third gets PDS's answer (401 without a
// token); the token endpoint is never hit.
func TestEmulatorCommandPDSFaults(t *testing.T) {
	p := startEmulatorProc(t, "--drop-rate", "1", "--fault-target", "pds", "--fault-count", "2")
	if !strings.Contains(p.out, "fault: drop on pds, clears after 2") {
		t.Errorf("start-up output lacks the fault:\n%s", p.out)
	}
	if a := p.postToken(t); a.status != 400 {
		t.Errorf("token endpoint under a PDS fault: %+v", a)
	}
	// A fresh connection each time, so that net/http's automatic retry of
	// a GET on a reused connection does not hide a drop.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < 2; i++ {
		resp, err := client.Get(p.base + "/personal-demographics/FHIR/R4/Patient/9000000009")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("PDS request %d answered %d, want the connection closed", i+1, resp.StatusCode)
		}
	}
	resp, err := client.Get(p.base + "/personal-demographics/FHIR/R4/Patient/9000000009")
	a := doAnswer(t, resp, err)
	if a.err != nil || a.status != 401 {
		t.Errorf("after the fault cleared: %+v", a)
	}
	p.stop(t)
	if !strings.Contains(p.stderr.String(), "fault=drop") {
		t.Errorf("log lacks the drops:\n%s", p.stderr.String())
	}
}

// TestEmulatorCommandFaultUsage: fault flags that cannot apply are usage
// errors (exit 2) with a message naming the flag.
func TestEmulatorCommandFaultUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--fail-rate", "1.5"}, "--fail-rate must be in [0, 1]"},
		{[]string{"--drop-rate", "-1"}, "--drop-rate must be in [0, 1]"},
		{[]string{"--fault-target", "api", "--fail-rate", "1"}, "--fault-target must be token, pds or both"},
		{[]string{"--fault-target", "pds", "--jwks-unreachable"}, "--jwks-unreachable applies to the token target only"},
		{[]string{"--fault-count", "-1", "--fail-rate", "1"}, "--fault-count must not be negative"},
		{[]string{"--latency", "11m"}, "fault latency"},
		{[]string{"--rate-limit-fraction", "1", "--retry-after", "2h"}, "fault retry-after"},
	}
	for _, c := range cases {
		r := runCLI(t, nil, append([]string{"emulator", "--addr", "127.0.0.1:0"}, c.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: code %d, stderr %q, want 2 and %q", c.args, r.Code, r.Stderr, c.want)
		}
	}
}

// TestFaultFlagTable: every fault flag is complete, its targets are the
// ones the emulator accepts for its kind, and --fault-target parses each
// target's name.
func TestFaultFlagTable(t *testing.T) {
	for _, k := range faultFlagTable {
		if k.kind == "" || k.name == "" || k.targets == 0 || k.effect == "" {
			t.Errorf("incomplete row %+v", k)
		}
		for _, tg := range []emulator.FaultTarget{emulator.TargetToken, emulator.TargetPDS} {
			_, err := emulator.New(emulator.Config{Faults: []emulator.Fault{{Kind: k.kind, Target: tg, Latency: time.Second}}})
			if want := k.targets&tg != 0; (err == nil) != want {
				t.Errorf("--%s on %s: emulator.New err = %v, want accepted = %v", k.name, tg, err, want)
			}
		}
	}
	for _, s := range []string{"token", "pds", "both"} {
		if tg, ok := parseFaultTarget(s); !ok || tg.String() != s {
			t.Errorf("parseFaultTarget(%q) = %v, %v", s, tg, ok)
		}
	}
	if _, ok := parseFaultTarget("api"); ok {
		t.Error("parseFaultTarget(api) accepted")
	}
}
