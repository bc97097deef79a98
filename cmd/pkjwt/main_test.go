package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// binPath is the pkjwt binary built once by TestMain for the tests that run
// the CLI as a process.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pkjwt-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "pkjwt")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build pkjwt: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pkjwtBin returns the path of the built binary.
func pkjwtBin(t testing.TB) string {
	t.Helper()
	return binPath
}

// result is the outcome of one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the built binary with args and extra environment variables
// (PKJWT_* from the test's own environment are removed) and waits at most a
// minute.
func runCLI(t testing.TB, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pkjwtBin(t), args...)
	for _, kv := range os.Environ() {
		if !bytes.HasPrefix([]byte(kv), []byte("PKJWT_")) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run pkjwt %v: %v", args, err)
	}
	return result{stdout: so.String(), stderr: se.String(), code: code}
}
