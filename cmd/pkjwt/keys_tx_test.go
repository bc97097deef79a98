package main

import (
	"fmt"
	"github.com/pkjwt/pkjwt/internal/testutil/lockholder"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeysGenerateRefusesADirectoryThatDoesNotLoad reproduces the defect
// of issue 15: with one damaged file in the directory, a second
// 'keys generate --kid dup' used to skip the duplicate check and leave a
// directory that nothing could load again. Now every change refuses a
// directory that does not load, naming the file, and a duplicate kid is
// refused before anything is written.
func TestKeysGenerateRefusesADirectoryThatDoesNotLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--alg", "ES256", "--kid", "dup"); r.Code != 0 {
		t.Fatalf("first generate: %v", r)
	}
	broken := filepath.Join(dir, "broken.pem")
	if err := os.WriteFile(broken, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := dirNames(t, dir)
	for _, args := range [][]string{
		{"keys", "generate", "--dir", dir, "--alg", "ES256", "--kid", "dup"},
		{"keys", "generate", "--dir", dir, "--alg", "ES256", "--kid", "other"},
		{"keys", "rotate", "--dir", dir, "--alg", "ES256"},
	} {
		r := runCLI(t, nil, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "broken.pem") {
			t.Fatalf("%v with a damaged file: %v", args[:2], r)
		}
		if got := dirNames(t, dir); got != before {
			t.Fatalf("%v wrote to a directory that does not load: %s, was %s", args[:2], got, before)
		}
	}
	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--alg", "ES256", "--kid", "dup")
	if r.Code != 1 || !strings.Contains(r.Stderr, `kid "dup"`) || !strings.Contains(r.Stderr, "already") {
		t.Fatalf("duplicate kid: %v", r)
	}
	if ks := listKeys(t, dir); len(ks) != 1 {
		t.Fatalf("the directory holds %d keys after a refused duplicate, want 1", len(ks))
	}
}

// dirNames lists the files of dir other than the lock file, for comparing
// a directory before and after a command.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range entries {
		if e.Name() != ".lock" {
			n = append(n, e.Name())
		}
	}
	return strings.Join(n, " ")
}

// TestKeysRotateDryRunCreatesNothing: 'keys rotate --dry-run' plans
// without the lock, so it creates neither a missing directory nor a lock
// file.
func TestKeysRotateDryRunCreatesNothing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "keys")
	rep, r := rotate(t, missing, "--dry-run")
	if r.Code != 0 || actions(rep) != "add" {
		t.Fatalf("dry run on a missing directory: %v %v", r, rep)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("the dry run created %s: %v", missing, err)
	}
	dir := filepath.Join(t.TempDir(), "keys")
	if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--alg", "ES256"); r.Code != 0 {
		t.Fatal(r)
	}
	if err := os.Remove(filepath.Join(dir, ".lock")); err != nil {
		t.Fatal(err)
	}
	before := dirNames(t, dir)
	if _, r := rotate(t, dir, "--dry-run"); r.Code != 0 {
		t.Fatal(r)
	}
	if _, err := os.Stat(filepath.Join(dir, ".lock")); !os.IsNotExist(err) || dirNames(t, dir) != before {
		t.Fatalf("the dry run changed the directory: %s, was %s (lock: %v)", dirNames(t, dir), before, err)
	}
}

// TestKeysWaitForTheLock: while another process holds the directory's
// lock (as a 'keys rotate' does), 'keys generate' says it waits for that
// pid and goes on once the lock is free; 'keys rotate --skip-if-locked'
// exits 0 at once, naming the holder, and changes nothing.
func TestKeysWaitForTheLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--alg", "ES256"); r.Code != 0 {
		t.Fatal(r)
	}
	pid := lockholder.Start(t, dir, 8*time.Second) // long enough for the runs below on a busy machine
	holder := fmt.Sprintf("held by pid %d since ", pid)

	for _, json := range []bool{false, true} {
		args := []string{"keys", "rotate", "--dir", dir, "--alg", "ES256", "--skip-if-locked"}
		if json {
			args = append(args, "--json")
		}
		r := runCLI(t, nil, args...)
		if r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("locked by pid %d since ", pid)) || (json != strings.Contains(r.Stdout, `"skipped"`)) {
			t.Fatalf("rotate --skip-if-locked (json %v) while pid %d holds the lock: %v", json, pid, r)
		}
	}
	if n := len(listKeys(t, dir)); n != 1 {
		t.Fatalf("a skipped rotation left %d keys", n)
	}

	start := time.Now()
	r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--alg", "ES256", "--state", "pending")
	if r.Code != 0 || !strings.Contains(r.Stderr, "waiting up to 30s for the lock on "+dir+", "+holder) {
		t.Fatalf("generate while pid %d holds the lock: %v", pid, r)
	}
	t.Logf("generate waited %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.Stderr))
	if n := len(listKeys(t, dir)); n != 2 {
		t.Fatalf("%d keys after the wait, want 2", n)
	}
}
