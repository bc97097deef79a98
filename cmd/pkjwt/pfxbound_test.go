package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

// A PFX asking for 2^31-1 key-derivation iterations in its MAC, its
// encrypted safe, a key bag inside that safe or a key bag in a nested
// safe is refused within a generous 2 s wherever it enters: keys import,
// and a pfx: key reference for token, check and serve. Without the bound
// each would run for many minutes.
func TestHostilePFXRefusedEverywhere(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.SelfSignedCertificate(k, "hostile", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	const huge, ok = 1<<31 - 1, 2048
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name string
		l    testutil.PFXLayout
		part string
	}{
		{"mac", testutil.PFXLayout{Password: "pw", MACIterations: huge, SafeIterations: ok, KeyIterations: ok}, "MAC"},
		{"safe", testutil.PFXLayout{Password: "pw", MACIterations: ok, SafeIterations: huge, KeyIterations: ok}, "encrypted safe 1"},
		{"keybag", testutil.PFXLayout{Password: "pw", MACIterations: ok, SafeIterations: ok, KeyIterations: huge, KeyInEncryptedSafe: true}, "encrypted safe 1 private key"},
		{"nested", testutil.PFXLayout{Password: "pw", MACIterations: ok, SafeIterations: ok, KeyIterations: huge, Nesting: 2}, "safe 2 nested safe 1 nested safe 1 private key"},
	}
	unreachable := "http://127.0.0.1:1/token" // never contacted: the key fails first
	for _, f := range files {
		path := filepath.Join(dir, f.name+".pfx")
		if err := os.WriteFile(path, testutil.BuildPFX(t, k, c, f.l), 0o600); err != nil {
			t.Fatal(err)
		}
		keyDir := filepath.Join(t.TempDir(), "keys")
		entries := []struct {
			name string
			args []string
		}{
			{"keys import", []string{"keys", "import", "--dir", keyDir, "--pfx", path, "--password-file", pwFile}},
			{"token --keys pfx:", []string{"token", "--profile", "local", "--token-url", unreachable, "--client-id", "app", "--keys", "pfx:" + path, "--password-file", pwFile}},
			{"check --keys pfx:", []string{"check", "--profile", "local", "--token-url", unreachable, "--client-id", "app", "--keys", "pfx:" + path, "--password-file", pwFile}},
			{"serve --keys pfx:", []string{"serve", "--profile", "local", "--token-url", unreachable, "--client-id", "app", "--addr", "127.0.0.1:0", "--keys", "pfx:" + path, "--password-file", pwFile}},
		}
		for _, e := range entries {
			t.Run(f.name+"/"+e.name, func(t *testing.T) {
				start := time.Now()
				r := runCLI(t, nil, e.args...)
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("took %v", took)
				}
				want := "the PFX's " + f.part + " asks for 2147483647 key-derivation iterations, more than the 1000000 allowed"
				// check reports on stdout, the others on stderr
				if r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, want) {
					t.Fatalf("exit %d, output %q %q; want 1 and %q", r.Code, r.Stdout, r.Stderr, want)
				}
				if _, err := os.Stat(keyDir); !os.IsNotExist(err) {
					t.Fatalf("the key directory was made: %v", err)
				}
			})
		}
	}
}

// Ctrl-C or SIGTERM stops long key work within a second or two: RSA
// generation (16384 bits takes minutes) and a PFX at the iteration bound
// in every layer. The process exits 1 (not killed by the signal: the
// handler ran and the command returned) and writes no key file.
func TestSignalStopsKeyWork(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the process's CPU time from /proc")
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.SelfSignedCertificate(k, "slow", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Valid with the empty password: the MAC, the encrypted safe (twice:
	// once to read the key bag's count) and the key bag inside it each
	// run MaxPFXIterations rounds of PBKDF2; left alone, the import would
	// succeed (ES256) and write the key.
	slow := filepath.Join(t.TempDir(), "slow.pfx")
	data := testutil.BuildPFX(t, k, c, testutil.PFXLayout{MACIterations: keyfile.MaxPFXIterations,
		SafeIterations: keyfile.MaxPFXIterations, KeyIterations: keyfile.MaxPFXIterations, KeyInEncryptedSafe: true})
	if err := os.WriteFile(slow, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sig  syscall.Signal
		args func(keyDir string) []string
	}{
		{"keys generate 16384 bits, SIGTERM", syscall.SIGTERM, func(d string) []string {
			return []string{"keys", "generate", "--dir", d, "--bits", "16384"}
		}},
		{"keys generate 16384 bits, SIGINT", syscall.SIGINT, func(d string) []string {
			return []string{"keys", "generate", "--dir", d, "--bits", "16384"}
		}},
		{"keys import of a PFX at the bound, SIGINT", syscall.SIGINT, func(d string) []string {
			return []string{"keys", "import", "--dir", d, "--alg", "ES256", "--pfx", slow}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyDir := filepath.Join(t.TempDir(), "keys")
			p := testutil.StartProc(t, binPath, nil, tt.args(keyDir)...)
			// The signal goes once the process is busy: 0.2 s of CPU is
			// well past start-up and the signal handler.
			waitCPU(t, p, 200*time.Millisecond)
			start := time.Now()
			if err := p.Cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.Done():
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10 s after %v", tt.sig)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("exited %v after %v", took, tt.sig)
			}
			ws := p.Cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signaled() || ws.ExitStatus() != 1 {
				t.Fatalf("%v; want exit 1 from the command, stderr:\n%s", p.Cmd.ProcessState, p.Stderr)
			}
			if !strings.Contains(p.Stderr.String(), "context canceled") {
				t.Errorf("stderr %q does not say the work was stopped", p.Stderr)
			}
			if _, err := os.Stat(keyDir); !os.IsNotExist(err) {
				entries, _ := os.ReadDir(keyDir)
				t.Fatalf("key directory left behind: %v (%d entries)", err, len(entries))
			}
		})
	}
}

// waitCPU waits until the process has used at least d of CPU time (user
// and system, from /proc/PID/stat), or fails if it exits first.
func waitCPU(t *testing.T, p *testutil.Proc, d time.Duration) {
	t.Helper()
	const ticksPerSecond = 100 // USER_HZ on Linux
	stat := filepath.Join("/proc", strconv.Itoa(p.Cmd.Process.Pid), "stat")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.Done():
			t.Fatalf("exited before it was busy: %v\n%s", p.Cmd.ProcessState, p.Stderr)
		default:
		}
		b, err := os.ReadFile(stat)
		if err != nil {
			t.Fatal(err)
		}
		_, after, _ := strings.Cut(string(b), ") ")
		f := strings.Fields(after) // state is field 3 of stat; utime 14, stime 15
		if len(f) > 12 {
			ut, _ := strconv.Atoi(f[11])
			st, _ := strconv.Atoi(f[12])
			if time.Duration(ut+st)*time.Second/ticksPerSecond >= d {
				return
			}
		}
		time.Sleep(10 * time.Millisecond) // polls for a condition; no timing depends on it
	}
	t.Fatal("the process never got busy")
}
