package atomicfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pkjwt/pkjwt/internal/atomicfile"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		old     []byte // nil: no file before
		write   func(string, []byte, fs.FileMode) error
		perm    fs.FileMode
		want    string
		wantErr error
	}{
		{"new file", nil, atomicfile.Write, 0o600, "new", nil},
		{"replace", []byte("old"), atomicfile.Write, 0o600, "new", nil},
		{"new file, public", nil, atomicfile.Write, 0o644, "new", nil},
		{"WriteNew, no file", nil, atomicfile.WriteNew, 0o600, "new", nil},
		{"WriteNew keeps a file", []byte("old"), atomicfile.WriteNew, 0o600, "old", fs.ErrExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "key.pem")
			if tt.old != nil {
				if err := os.WriteFile(name, tt.old, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := tt.write(name, []byte("new"), tt.perm)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(name)
			if err != nil || string(got) != tt.want {
				t.Fatalf("content %q, %v; want %q", got, err, tt.want)
			}
			if st, _ := os.Stat(name); tt.wantErr == nil && runtime.GOOS != "windows" && st.Mode().Perm() != tt.perm {
				t.Errorf("mode %04o, want %04o", st.Mode().Perm(), tt.perm)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("%d files left in the directory, want 1 (no temporary file)", len(entries))
			}
		})
	}
}

func TestWriteMissingDirectory(t *testing.T) {
	name := filepath.Join(t.TempDir(), "missing", "key.pem")
	if err := atomicfile.Write(name, []byte("x"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
}
