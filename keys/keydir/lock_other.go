//go:build !unix

package keydir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// tryLock takes the directory's exclusive lock by creating "<dir>/.lock"
// exclusively, with the holder's pid and the time in it: while another
// process holds it, it returns ErrLocked and that holder. Unlike the flock
// used on Unix, a crashed process leaves the file behind; remove it by
// hand. Call the returned function to release it.
func (d Dir) tryLock() (unlock func(), holder lockHolder, err error) {
	if err := os.MkdirAll(d.path(), 0o700); err != nil {
		return nil, holder, fmt.Errorf("keys: create key directory: %w", err)
	}
	name := filepath.Join(d.path(), ".lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		b, _ := readBounded(name)
		return nil, parseHolder(b), fmt.Errorf("remove %s if that process is gone: %w", name, ErrLocked)
	}
	if err != nil {
		return nil, holder, fmt.Errorf("keys: lock %s: %w", d.path(), err)
	}
	f.Write(holderRecord(time.Now()))
	f.Close()
	return func() { os.Remove(name) }, holder, nil
}
