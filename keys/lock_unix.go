//go:build unix

package keys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Lock takes the directory's exclusive lock (an flock on "<dir>/.lock"),
// without waiting: a second process gets ErrLocked. The lock goes with the
// process, so a crashed rotation never leaves the directory locked. Call
// the returned function to release it.
func (d Dir) Lock() (unlock func(), err error) {
	if err := os.MkdirAll(d.path(), 0o700); err != nil {
		return nil, fmt.Errorf("keys: create key directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d.path(), ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keys: open the lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("keys: %s: %w", d.path(), ErrLocked)
		}
		return nil, fmt.Errorf("keys: lock %s: %w", d.path(), err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
