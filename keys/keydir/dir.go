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
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/internal/atomicfile"
	"github.com/pkjwt/pkjwt/keys"
)

// DefaultDir is the key directory used when none is given. It is hidden
// and two levels deep so that it cannot collide with a source folder (a Go
// package named keys, say).
const DefaultDir = ".pkjwt/keys"

// maxKeyFile bounds how much of a key or metadata file is read.
const maxKeyFile = 1 << 20

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

// checkPerms refuses private key files that group or others may read or
// write, and a directory they may write to (they could swap a key in). The
// error lists every such file and the one chmod that fixes them all. It is
// a no-op on Windows, whose permission bits mean nothing here.
func (d Dir) checkPerms(dir string, ns []string) error {
	if d.InsecurePermissions || runtime.GOOS == "windows" || len(ns) == 0 {
		return nil
	}
	var bad, paths []string
	dirBad := false
	if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o022 != 0 {
		bad = append(bad, fmt.Sprintf("the key directory %s (mode %04o) is writable by group or others", dir, st.Mode().Perm()))
		paths, dirBad = append(paths, shellQuote(dir)), true
	}
	var files []string
	for _, n := range ns {
		f := filepath.Join(dir, n+".pem")
		if st, err := os.Stat(f); err == nil && st.Mode().Perm()&0o077 != 0 {
			files = append(files, fmt.Sprintf("%s (mode %04o)", f, st.Mode().Perm()))
			paths = append(paths, shellQuote(f))
		}
	}
	switch len(files) {
	case 0:
	case 1:
		bad = append(bad, "the private key file "+files[0]+" may be read by group or others")
	default:
		bad = append(bad, fmt.Sprintf("%d private key files may be read by group or others: %s", len(files), strings.Join(files, ", ")))
	}
	// One command fixes them all.
	var fix string
	switch {
	case len(bad) == 0:
		return nil
	case !dirBad:
		fix = "chmod 600 "
	case len(files) == 0:
		fix = "chmod go-w "
	default:
		fix = "chmod go-rwx "
	}
	// The command comes last, whole, ready to copy.
	return fmt.Errorf("keys: %w: %s; fix with: %s%s", ErrInsecurePermissions, strings.Join(bad, "; "), fix, strings.Join(paths, " "))
}

// shellQuote quotes a path for a command a user copies into a shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./,:=@+-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// meta is the on-disk metadata format. Version 1 (kid = file name, no
// dates but created) still loads.
type meta struct {
	Version      int        `json:"version"`
	KID          string     `json:"kid"`
	Algorithm    string     `json:"alg"`
	State        keys.State `json:"state"`
	Created      time.Time  `json:"created"`
	NotBefore    time.Time  `json:"not_before,omitzero"`
	Published    time.Time  `json:"published,omitzero"`
	StateChanged time.Time  `json:"state_changed,omitzero"`
	Signed       time.Time  `json:"signed,omitzero"`
	// Ref and PublicKey (PKIX DER) are set for a remote key.
	Ref       string `json:"ref,omitempty"`
	PublicKey []byte `json:"public_key,omitempty"`
	// Certificate (DER) is the certificate that came with the key.
	Certificate []byte `json:"certificate,omitempty"`
}

const metaVersion = 2

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

// fileName returns the base name of k's files: its RFC 7638 thumbprint.
func fileName(pub crypto.PublicKey) (string, error) { return keys.Thumbprint(pub) }

// writeMeta writes (or replaces) k's metadata file.
func (d Dir) writeMeta(k *keys.Key) error {
	if err := keys.ValidateKID(k.ID); err != nil {
		return err
	}
	name, err := fileName(k.Public())
	if err != nil {
		return err
	}
	m := meta{
		Version: metaVersion, KID: k.ID, Algorithm: k.Algorithm, State: k.State,
		Created: k.Created.UTC(), NotBefore: k.NotBefore.UTC(), Published: k.Published.UTC(),
		StateChanged: k.StateChanged.UTC(), Signed: k.Signed.UTC(), Ref: k.Ref,
	}
	if k.Ref != "" {
		if m.PublicKey, err = x509.MarshalPKIXPublicKey(k.Public()); err != nil {
			return fmt.Errorf("keys: encode the public key of %s: %w", k.ID, err)
		}
	}
	if k.Certificate != nil {
		m.Certificate = k.Certificate.Raw
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("keys: encode metadata: %w", err)
	}
	if err := os.MkdirAll(d.path(), 0o700); err != nil {
		return fmt.Errorf("keys: create key directory: %w", err)
	}
	return writeAtomic(filepath.Join(d.path(), name+".json"), append(b, '\n'))
}

// writeAtomic writes data to name with mode 0600, atomically (see
// internal/atomicfile).
func writeAtomic(name string, data []byte) error {
	if err := atomicfile.Write(name, data, 0o600); err != nil {
		return fmt.Errorf("keys: %w", err)
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
		return nil, fmt.Errorf("keys: %s is larger than %d bytes: %w", name, maxKeyFile, keys.ErrMalformed)
	}
	return data, nil
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

// remoteSigner returns a signer for a remote key's metadata: the public key
// comes from the metadata, and the backend is opened on first use.
func (d Dir) remoteSigner(m meta) (crypto.Signer, error) {
	pub, err := x509.ParsePKIXPublicKey(m.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public key: %w: %w", keys.ErrMalformed, err)
	}
	b, err := d.backend(m.Ref)
	if err != nil {
		return nil, err
	}
	return &lazySigner{backend: b, ref: m.Ref, pub: pub}, nil
}

// backend returns the backend for ref's scheme.
func (d Dir) backend(ref string) (keys.Backend, error) {
	scheme, _, ok := strings.Cut(ref, ":")
	if !ok {
		return nil, fmt.Errorf("key reference %q has no scheme: %w", ref, keys.ErrMalformed)
	}
	for _, b := range d.Backends {
		if b.Scheme() == scheme {
			return b, nil
		}
	}
	return nil, fmt.Errorf("key %s lives in %s, and this program was given no %s backend: %w", ref, scheme, scheme, keys.ErrNotFound)
}

// CreateRemote makes a new key in the backend the template reference names
// and adds it to the directory as a remote key (metadata only), with the
// given state. Rotation uses it to create a key in a vault or KMS.
func (tx *Tx) CreateRemote(ctx context.Context, template, alg string, state keys.State, now time.Time) (*keys.Key, error) {
	b, err := tx.d.backend(template)
	if err != nil {
		return nil, err
	}
	ref, signer, err := b.Create(ctx, template, alg)
	if err != nil {
		return nil, fmt.Errorf("keys: create a key in %s: %w", b.Scheme(), err)
	}
	k, err := keys.New(signer, alg, now)
	if err == nil {
		k.Ref, k.State, k.StateChanged = ref, state, now.UTC()
		err = tx.Add(k)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: the key service made %s, but it could not be kept in %s (delete or disable it there): %w", ref, tx.d.path(), err)
	}
	return k, nil
}
