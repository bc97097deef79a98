package interop_test

import (
	"fmt"
	"net"
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

// startProc runs a long-running pkjwt process (serve), stopped when the
// test ends.
func startProc(t *testing.T, env []string, args ...string) *testutil.Proc {
	t.Helper()
	return testutil.StartProc(t, binPath, env, args...)
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
