package keydir

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkjwt/pkjwt/keys"
)

// DirSource is a key source backed by a Dir that picks up changes — a key
// added, activated or removed — when Reload or Watch sees the directory
// change. It is safe for concurrent use; readers never wait for a reload.
//
// A reload that fails (a half-copied file, a key whose kid does not match)
// keeps the previous ring and reports the error: a program keeps signing
// with the keys it had rather than with none.
type DirSource struct {
	dir   Dir
	ring  atomic.Pointer[keys.Ring]
	mu    sync.Mutex // serialises reloads
	stamp string     // directory fingerprint of the loaded ring, under mu
}

// NewDirSource loads d once and returns a source over it.
func NewDirSource(d Dir) (*DirSource, error) {
	s := &DirSource{dir: d}
	if _, err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Ring returns the current ring.
func (s *DirSource) Ring() *keys.Ring { return s.ring.Load() }

// SigningKey returns the key that signs now; it makes *DirSource a key
// source for pkjwt.Config.
func (s *DirSource) SigningKey() (*keys.Key, error) { return s.Ring().SigningKey() }

// Reload re-reads the directory if any key or metadata file changed (a
// file added, removed or rewritten, whatever its size and dates) and
// reports whether the ring changed.
func (s *DirSource) Reload() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stamp, err := s.dir.fingerprint()
	if err != nil {
		return false, err
	}
	prev := s.ring.Load()
	if stamp == s.stamp && prev != nil {
		return false, nil
	}
	ring, err := s.dir.LoadRing()
	if err != nil {
		if prev == nil {
			return false, fmt.Errorf("keys: load %s: %w", s.dir.path(), err)
		}
		return false, fmt.Errorf("keys: reload %s (keeping the %d keys loaded before): %w", s.dir.path(), prev.Len(), err)
	}
	s.ring.Store(ring)
	s.stamp = stamp
	return true, nil
}

// Watch calls Reload every interval until ctx is done. onChange, if not
// nil, is called with the new ring after each change, and onError with
// each failed reload.
func (s *DirSource) Watch(ctx context.Context, interval time.Duration, onChange func(*keys.Ring), onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := s.Reload()
		if err != nil && onError != nil {
			onError(err)
		}
		if changed && onChange != nil {
			onChange(s.Ring())
		}
	}
}

// fingerprint describes the key and metadata files of the directory: the
// directory read (a Kubernetes Secret's "..data" target changes on every
// update) and a SHA-256 of each file's name and content, so that any
// rewrite is seen, even one of the same size within one tick of the file
// system's clock. The files are small; reading them costs less than a
// missed rotation.
func (d Dir) fingerprint() (string, error) {
	p := d.readPath()
	entries, err := os.ReadDir(p)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("keys: read key directory: %w", err)
	}
	h := sha256.New()
	io.WriteString(h, p)
	for _, e := range entries { // sorted by name
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".pem") || strings.HasSuffix(name, ".json")) {
			continue
		}
		data, err := readBounded(filepath.Join(p, name))
		if err != nil {
			return "", fmt.Errorf("keys: read %s: %w", filepath.Join(p, name), err)
		}
		fmt.Fprintf(h, "\x00%s\x00%d\x00", name, len(data))
		h.Write(data)
	}
	return string(h.Sum(nil)), nil
}

// MarkPublished records t as the first publication time of the kids that
// have none (see Dir.MarkPublished) and reloads. A JWKS endpoint has it
// called, off the request path, after it first serves a key.
func (s *DirSource) MarkPublished(ctx context.Context, kids []string, t time.Time) error {
	if _, err := s.dir.MarkPublished(ctx, kids, t); err != nil {
		return err
	}
	_, err := s.Reload()
	return err
}
