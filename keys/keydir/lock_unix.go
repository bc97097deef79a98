//go:build unix

package keydir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// tryLock takes the directory's exclusive lock (an flock on
// "<dir>/.lock"), without waiting, and writes the holder's pid and the
// time into the lock file. While another process holds it, it returns
// ErrLocked and the holder the file names. The lock goes with the process,
// so a crashed rotation never leaves the directory locked. Call the
// returned function to release it.
func (d Dir) tryLock() (unlock func(), holder lockHolder, err error) {
	if err := os.MkdirAll(d.path(), 0o700); err != nil {
		return nil, holder, fmt.Errorf("keys: create key directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d.path(), ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, holder, fmt.Errorf("keys: open the lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := io.ReadAll(io.LimitReader(f, 256))
			f.Close()
			return nil, parseHolder(b), ErrLocked
		}
		f.Close()
		return nil, holder, fmt.Errorf("keys: lock %s: %w", d.path(), err)
	}
	// Best effort: the record only serves the messages of waiting processes.
	if f.Truncate(0) == nil {
		f.WriteAt(holderRecord(time.Now()), 0)
	}
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, holder, nil
}
