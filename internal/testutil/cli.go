package testutil

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BuildCLI builds the pkjwt command into a temporary directory, for a
// TestMain; cleanup removes it.
func BuildCLI() (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "pkjwt-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "pkjwt")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/pkjwt/pkjwt/cmd/pkjwt").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build pkjwt: %v\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// CLIEnv is the environment the CLI runs with in tests: the test's own,
// less every PKJWT_ variable, plus extra.
func CLIEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PKJWT_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Result is the outcome of one CLI run.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// String shows the whole result, for a failure message.
func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// RunCLI runs bin with args and extra environment variables (see CLIEnv)
// and waits at most a minute.
func RunCLI(t testing.TB, bin string, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = CLIEnv(env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run pkjwt %v: %v", args, err)
	}
	return Result{Stdout: so.String(), Stderr: se.String(), Code: code}
}

// Proc is a long-running pkjwt process (serve, demo, the emulator),
// stopped when the test ends.
type Proc struct {
	Cmd            *exec.Cmd
	Stdout, Stderr *SyncBuffer
	lines          chan string // stdout, line by line
	addrFile       string      // --addr-file, set by StartServer
	done           chan struct{}
}

// StartProc runs bin with args and extra environment variables (see
// CLIEnv). When the test ends the process gets SIGTERM, and SIGKILL ten
// seconds later.
func StartProc(t testing.TB, bin string, env []string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = CLIEnv(env...)
	p := &Proc{Cmd: cmd, lines: make(chan string, 100), Stdout: &SyncBuffer{}, Stderr: &SyncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(io.TeeReader(out, p.Stdout))
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// WaitLine returns the first stdout line that starts with prefix.
func (p *Proc) WaitLine(t testing.TB, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				<-p.done
				t.Fatalf("process exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", p.Cmd.ProcessState, prefix, p.Stdout, p.Stderr)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %q line after %s\nstdout:\n%s\nstderr:\n%s", prefix, timeout, p.Stdout, p.Stderr)
		}
	}
}

// Interrupt sends SIGINT and returns the exit code.
func (p *Proc) Interrupt(t testing.TB) int {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20s after SIGINT\nstderr:\n%s", p.Stderr)
	}
	return p.Cmd.ProcessState.ExitCode()
}

// serverLines are the stdout lines that 'pkjwt serve' and 'pkjwt emulator'
// print once they listen, after writing their --addr-file.
var serverLines = map[string]string{
	"serve":    "Serving the pkjwt web app on ",
	"emulator": "pkjwt emulator: listening on ",
}

// StartServer runs 'pkjwt serve' or 'pkjwt emulator' (args[0]) like
// StartProc, on any free port of 127.0.0.1: the process binds --addr
// 127.0.0.1:0 itself and reports the port it got in its --addr-file, so
// that nothing can take the port between its choice and its use (no
// free-port race). It waits (a minute at most) until the server listens
// and returns it with its base URL (http://127.0.0.1:PORT, no trailing
// slash).
func StartServer(t testing.TB, bin string, env []string, args ...string) (*Proc, string) {
	t.Helper()
	prefix, ok := serverLines[args[0]]
	if !ok {
		t.Fatalf("StartServer: %q is not a server command", args[0])
	}
	addrFile := filepath.Join(t.TempDir(), "addr")
	p := StartProc(t, bin, env, append(append([]string{}, args...), "--addr", "127.0.0.1:0", "--addr-file", addrFile)...)
	line := p.WaitLine(t, prefix, time.Minute)
	b, err := os.ReadFile(addrFile)
	if err != nil {
		t.Fatalf("pkjwt %s printed %q but wrote no --addr-file: %v", args[0], line, err)
	}
	url := "http://" + strings.TrimSuffix(string(b), "\n")
	if !strings.HasPrefix(strings.TrimPrefix(line, prefix), url) || !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("pkjwt %s: --addr-file holds %q, the line says %q", args[0], b, line)
	}
	p.addrFile = addrFile
	return p, url
}

// AddrFile is the --addr-file of a process StartServer started ("" for
// another).
func (p *Proc) AddrFile() string { return p.addrFile }
