// Package lockholder starts a second process that holds a key directory's
// lock, for tests of what waits on that lock. It is apart from testutil
// because it imports keys, whose own tests import testutil.
package lockholder

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/keys/keydir"
)

// The environment of a lock-holder process (see Start).
const (
	lockHolderDirEnv = "PKJWT_TEST_LOCK_HOLDER_DIR"
	lockHolderForEnv = "PKJWT_TEST_LOCK_HOLDER_FOR"
)

// Main makes the test binary a lock holder when Start
// started it: it takes the key directory's lock through keys.Dir.Update,
// says "locked" on stdout, holds it for the time asked and exits. In any
// other run it returns at once. Call it first in TestMain.
func Main() {
	dir := os.Getenv(lockHolderDirEnv)
	if dir == "" {
		return
	}
	hold, err := time.ParseDuration(os.Getenv(lockHolderForEnv))
	if err == nil {
		err = keydir.Dir{Path: dir}.Update(context.Background(), func(*keydir.Tx) error {
			fmt.Println("locked")
			time.Sleep(hold) // the point of this process: hold a real lock for a while
			return nil
		})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lock holder:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Start starts the test binary again as another process (whose
// TestMain calls Main) that holds the lock of key directory dir
// for d, and returns its pid once the lock is held. The test's cleanup
// waits for the process to end.
func Start(t testing.TB, dir string, d time.Duration) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHolderDirEnv+"="+dir, lockHolderForEnv+"="+d.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		cmd.Process.Kill()
		t.Fatalf("the lock holder did not take the lock: %q, %v", line, err)
	}
	return cmd.Process.Pid
}
