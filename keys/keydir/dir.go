// Package keydir is the on-disk key store of pkjwt and its life cycle: a
// [Dir] of PKCS#8 PEM key files and metadata written atomically with mode
// 0600, changed only through [Dir.Update] transactions under the
// directory's lock; a [DirSource] whose ring follows the directory; and
// rotation: [Plan] works out the next steps under a [Policy], [Tx.Apply]
// carries them out, and [CheckActivate], [CheckRetire] and [CheckRemove]
// are the guards every change goes through.
//
// Keys are [github.com/pkjwt/pkjwt/keys.Key] values; a key held by a key
// service is kept as metadata and opened through its
// [github.com/pkjwt/pkjwt/keys.Backend].
package keydir

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/keys"
)

// DefaultDir is the key directory used when none is given. It is hidden
// and two levels deep so that it cannot collide with a source folder (a Go
// package named keys, say).
const DefaultDir = ".pkjwt/keys"

// Dir is a directory of keys. Each key has a metadata file "<name>.json"
// (its kid, algorithm, state and dates) and, when its private half is local,
// a PKCS#8 PEM file "<name>.pem". The name is the RFC 7638 thumbprint of the
// public key, so a file name is always safe whatever the kid is, and a key
// file cannot be swapped for another key unnoticed. A key held by a cloud
// key service has only the metadata file, with its Ref and public key; it
// loads through the Backend registered for its scheme.
//
// Every change goes through Update, one transaction under the directory's
// lock ("<dir>/.lock") with every key read inside it; Save and
// MarkPublished are Updates of their own. Every file is written with mode
// 0600 in a directory created with mode 0700, atomically: a temporary file in the same directory is written,
// synced and renamed over the final name, so a reader never sees a
// half-written key.
//
// A directory mounted from a Kubernetes Secret (where every file is a link
// through a "..data" symbolic link that the kubelet swaps atomically) is
// read through the "..data" target resolved once per load, so one load sees
// one version of the Secret.
type Dir struct {
	// Path is the directory; "" means DefaultDir.
	Path string
	// Backends open the keys whose private half lives in a key service,
	// by the scheme of their Ref. A remote key of a scheme with no backend
	// fails to load.
	Backends []keys.Backend
	// InsecurePermissions loads keys even from a private key file that
	// group or others may read, or a directory they may write to. Without
	// it such a key is refused with ErrInsecurePermissions and the command
	// that fixes it.
	InsecurePermissions bool
	// LockTimeout is how long a change (Update) waits while another
	// process holds the directory's lock: 0 means 30 seconds, a negative
	// value not at all (ErrLocked at once, naming the holder).
	LockTimeout time.Duration
	// OnLockWait, when set, is called once when a change starts to wait
	// for the lock, with a sentence that names the holder: "waiting up to
	// 30s for the lock on DIR, held by pid N since T (4s ago)…".
	OnLockWait func(msg string)
}

// Errors of the key directory. They are wrapped with context; test for
// them with errors.Is.
var (
	// ErrInsecurePermissions is returned for a private key file readable by
	// group or others, or a key directory writable by them.
	ErrInsecurePermissions = errors.New("insecure key file permissions")
	// ErrKidMismatch is returned when a stored key's file name is not the
	// RFC 7638 thumbprint of the key inside, or when a remote key's service
	// now holds another public key than the one recorded.
	ErrKidMismatch = errors.New("kid does not match the key's RFC 7638 thumbprint")
)

func (d Dir) path() string {
	if d.Path == "" {
		return DefaultDir
	}
	return d.Path
}

// String returns the directory's path.
func (d Dir) String() string { return d.path() }

// readPath returns the directory to read from: for a Kubernetes Secret
// volume, the current target of its "..data" link, so that one load reads
// one version of the Secret.
func (d Dir) readPath() string {
	p := d.path()
	if target, err := os.Readlink(filepath.Join(p, "..data")); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(p, target)
		}
		return target
	}
	return p
}

// Load returns the key kid from the directory.
func (d Dir) Load(kid string) (*keys.Key, error) {
	if err := keys.ValidateKID(kid); err != nil {
		return nil, fmt.Errorf("keys: kid %q: %w", kid, keys.ErrNotFound)
	}
	ring, err := d.LoadRing()
	if err != nil {
		return nil, err
	}
	k, err := ring.Lookup(kid)
	if err != nil {
		return nil, fmt.Errorf("keys: %s: %w", d.path(), err)
	}
	return k, nil
}

// names lists the base names of the keys in directory p: every name with a
// .pem or a .json file, sorted. A missing directory holds no keys.
func names(p string) ([]string, error) {
	entries, err := os.ReadDir(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read key directory: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".pem"), ".json")
		if base == name || seen[base] {
			continue
		}
		seen[base] = true
		out = append(out, base)
	}
	sort.Strings(out)
	return out, nil
}

