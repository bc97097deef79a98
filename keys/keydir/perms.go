// The permission check on private key files and the key directory.

package keydir

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// checkPerms refuses private key files that group or others may read or
// write, and a directory they may write to (they could swap a key in). The
// error lists every such file and the one chmod that fixes them all. It is
// a no-op on Windows, whose permission bits mean nothing here.
func (d Dir) checkPerms(dir string, ns []string) error {
	if d.InsecurePermissions || runtime.GOOS == "windows" || len(ns) == 0 {
		return nil
	}
	var bad, paths []string
	dirBad := false
	if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o022 != 0 {
		bad = append(bad, fmt.Sprintf("the key directory %s (mode %04o) is writable by group or others", dir, st.Mode().Perm()))
		paths, dirBad = append(paths, shellQuote(dir)), true
	}
	var files []string
	for _, n := range ns {
		f := filepath.Join(dir, n+".pem")
		if st, err := os.Stat(f); err == nil && st.Mode().Perm()&0o077 != 0 {
			files = append(files, fmt.Sprintf("%s (mode %04o)", f, st.Mode().Perm()))
			paths = append(paths, shellQuote(f))
		}
	}
	switch len(files) {
	case 0:
	case 1:
		bad = append(bad, "the private key file "+files[0]+" may be read by group or others")
	default:
		bad = append(bad, fmt.Sprintf("%d private key files may be read by group or others: %s", len(files), strings.Join(files, ", ")))
	}
	// One command fixes them all.
	var fix string
	switch {
	case len(bad) == 0:
		return nil
	case !dirBad:
		fix = "chmod 600 "
	case len(files) == 0:
		fix = "chmod go-w "
	default:
		fix = "chmod go-rwx "
	}
	// The command comes last, whole, ready to copy.
	return fmt.Errorf("keys: %w: %s; fix with: %s%s", ErrInsecurePermissions, strings.Join(bad, "; "), fix, strings.Join(paths, " "))
}

// shellQuote quotes a path for a command a user copies into a shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./,:=@+-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
