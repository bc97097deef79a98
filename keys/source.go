package keys

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RingSource gives the current key ring. *Ring gives itself; *DirSource
// gives the ring last loaded from its directory, so that the keys a program
// signs with and publishes follow the directory without a restart.
type RingSource interface {
	Ring() *Ring
}

// Ring returns r itself, so that a fixed *Ring is a RingSource.
func (r *Ring) Ring() *Ring { return r }

// DirSource is a key source backed by a Dir that picks up changes — a key
// added, activated or removed — when Reload or Watch sees the directory
// change. It is safe for concurrent use; readers never wait for a reload.
//
// A reload that fails (a half-copied file, a key whose kid does not match)
// keeps the previous ring and reports the error: a program keeps signing
// with the keys it had rather than with none.
type DirSource struct {
	dir   Dir
	ring  atomic.Pointer[Ring]
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
func (s *DirSource) Ring() *Ring { return s.ring.Load() }

// SigningKey returns the key that signs now; it makes *DirSource a key
// source for pkjwt.Config.
func (s *DirSource) SigningKey() (*Key, error) { return s.Ring().SigningKey() }

// Reload re-reads the directory if any key or metadata file changed
// (name, size or modification time) and reports whether the ring changed.
func (s *DirSource) Reload() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stamp, err := s.dir.fingerprint()
	if err != nil {
		return false, err
	}
	if stamp == s.stamp && s.ring.Load() != nil {
		return false, nil
	}
	ring, err := s.dir.LoadRing()
	if err != nil {
		return false, fmt.Errorf("keys: reload %s (keeping the previous keys): %w", s.dir.path(), err)
	}
	s.ring.Store(ring)
	s.stamp = stamp
	return true, nil
}

// Watch calls Reload every interval until ctx is done. onChange, if not
// nil, is called with the new ring after each change, and onError with
// each failed reload.
func (s *DirSource) Watch(ctx context.Context, interval time.Duration, onChange func(*Ring), onError func(error)) {
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
// update) and each file's name, size and modification time.
func (d Dir) fingerprint() (string, error) {
	p := d.readPath()
	entries, err := os.ReadDir(p)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("keys: read key directory: %w", err)
	}
	parts := []string{p}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".pem") || strings.HasSuffix(name, ".json")) {
			continue
		}
		st, err := os.Stat(filepath.Join(p, name))
		if err != nil {
			return "", fmt.Errorf("keys: stat %s: %w", name, err)
		}
		parts = append(parts, fmt.Sprintf("%s/%d/%d", name, st.Size(), st.ModTime().UnixNano()))
	}
	sort.Strings(parts[1:])
	return strings.Join(parts, "|"), nil
}

// MarkPublished records t as the first publication time of the kids that
// have none (see Dir.MarkPublished) and reloads. A JWKS endpoint calls it
// the first time it serves a key.
func (s *DirSource) MarkPublished(kids []string, t time.Time) error {
	if _, err := s.dir.MarkPublished(kids, t); err != nil {
		return err
	}
	_, err := s.Reload()
	return err
}
