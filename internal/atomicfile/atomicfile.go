// Package atomicfile writes a file so that a reader sees its old content or
// its new content, never part of either: the data goes to a temporary file
// in the same directory, which is synced and then renamed (or linked) to
// the final name, and the directory is synced. Key files, metadata and
// exported PFX files are written with it.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to name with mode perm, replacing name if it exists.
func Write(name string, data []byte, perm fs.FileMode) error {
	return write(name, data, perm, true)
}

// WriteNew is Write that never replaces a file: when name exists it fails
// with an error matching fs.ErrExist and leaves name as it was.
func WriteNew(name string, data []byte, perm fs.FileMode) error {
	return write(name, data, perm, false)
}

func write(name string, data []byte, perm fs.FileMode, replace bool) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create a temporary file next to %s: %w", name, err)
	}
	tmp := f.Name()
	// After a link the temporary name must go; after a rename it is gone
	// already; after a failure it must not stay behind.
	defer os.Remove(tmp)
	if err = f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if replace {
		err = os.Rename(tmp, name)
	} else {
		err = os.Link(tmp, name)
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: %w", name, fs.ErrExist)
		}
		return fmt.Errorf("write %s: %w", name, err)
	}
	SyncDir(dir)
	return nil
}

// SyncDir syncs directory dir after a file in it was renamed or removed,
// best effort: some file systems do not sync directories.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