// KIDs lists the kids of the keys in the directory, sorted.
func (d Dir) KIDs() ([]string, error) {
	ring, err := d.LoadRing()
	if err != nil {
		return nil, err
	}
	kids := make([]string, 0, ring.Len())
	for _, k := range ring.Keys() {
		kids = append(kids, k.ID)
	}
	sort.Strings(kids)
	return kids, nil
}

// LoadRing loads every key in the directory into a Ring. Any key that fails
// to load fails the whole call: a ring with a silently missing key would
// publish or sign with the wrong set. Two keys with the same kid fail it
// too.
func (d Dir) LoadRing() (*keys.Ring, error) {
	p := d.readPath()
	ns, err := names(p)
	if err != nil {
		return nil, err
	}
	if err := d.checkPerms(p, ns); err != nil {
		return nil, err
	}
	ks := make([]*keys.Key, 0, len(ns))
	byKID := map[string]string{}
	for _, n := range ns {
		k, err := d.loadName(p, n)
		if err != nil {
			return nil, err
		}
		if k == nil {
			continue
		}
		if other, dup := byKID[k.ID]; dup {
			return nil, fmt.Errorf("keys: %s and %s both have kid %q: %w", other, n, k.ID, keys.ErrMalformed)
		}
		byKID[k.ID] = n
		ks = append(ks, k)
	}
	return keys.NewRing(ks...), nil
}

// loadName loads the key whose files are named n in directory p. It
// returns nil, nil for metadata left behind by an interrupted removal (a
// local key's metadata without its key file).
func (d Dir) loadName(p, n string) (*keys.Key, error) {
	keyPath := filepath.Join(p, n+".pem")
	metaPath := filepath.Join(p, n+".json")
	m := meta{KID: n, Algorithm: keys.DefaultAlgorithm, State: keys.StateActive}
	mb, err := readBounded(metaPath)
	haveMeta := err == nil
	switch {
	case haveMeta:
		if err := json.Unmarshal(mb, &m); err != nil {
			return nil, fmt.Errorf("keys: %s: %w: %w", metaPath, keys.ErrMalformed, err)
		}
		if err := keys.ValidateKID(m.KID); err != nil {
			return nil, fmt.Errorf("keys: %s: %w", metaPath, err)
		}
		if m.Version < 2 && m.KID != n {
			return nil, fmt.Errorf("keys: %s names kid %q: %w", metaPath, m.KID, ErrKidMismatch)
		}
		if !m.State.Valid() {
			return nil, fmt.Errorf("keys: %s: unknown state %q: %w", metaPath, m.State, keys.ErrMalformed)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("keys: read %s: %w", metaPath, err)
	}

	var signer crypto.Signer
	if m.Ref != "" {
		signer, err = d.remoteSigner(m)
		if err != nil {
			return nil, fmt.Errorf("keys: remote key %s (%s): %w", m.Ref, metaPath, err)
		}
	} else {
		data, err := readBounded(keyPath)
		if errors.Is(err, fs.ErrNotExist) {
			if haveMeta {
				return nil, nil // a removal was interrupted after the key file went
			}
			return nil, fmt.Errorf("keys: %s: %w", keyPath, keys.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("keys: read %s: %w", keyPath, err)
		}
		if signer, err = keys.ParsePEM(data); err != nil {
			return nil, fmt.Errorf("%s: %w", keyPath, err)
		}
		if !haveMeta {
			if st, err := os.Stat(keyPath); err == nil {
				m.Created = st.ModTime().UTC()
			}
		}
	}
	where := keyPath // a remote key has no key file: name its ref and metadata
	if m.Ref != "" {
		where = fmt.Sprintf("remote key %s (%s)", m.Ref, metaPath)
	}
	thumb, err := keys.Thumbprint(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("keys: %s: %w", where, err)
	}
	if thumb != n {
		return nil, fmt.Errorf("keys: %s holds the key %s, not %s: %w", where, thumb, n, ErrKidMismatch)
	}
	if err := keys.CheckAlgorithm(signer.Public(), m.Algorithm); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	k := &keys.Key{
		ID: m.KID, Algorithm: m.Algorithm, Signer: signer, State: m.State, Created: m.Created,
		NotBefore: m.NotBefore, Published: m.Published, StateChanged: m.StateChanged, Signed: m.Signed, Ref: m.Ref,
	}
	if len(m.Certificate) > 0 {
		cert, err := x509.ParseCertificate(m.Certificate)
		if err != nil {
			return nil, fmt.Errorf("keys: %s: certificate: %w: %w", metaPath, keys.ErrMalformed, err)
		}
		if eq, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(signer.Public()) {
			return nil, fmt.Errorf("keys: %s: the certificate is not the key's: %w: %w", metaPath, keys.ErrCertificateMismatch, keys.ErrMalformed)
		}
		k.Certificate = cert
	}
	return k, nil
}
