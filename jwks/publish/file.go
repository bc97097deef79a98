package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/pkjwt/pkjwt/internal/atomicfile"
	"github.com/pkjwt/pkjwt/jwks/publish/internal/desturl"
)

// fileStore writes a JWKS to the local file system: a directory served by a
// web server, or the working tree of a pipeline that syncs it to a CDN. Keys
// are file paths. A file keeps no Content-Type or Cache-Control: the server
// that serves it sets them.
type fileStore struct{}

// OpenFile returns the file destination dest names: file:///abs/path,
// file:relative/path (relative to the working directory) or
// file://localhost/abs/path. The file is written atomically with mode
// 0644, its missing parent directories with mode 0755. Destination.URL is
// the absolute file:// URL. OpenFile touches nothing.
func OpenFile(dest string) (Destination, error) {
	d, err := openFile(dest)
	if err != nil {
		return Destination{}, fmt.Errorf("%w: %w", ErrDestination, err)
	}
	return d, nil
}

func openFile(dest string) (Destination, error) {
	u, err := desturl.Parse(dest, "file")
	if err != nil {
		return Destination{}, err
	}
	if _, err := desturl.Query(u); err != nil {
		return Destination{}, err
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
		return Destination{}, fmt.Errorf("file URL %q names host %q; use file:///abs/path or file:relative/path", u.String(), u.Host)
	}
	if p == "" || p == "/" || p[len(p)-1] == '/' {
		return Destination{}, fmt.Errorf("file URL %q names no file", u.String())
	}
	abs, err := filepath.Abs(filepath.FromSlash(p))
	if err != nil {
		return Destination{}, err
	}
	return Destination{Store: fileStore{}, Key: abs, URL: (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()}, nil
}

// Put writes body atomically (internal/atomicfile: a temporary file in the
// target's directory, synced and renamed over the target) with mode 0644
// (a JWKS is public), so a web server never serves a half-written set.
// Missing parent directories are created with mode 0755.
func (fileStore) Put(ctx context.Context, name string, body []byte, _ Meta) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory", name)
	}
	return atomicfile.Write(name, body, 0o644)
}

// Get opens the file for reading back.
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
	return Object{Body: f}, nil
}
