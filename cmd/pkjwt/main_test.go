package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/internal/testutil/lockholder"
)

// binPath is the pkjwt binary built once by TestMain for the tests that run
// the CLI as a process.
var binPath string

func TestMain(m *testing.M) {
	lockholder.Main() // a process of TestKeysWaitForTheLock
	bin, cleanup, err := testutil.BuildCLI()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// pkjwtBin returns the path of the built binary.
func pkjwtBin(t testing.TB) string {
	t.Helper()
	return binPath
}

// result is the outcome of one CLI run.
type result = testutil.Result

// runCLI runs the built binary with args and extra environment variables
// (PKJWT_* from the test's own environment are removed) and waits at most a
// minute.
func runCLI(t testing.TB, env []string, args ...string) result {
	t.Helper()
	return testutil.RunCLI(t, binPath, env, args...)
}
