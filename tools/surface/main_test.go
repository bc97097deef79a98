package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.go", `package a
type T struct{ Field int }
type u struct{}
func (T) M() {}
func (*T) N() {}
func (u) O() {}
func F() {}
func g() {}
const C, d = 1, 2
var V int
type I interface{ Method() }
`)
	write("a_test.go", "package a\nfunc TestX() {}\n")
	write("keys/k.go", "package keys\nfunc A() {}\n")
	write("internal/x/x.go", "package x\nfunc Hidden() {}\n")
	write("cmd/c/main.go", "package main\nfunc Main() {}\n")
	write("other/go.mod", "module other\n")
	write("other/o.go", "package o\nfunc O() {}\n")

	got, err := count(root)
	if err != nil {
		t.Fatal(err)
	}
	// T, M, N, F, C, V, I: fields, interface methods, unexported names
	// and methods of unexported types do not count.
	want := map[string]int{"": 7, "keys": 1}
	if len(got) != len(want) {
		t.Fatalf("count = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("count[%q] = %d, want %d", k, got[k], v)
		}
	}
}

func TestRunFailsAboveLimit(t *testing.T) {
	root := t.TempDir()
	var src strings.Builder
	src.WriteString("package emulator\n")
	for i := range limits["emulator"] + 1 {
		src.WriteString("func F" + string(rune('A'+i/26)) + string(rune('A'+i%26)) + "() {}\n")
	}
	if err := os.MkdirAll(filepath.Join(root, "emulator"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "emulator", "e.go"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(root, &out, &errOut); code != 1 {
		t.Fatalf("run = %d, want 1; out:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "OVER") {
		t.Errorf("table does not mark the package over its limit:\n%s", out.String())
	}
}
