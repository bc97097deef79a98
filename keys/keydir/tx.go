package keydir

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/internal/atomicfile"
	"github.com/pkjwt/pkjwt/keys"
)

// ErrDuplicateKID is returned when a key is added under a kid that another
// key of the directory already has. Nothing is written.
var ErrDuplicateKID = errors.New("duplicate kid")

// defaultLockTimeout is how long Update waits for a lock another process
// holds when Dir.LockTimeout is zero: longer than a rotation step takes
// (an RSA-4096 key is made in a few seconds, a key service answers in one
// or two).
const defaultLockTimeout = 30 * time.Second

// lockPoll is how often Update tries a lock another process holds.
const lockPoll = 50 * time.Millisecond

// Tx is one change to a key directory, open inside Dir.Update: it holds
// the directory's lock, and Ring is the directory as read inside that
// lock, updated by each change made through the Tx. A Tx is valid only
// during the function Update gave it to.
type Tx struct {
	d    Dir
	ring *keys.Ring
}

// Update runs fn as one transaction on the directory: it takes the
// directory's lock (creating the directory, mode 0700, if it is missing),
// reads every key inside the lock, and gives fn a Tx whose changes are
// written at once, each file atomically. Every change to a directory goes
// through Update, so a change never works from a ring another process has
// changed since.
//
// A directory that does not load (a damaged, foreign or loosely
// permitted file) is refused before fn runs, with the error that names the
// file: a change made without reading every key could add a second key
// with the same kid. While another process holds the lock, Update waits
// for it up to d.LockTimeout (telling d.OnLockWait once), then fails with
// ErrLocked and the holder's pid and age; ctx ends the wait too.
func (d Dir) Update(ctx context.Context, fn func(tx *Tx) error) error {
	unlock, err := d.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	ring, err := d.LoadRing()
	if err != nil {
		return fmt.Errorf("keys: %s does not load, so nothing in it was changed: %w", d.path(), err)
	}
	return fn(&Tx{d: d, ring: ring})
}

// lock takes the directory's lock, waiting for another holder as
// d.LockTimeout and d.OnLockWait say.
func (d Dir) lock(ctx context.Context) (func(), error) {
	timeout := d.LockTimeout
	if timeout == 0 {
		timeout = defaultLockTimeout
	}
	start := time.Now()
	told := false
	for {
		unlock, holder, err := d.tryLock()
		if err == nil || !errors.Is(err, ErrLocked) {
			return unlock, err
		}
		waited := time.Since(start)
		if timeout < 0 || waited >= timeout {
			msg := "keys: " + d.path()
			if holder.pid != 0 {
				msg += " is locked by " + holder.describe(time.Now())
			}
			if timeout > 0 {
				msg += fmt.Sprintf("; waited %s", waited.Round(time.Millisecond))
			}
			return nil, fmt.Errorf("%s: %w", msg, err)
		}
		if !told && d.OnLockWait != nil {
			d.OnLockWait(fmt.Sprintf("waiting up to %s for the lock on %s, held by %s…", timeout, d.path(), holder.describe(time.Now())))
			told = true
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("keys: waiting for the lock on %s, held by %s: %w", d.path(), holder.describe(time.Now()), ctx.Err())
		case <-t.C:
		}
	}
}

// lockHolder is what a lock file says about the process holding it.
type lockHolder struct {
	pid   int
	since time.Time
}

// holderRecord is the content written into the lock file by its holder.
func holderRecord(now time.Time) []byte {
	return fmt.Appendf(nil, "pid %d since %s\n", os.Getpid(), now.UTC().Format(time.RFC3339Nano))
}

