package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultDir is the key directory used when none is given.
const DefaultDir = "keys"

// maxKeyFile bounds how much of a key or metadata file is read.
const maxKeyFile = 1 << 20

// Dir is a directory of keys: for each key a PKCS#8 PEM file "<kid>.pem"
// (mode 0600) and a metadata file "<kid>.json" (mode 0600) holding its
// algorithm, state and dates. The directory itself is created with mode 0700.
// Files are written atomically: a temporary file in the same directory is
// written, synced and renamed over the final name, so a reader never sees a
// half-written key.
type Dir struct {
	// Path is the directory; "" means DefaultDir.
	Path string
}

// meta is the on-disk metadata format, versioned so that later states and
// fields can be added without breaking old directories.
type meta struct {
	Version   int       `json:"version"`
	KID       string    `json:"kid"`
	Algorithm string    `json:"alg"`
	State     State     `json:"state"`
	Created   time.Time `json:"created"`
	NotBefore time.Time `json:"not_before,omitzero"`
}

func (d Dir) path() string {
	if d.Path == "" {
		return DefaultDir
	}
	return d.Path
}

// validKID reports whether kid is safe to use as a file name.
func validKID(kid string) bool {
	if kid == "" || len(kid) > 128 {
		return false
	}
	for _, r := range kid {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Save writes k's private key and metadata. The private key must be local
// (exportable as PKCS#8). Save refuses to overwrite an existing key file.
func (d Dir) Save(k *Key) error {
	if !validKID(k.ID) {
		return fmt.Errorf("keys: kid %q is not a safe file name: %w", k.ID, ErrMalformed)
	}
	pemBytes, err := MarshalPEM(k)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.path(), 0o700); err != nil {
		return fmt.Errorf("keys: create key directory: %w", err)
	}
	keyPath := filepath.Join(d.path(), k.ID+".pem")
	if _, err := os.Lstat(keyPath); err == nil {
		return fmt.Errorf("keys: %s: %w", keyPath, fs.ErrExist)
	}
	if err := d.SaveMeta(k); err != nil {
		return err
	}
	// The metadata goes first, so that a key never appears without its
	// state (a pending key must not load as active); if the key file
	// cannot be written, its metadata goes too.
	if err := writeAtomic(keyPath, pemBytes); err != nil {
		os.Remove(filepath.Join(d.path(), k.ID+".json"))
		return err
	}
	return nil
}

// SaveMeta writes (or replaces) only k's metadata file, e.g. after a state
// change.
func (d Dir) SaveMeta(k *Key) error {
	if !validKID(k.ID) {
		return fmt.Errorf("keys: kid %q is not a safe file name: %w", k.ID, ErrMalformed)
	}
	b, err := json.MarshalIndent(meta{Version: 1, KID: k.ID, Algorithm: k.Algorithm, State: k.State, Created: k.Created.UTC(), NotBefore: k.NotBefore.UTC()}, "", "  ")
	if err != nil {
		return fmt.Errorf("keys: encode metadata: %w", err)
	}
	if err := os.MkdirAll(d.path(), 0o700); err != nil {
		return fmt.Errorf("keys: create key directory: %w", err)
	}
	return writeAtomic(filepath.Join(d.path(), k.ID+".json"), append(b, '\n'))
}

// writeAtomic writes data to a temporary file next to name with mode 0600,
// syncs it, renames it over name and syncs the directory.
func writeAtomic(name string, data []byte) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("keys: create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("keys: chmod temporary file: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("keys: write %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("keys: sync %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("keys: close %s: %w", name, err)
	}
	if err = os.Rename(tmp, name); err != nil {
		return fmt.Errorf("keys: rename into place: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: some file systems do not sync directories
		d.Close()
	}
	return nil
}

func readBounded(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("keys: %s is larger than %d bytes: %w", name, maxKeyFile, ErrMalformed)
	}
	return data, nil
}

// Load reads the key kid from the directory and checks that kid is the
// RFC 7638 thumbprint of the key in the file.
func (d Dir) Load(kid string) (*Key, error) {
	if !validKID(kid) {
		return nil, fmt.Errorf("keys: kid %q: %w", kid, ErrNotFound)
	}
	keyPath := filepath.Join(d.path(), kid+".pem")
	data, err := readBounded(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keys: %s: %w", keyPath, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", keyPath, err)
	}
	signer, err := ParsePEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	thumb, err := Thumbprint(signer.Public())
	if err != nil {
		return nil, err
	}
	if thumb != kid {
		return nil, fmt.Errorf("keys: %s holds the key %s: %w", keyPath, thumb, ErrKidMismatch)
	}
	m := meta{KID: kid, Algorithm: DefaultAlgorithm, State: StateActive}
	metaPath := filepath.Join(d.path(), kid+".json")
	if mb, err := readBounded(metaPath); err == nil {
		if err := json.Unmarshal(mb, &m); err != nil {
			return nil, fmt.Errorf("keys: %s: %w: %w", metaPath, ErrMalformed, err)
		}
		if m.KID != kid {
			return nil, fmt.Errorf("keys: %s names kid %q: %w", metaPath, m.KID, ErrKidMismatch)
		}
		if !m.State.Valid() {
			return nil, fmt.Errorf("keys: %s: unknown state %q: %w", metaPath, m.State, ErrMalformed)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keys: read %s: %w", metaPath, err)
	} else if st, err := os.Stat(keyPath); err == nil {
		m.Created = st.ModTime().UTC()
	}
	if err := CheckAlgorithm(signer.Public(), m.Algorithm); err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return &Key{ID: kid, Algorithm: m.Algorithm, Signer: signer, State: m.State, Created: m.Created, NotBefore: m.NotBefore}, nil
}

// KIDs lists the kids of the keys in the directory, sorted. A missing
// directory holds no keys.
func (d Dir) KIDs() ([]string, error) {
	entries, err := os.ReadDir(d.path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read key directory: %w", err)
	}
	var kids []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".pem") {
			continue
		}
		kids = append(kids, strings.TrimSuffix(name, ".pem"))
	}
	sort.Strings(kids)
	return kids, nil
}

// LoadRing loads every key in the directory into a Ring. Any key that fails
// to load fails the whole call: a ring with a silently missing key would
// publish or sign with the wrong set.
func (d Dir) LoadRing() (*Ring, error) {
	kids, err := d.KIDs()
	if err != nil {
		return nil, err
	}
	ks := make([]*Key, 0, len(kids))
	for _, kid := range kids {
		k, err := d.Load(kid)
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
	}
	return NewRing(ks...), nil
}
