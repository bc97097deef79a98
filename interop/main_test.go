package interop_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/pkjwt/pkjwt/internal/testutil"
)

// binPath is the pkjwt CLI, built once by TestMain for the tests that run
// it as a process.
var binPath string

func TestMain(m *testing.M) {
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

// runCLI runs the pkjwt binary with args and extra environment variables
// and waits at most a minute.
func runCLI(t testing.TB, env []string, args ...string) testutil.Result {
	t.Helper()
	return testutil.RunCLI(t, binPath, env, args...)
}

// startServer runs 'pkjwt serve' on any free port of 127.0.0.1, which it
// binds and reports itself (testutil.StartServer), and returns it with its
// base URL.
func startServer(t *testing.T, env []string, args ...string) (*testutil.Proc, string) {
	t.Helper()
	return testutil.StartServer(t, binPath, env, args...)
}
