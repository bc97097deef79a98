package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// Missing reports a tool a test needs and cannot find: it skips the test,
// or fails it when the environment variable require is set ("make test"
// sets every PKJWT_REQUIRE_*), so that a missing install step shows in CI.
func Missing(t testing.TB, require, msg string) {
	t.Helper()
	if os.Getenv(require) != "" {
		t.Fatalf("%s (%s is set)", msg, require)
	}
	t.Skipf("%s; set %s=1 to fail instead", msg, require)
}

// cachedTool finds a tool "make deps" builds: $env, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/name. It returns the path it
// looked at and whether a file is there.
func cachedTool(env, name string) (string, bool) {
	bin := os.Getenv(env)
	if bin == "" {
		if cache, err := os.UserCacheDir(); err == nil {
			bin = filepath.Join(cache, "pkjwt-tools", name)
		}
	}
	if bin == "" {
		return "", false
	}
	fi, err := os.Stat(bin)
	return bin, err == nil && !fi.IsDir()
}
