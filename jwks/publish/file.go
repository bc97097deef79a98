package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// fileStore writes a JWKS to the local file system: a directory served by a
// web server, or the working tree of a pipeline that syncs it to a CDN. Keys
// are file paths. A file keeps no Content-Type or Cache-Control: the server
// that serves it sets them.
type fileStore struct{}

// openFile accepts file:///abs/path and file:relative/path (also
// file://localhost/abs/path).
func openFile(u *url.URL, _ Options) (Store, string, string, error) {
	if _, err := onlyQuery(u); err != nil {
		return nil, "", "", err
	}
	var p string
	switch {
	case u.Opaque != "":
		p = u.Opaque // file:relative/path
		if up, err := url.PathUnescape(p); err == nil {
			p = up
		}
	case u.Host == "" || u.Host == "localhost":
		p = u.Path
	default:
		return nil, "", "", fmt.Errorf("%w: file URL %q names host %q; use file:///abs/path or file:relative/path", ErrDestination, u.String(), u.Host)
	}
	if p == "" || p == "/" || p[len(p)-1] == '/' {
		return nil, "", "", fmt.Errorf("%w: file URL %q names no file", ErrDestination, u.String())
	}
	abs, err := filepath.Abs(filepath.FromSlash(p))
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %w", ErrDestination, err)
	}
	return fileStore{}, abs, (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// Put writes body to a temporary file in the target's directory with mode
// 0644 (a JWKS is public), syncs it, and renames it over the target, so a
// web server never serves a half-written set. Missing parent directories are
// created with mode 0755.
func (fileStore) Put(ctx context.Context, name string, body []byte, _ Meta) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory", name)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if _, err = f.Write(body); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, name); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: not every file system syncs a directory
		d.Close()
	}
	return nil
}

// Get reads the file back, at most MaxReadBack bytes.
func (fileStore) Get(ctx context.Context, name string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return Object{}, fmt.Errorf("%s: %w", name, ErrVerify)
	}
	if err != nil {
		return Object{}, err
	}
	defer f.Close()
	b, err := readBounded(f)
	if err != nil {
		return Object{}, fmt.Errorf("read %s: %w", name, err)
	}
	return Object{Body: b}, nil
}
