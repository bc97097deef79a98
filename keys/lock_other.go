//go:build !unix

package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Lock takes the directory's exclusive lock by creating "<dir>/.lock"
// exclusively: a second process gets ErrLocked. Unlike the flock used on
// Unix, a crashed process leaves the file behind; remove it by hand. Call
// the returned function to release it.
func (d Dir) Lock() (unlock func(), err error) {
	if err := os.MkdirAll(d.path(), 0o700); err != nil {
		return nil, fmt.Errorf("keys: create key directory: %w", err)
	}
	name := filepath.Join(d.path(), ".lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("keys: %s (remove %s if no rotation is running): %w", d.path(), name, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: lock %s: %w", d.path(), err)
	}
	f.Close()
	return func() { os.Remove(name) }, nil
}
