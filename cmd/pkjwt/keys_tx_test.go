package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