// parseHolder reads a lock file's content; an empty or foreign content
// gives a zero holder.
func parseHolder(b []byte) lockHolder {
	f := strings.Fields(string(bytes.TrimSpace(b)))
	if len(f) != 4 || f[0] != "pid" || f[2] != "since" {
		return lockHolder{}
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil {
		return lockHolder{}
	}
	since, err := time.Parse(time.RFC3339Nano, f[3])
	if err != nil {
		return lockHolder{pid: pid}
	}
	return lockHolder{pid: pid, since: since}
}

// describe says who holds the lock and for how long: "pid 4242 since
// 2026-12-02T16:03:45Z (12s ago)".
func (h lockHolder) describe(now time.Time) string {
	if h.pid == 0 {
		return "another process"
	}
	s := "pid " + strconv.Itoa(h.pid)
	if !h.since.IsZero() {
		s += fmt.Sprintf(" since %s (%s ago)", h.since.UTC().Format(time.RFC3339), now.Sub(h.since).Round(time.Second))
	}
	return s
}

// Ring returns the directory's keys as read inside the lock, with the
// changes made through tx so far.
func (tx *Tx) Ring() *keys.Ring { return tx.ring }

// Add writes k's metadata and, for a local key, its private key. It
// refuses, before writing anything, a kid another key has
// (ErrDuplicateKID) and a public key the directory already holds
// (fs.ErrExist). A remote key (k.Ref set) is saved as metadata only.
//
// The first key of a directory, added active and with no Signed date, is
// the key the app is registered with: it is saved as having signed from its
// creation, so that a later rollback may return to it at once. Any other
// key gets a Signed date only from a guarded activation (Tx.Activate).
func (tx *Tx) Add(k *keys.Key) error {
	if err := keys.ValidateKID(k.ID); err != nil {
		return err
	}
	if k.Signer == nil {
		return fmt.Errorf("keys: %s has no signer: %w", k.ID, keys.ErrMalformed)
	}
	p := tx.d.path()
	for _, o := range tx.ring.Keys() {
		if o.ID == k.ID {
			return fmt.Errorf("keys: another key with kid %q is already in %s: %w", k.ID, p, ErrDuplicateKID)
		}
		if eq, ok := o.Public().(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(k.Public()) {
			return fmt.Errorf("keys: this key is already in %s, with kid %q (remove it first to add it under another kid): %w", p, o.ID, fs.ErrExist)
		}
	}
	name, err := fileName(k.Public())
	if err != nil {
		return err
	}
	var pemBytes []byte
	if k.Ref == "" {
		if pemBytes, err = marshalPEM(k); err != nil {
			return err
		}
	}
	keyPath := filepath.Join(p, name+".pem")
	metaPath := filepath.Join(p, name+".json")
	for _, f := range []string{keyPath, metaPath} {
		if _, err := os.Lstat(f); err == nil {
			return fmt.Errorf("keys: the key %s is already in %s (%s): %w", k.ID, p, f, fs.ErrExist)
		}
	}
	if k.State == keys.StateActive && tx.ring.Len() == 0 && k.Signed.IsZero() {
		first := *k
		first.Signed = first.Created
		k = &first
	}
	// The metadata goes first, so that a key never appears without its
	// state (a pending key must not load as active); if the key file
	// cannot be written, its metadata goes too.
	if err := tx.d.writeMeta(k); err != nil {
		return err
	}
	if pemBytes != nil {
		if err := writeAtomic(keyPath, pemBytes); err != nil {
			os.Remove(metaPath)
			return err
		}
	}
	tx.ring = keys.NewRing(append(tx.ring.Keys(), k)...)
	return nil
}

// put rewrites the metadata of a key already in the ring (same kid) and
// puts k in the ring in its place.
func (tx *Tx) put(k *keys.Key) error {
	if err := tx.d.writeMeta(k); err != nil {
		return err
	}
	ks := tx.ring.Keys()
	for i, o := range ks {
		if o.ID == k.ID {
			ks[i] = k
		}
	}
	tx.ring = keys.NewRing(ks...)
	return nil
}

// SetState changes the state of key kid to st and records when.
// Activating goes through Activate with DefaultLead, never forced;
// retiring through CheckRetire; a key never becomes pending again.
func (tx *Tx) SetState(kid string, st keys.State, now time.Time) error {
	if !st.Valid() {
		return fmt.Errorf("keys: unknown state %q: %w", st, ErrBadTransition)
	}
	if st == keys.StateActive {
		return tx.Activate(kid, now, DefaultLead, false)
	}
	k, err := tx.lookup(kid)
	if err != nil {
		return err
	}
	if k.State == st {
		return nil
	}
	if st == keys.StatePending {
		return fmt.Errorf("keys: %s is %s; a key never becomes pending again: %w", kid, k.State, ErrBadTransition)
	}
	if err := CheckRetire(k); err != nil {
		return err
	}
	k.State, k.StateChanged = st, now.UTC()
	return tx.put(k)
}

// MarkPublished records t as the publication time of each key in kids that
// has none yet, and reports the kids it marked. A kid not in the directory
// is an error; a key already marked keeps its first publication time.
func (tx *Tx) MarkPublished(kids []string, t time.Time) ([]string, error) {
	var marked []string
	for _, kid := range kids {
		k, err := tx.lookup(kid)
		if err != nil {
			return marked, err
		}
		if !k.Published.IsZero() {
			continue
		}
		k.Published = t.UTC()
		if err := tx.put(k); err != nil {
			return marked, err
		}
		marked = append(marked, kid)
	}
	return marked, nil
}

// Remove deletes the key kid from the directory: its private key file
// first, then its metadata. It makes no check of the key's state; callers
// (keys remove, keys rotate) decide whether a key may go.
func (tx *Tx) Remove(kid string) error {
	k, err := tx.lookup(kid)
	if err != nil {
		return err
	}
	name, err := fileName(k.Public())
	if err != nil {
		return err
	}
	p := tx.d.path()
	if err := os.Remove(filepath.Join(p, name+".pem")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keys: remove %s: %w", kid, err)
	}
	if err := os.Remove(filepath.Join(p, name+".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keys: remove the metadata of %s: %w", kid, err)
	}
	atomicfile.SyncDir(p)
	var ks []*keys.Key
	for _, o := range tx.ring.Keys() {
		if o.ID != kid {
			ks = append(ks, o)
		}
	}
	tx.ring = keys.NewRing(ks...)
	return nil
}

// lookup returns a copy of the key kid of the transaction's ring, naming
// the directory when it is not there.
func (tx *Tx) lookup(kid string) (*keys.Key, error) {
	k, err := tx.ring.Lookup(kid)
	if err != nil {
		return nil, fmt.Errorf("keys: %s: %w", tx.d.path(), err)
	}
	return k, nil
}

// Save adds k to the directory in a transaction of its own (see Update
// and Tx.Add): it refuses a directory that does not load, a kid already
// there (ErrDuplicateKID) and a key already there (fs.ErrExist).
func (d Dir) Save(k *keys.Key) error {
	return d.Update(context.Background(), func(tx *Tx) error { return tx.Add(k) })
}

// MarkPublished records t as the first publication time of each key in
// kids that has none, in a transaction of its own (see Tx.MarkPublished),
// and reports the kids it marked.
func (d Dir) MarkPublished(ctx context.Context, kids []string, t time.Time) (marked []string, err error) {
	err = d.Update(ctx, func(tx *Tx) error {
		marked, err = tx.MarkPublished(kids, t)
		return err
	})
	return marked, err
}

// marshalPEM encodes a local private key as PKCS#8 PEM. It fails for a
// remote key whose private half cannot be exported.
func marshalPEM(k *keys.Key) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s cannot be exported as PKCS#8: %w", k.ID, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
