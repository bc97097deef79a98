package keydir_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// ecKey makes a fast key with the given state and dates (relative to now).
func ecKey(t *testing.T, now time.Time, st keys.State, created, published, changed time.Duration) *keys.Key {
	t.Helper()
	k, err := keys.Generate("ES256", 0)
	if err != nil {
		t.Fatal(err)
	}
	k.State, k.Created = st, now.Add(-created)
	if published > 0 {
		k.Published = now.Add(-published)
	}
	if changed > 0 {
		k.StateChanged = now.Add(-changed)
	}
	return k
}

// planString renders a plan as "action kid-label ..." for comparison.
func planString(steps []keydir.Step, labels map[string]string) string {
	var parts []string
	for _, s := range steps {
		p := string(s.Action)
		if s.KID != "" {
			p += " " + labels[s.KID]
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func TestPlan(t *testing.T) {
	now := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	h := time.Hour
	type k = struct {
		label                       string
		st                          keys.State
		created, published, changed time.Duration
	}
	cases := []struct {
		name   string
		ring   []k
		policy keydir.Policy
		want   string
	}{
		{"empty ring: add a pending key", nil, keydir.Policy{}, "add"},
		{"active only: add a pending key",
			[]k{{"A", keys.StateActive, 100 * h, 100 * h, 100 * h}}, keydir.Policy{}, "add"},
		{"pending never published: wait",
			[]k{{"A", keys.StateActive, 100 * h, 100 * h, 100 * h}, {"P", keys.StatePending, h, 0, h}}, keydir.Policy{}, "wait P"},
		{"pending inside the lead: wait",
			[]k{{"A", keys.StateActive, 100 * h, 100 * h, 100 * h}, {"P", keys.StatePending, 2 * h, 64 * time.Minute, 2 * h}}, keydir.Policy{}, "wait P"},
		{"pending past the lead: activate, retire the old, add the next",
			[]k{{"A", keys.StateActive, 100 * h, 100 * h, 100 * h}, {"P", keys.StatePending, 2 * h, 66 * time.Minute, 2 * h}}, keydir.Policy{}, "activate P, retire A, add"},
		{"retired inside the grace: wait",
			[]k{{"A", keys.StateActive, 10 * h, 10 * h, 74 * time.Minute}, {"R", keys.StateRetired, 100 * h, 100 * h, 74 * time.Minute}, {"P", keys.StatePending, h, 10 * time.Minute, h}},
			keydir.Policy{}, "wait P, wait R"},
		{"retired past the grace: remove",
			[]k{{"A", keys.StateActive, 10 * h, 10 * h, 76 * time.Minute}, {"R", keys.StateRetired, 100 * h, 100 * h, 76 * time.Minute}, {"P", keys.StatePending, h, 10 * time.Minute, h}},
			keydir.Policy{}, "remove R, wait P"},
		{"custom lead and grace",
			[]k{{"A", keys.StateActive, 10 * h, 10 * h, 3 * time.Second}, {"R", keys.StateRetired, 100 * h, 100 * h, 3 * time.Second}, {"P", keys.StatePending, h, 3 * time.Second, h}},
			keydir.Policy{Lead: 2 * time.Second, Grace: 2 * time.Second}, "activate P, retire A, add, remove R"},
		{"every: the signing key's turn is not over",
			[]k{{"A", keys.StateActive, 10 * h, 10 * h, 10 * h}, {"P", keys.StatePending, 2 * h, 2 * h, 2 * h}},
			keydir.Policy{Every: 24 * h}, "wait P"},
		{"every: the turn is over",
			[]k{{"A", keys.StateActive, 25 * h, 25 * h, 25 * h}, {"P", keys.StatePending, 2 * h, 2 * h, 2 * h}},
			keydir.Policy{Every: 24 * h}, "activate P, retire A, wait"},
		{"every: too early to add the next key",
			[]k{{"A", keys.StateActive, 10 * h, 10 * h, 10 * h}}, keydir.Policy{Every: 24 * h}, "wait"},
		{"every: add the next key a lead before the turn ends",
			[]k{{"A", keys.StateActive, 23 * h, 23 * h, 23 * h}}, keydir.Policy{Every: 24 * h}, "add"},
		{"no signer, pending ready: activate",
			[]k{{"P", keys.StatePending, 2 * h, 2 * h, 2 * h}}, keydir.Policy{}, "activate P, add"},
		{"two pending: the newest is activated, no new key",
			[]k{{"A", keys.StateActive, 10 * h, 10 * h, 10 * h}, {"P1", keys.StatePending, 3 * h, 3 * h, 3 * h}, {"P2", keys.StatePending, 2 * h, 2 * h, 2 * h}},
			keydir.Policy{}, "activate P2, retire A"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			labels := map[string]string{}
			var ks []*keys.Key
			for _, d := range tc.ring {
				key := ecKey(t, now, d.st, d.created, d.published, d.changed)
				labels[key.ID] = d.label
				ks = append(ks, key)
			}
			ring := keys.NewRing(ks...)
			steps := keydir.Plan(ring, now, tc.policy)
			if got := planString(steps, labels); got != tc.want {
				t.Fatalf("plan %q, want %q\n%+v", got, tc.want, steps)
			}
		})
	}
}

// TestPlanNeverLeavesNoSigner runs many rotation steps over a simulated
// day and checks after each applied step that a key can sign.
func TestPlanNeverLeavesNoSigner(t *testing.T) {
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	start := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	first := ecKey(t, start, keys.StateActive, 0, 0, 0)
	first.Published, first.StateChanged = start, start
	if err := d.Save(first); err != nil {
		t.Fatal(err)
	}
	p := keydir.Policy{Algorithm: "ES256"}
	seen := map[string]bool{}
	for now := start; now.Before(start.Add(24 * time.Hour)); now = now.Add(20 * time.Minute) {
		var added []string
		err := d.Update(context.Background(), func(tx *keydir.Tx) (err error) {
			added, err = tx.Apply(context.Background(), keydir.Plan(tx.Ring(), now, p), now, p)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", now, err)
		}
		if len(added) > 0 { // the pipeline publishes after each rotate
			if _, err := d.MarkPublished(context.Background(), added, now); err != nil {
				t.Fatal(err)
			}
		}
		ring, _ := d.LoadRing()
		s, err := ring.SignerAt(now)
		if err != nil {
			t.Fatalf("%s: no signer after a step: %v", now, err)
		}
		seen[s.ID] = true
		actives := 0
		for _, k := range ring.Keys() {
			if k.State == keys.StateActive {
				actives++
			}
			if k.State == keys.StateActive && k.ID != s.ID {
				t.Fatalf("%s: a second active key %s", now, k.ID)
			}
			if k.State == keys.StateActive && k.ID != first.ID && now.Sub(k.Published) < keydir.DefaultLead {
				t.Fatalf("%s: %s signs %s after publication", now, k.ID, now.Sub(k.Published))
			}
		}
		if ring.Len() > 4 {
			t.Fatalf("%s: %d keys: retired keys are not removed", now, ring.Len())
		}
	}
	if len(seen) < 8 {
		t.Fatalf("%d signing keys in a day of rotations every 2 hours", len(seen))
	}
}

func TestActivateGuard(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name    string
		key     *keys.Key
		wantErr bool
	}{
		{"pending, never published", ecKey(t, now, keys.StatePending, time.Hour, 0, 0), true},
		{"pending, published 64 min ago", ecKey(t, now, keys.StatePending, 2*time.Hour, 64*time.Minute, 0), true},
		{"pending, published 66 min ago", ecKey(t, now, keys.StatePending, 2*time.Hour, 66*time.Minute, 0), false},
		{"retired, signed before (rollback)", signedAt(ecKey(t, now, keys.StateRetired, 9*time.Hour, 0, time.Minute), now.Add(-8*time.Hour)), false},
		{"retired, never signed, never published", ecKey(t, now, keys.StateRetired, 9*time.Hour, 0, time.Minute), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := keydir.CheckActivate(tc.key, now, keydir.DefaultLead)
			if tc.wantErr != (err != nil) || err != nil && !errors.Is(err, keydir.ErrTooEarly) {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err != nil && tc.key.Published.IsZero() == strings.Contains(err.Error(), "safe to activate from") {
				t.Fatalf("the refusal must say when it will be safe: %v", err)
			}
		})
	}
}

func TestCheckRemove(t *testing.T) {
	now := time.Now()
	signer := ecKey(t, now, keys.StateActive, time.Hour, time.Hour, time.Hour)
	recent := ecKey(t, now, keys.StateRetired, 9*time.Hour, 9*time.Hour, time.Hour)
	old := ecKey(t, now, keys.StateRetired, 9*time.Hour, 9*time.Hour, 2*time.Hour)
	pending := ecKey(t, now, keys.StatePending, time.Minute, 0, 0)
	ring := keys.NewRing(signer, recent, old, pending)
	for _, tc := range []struct {
		k    *keys.Key
		want error
	}{{signer, keydir.ErrIsSigningKey}, {recent, keydir.ErrInGrace}, {old, nil}, {pending, nil}} {
		if err := keydir.CheckRemove(ring, tc.k, now, keydir.DefaultGrace); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s %s: %v, want %v", tc.k.State, tc.k.ID, err, tc.want)
		}
	}
}

// TestAnyKID: a key keeps the kid it is registered under; its files are
// named by its thumbprint, so a kid never becomes a path.
func TestAnyKID(t *testing.T) {
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	for _, tc := range []struct {
		kid string
		ok  bool
	}{
		{"test-1", true},
		{"8C4F2E1B0A9D3C7E6F5A4B3C2D1E0F9A8B7C6D5E", true},
		{"../../etc/passwd", true}, // a valid kid, never a path
		{"", false},
		{"has space", false},
		{"quote\"", false},
		{"é", false},
		{strings.Repeat("k", 129), false},
	} {
		k, _ := keys.Generate("ES256", 0)
		k.ID = tc.kid
		err := d.Save(k)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, keys.ErrInvalidKID) {
			t.Fatalf("kid %q: %v", tc.kid, err)
		}
		if !tc.ok {
			continue
		}
		got, err := d.Load(tc.kid)
		if err != nil || got.ID != tc.kid {
			t.Fatalf("load %q: %v", tc.kid, err)
		}
		thumb, _ := keys.Thumbprint(k.Public())
		if _, err := os.Stat(filepath.Join(d.Path, thumb+".pem")); err != nil {
			t.Fatalf("key file not named by thumbprint: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(d.Path), "etc")); err == nil {
		t.Fatal("a kid became a path")
	}
	// The same kid twice is refused.
	k, _ := keys.Generate("ES256", 0)
	k.ID = "test-1"
	if err := d.Save(k); !errors.Is(err, keydir.ErrDuplicateKID) {
		t.Fatalf("duplicate kid: %v", err)
	}
}

// TestDirLock: two holders (two open files, as two processes have) cannot
// change the directory at once; one that does not wait is refused with
// ErrLocked and the holder's pid.
func TestDirLock(t *testing.T) {
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys"), LockTimeout: -1}
	ctx := context.Background()
	inside := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- d.Update(ctx, func(*keydir.Tx) error {
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	err := d.Update(ctx, func(*keydir.Tx) error { t.Error("ran while locked"); return nil })
	if !errors.Is(err, keydir.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d since ", os.Getpid())) {
		t.Fatalf("second holder: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Eight concurrent holders that do not wait; whoever gets the lock
	// keeps it until every one has tried, so exactly one may get it (no
	// sleep decides).
	var tried, wg sync.WaitGroup
	var got atomic.Int32
	tried.Add(8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entered := false
			err := d.Update(ctx, func(*keydir.Tx) error {
				entered = true
				got.Add(1)
				tried.Done()
				tried.Wait()
				return nil
			})
			if !entered {
				tried.Done()
				if !errors.Is(err, keydir.ErrLocked) {
					t.Errorf("update: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if n := got.Load(); n != 1 {
		t.Fatalf("%d of 8 concurrent holders got the lock, want 1", n)
	}
}

// TestKubernetesSecretSwap mounts a key directory the way the kubelet does
// (each file a link through "..data", which is swapped atomically to a new
// timestamped directory) and checks that a DirSource follows the swap.
func TestKubernetesSecretSwap(t *testing.T) {
	root := t.TempDir()
	k1, _ := keys.Generate("ES256", 0)
	k2, _ := keys.Generate("ES256", 0)
	k2.State = keys.StatePending
	version := func(name string, ks ...*keys.Key) {
		staging := keydir.Dir{Path: filepath.Join(t.TempDir(), "staging")}
		for _, k := range ks {
			if err := staging.Save(k); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Rename(staging.Path, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	swap := func(name string) {
		tmp := filepath.Join(root, "..data_tmp")
		if err := os.Symlink(name, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(root, "..data")); err != nil { // atomic, as the kubelet does
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(filepath.Join(root, name))
		for _, e := range entries {
			link := filepath.Join(root, e.Name())
			if _, err := os.Lstat(link); err != nil {
				os.Symlink(filepath.Join("..data", e.Name()), link)
			}
		}
	}
	version("..2026_11_29_01_00_00.1", k1)
	swap("..2026_11_29_01_00_00.1")
	src, err := keydir.NewDirSource(keydir.Dir{Path: root})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := src.SigningKey(); s == nil || s.ID != k1.ID || src.Ring().Len() != 1 {
		t.Fatalf("first version: %v", src.Ring().Keys())
	}
	// The second version adds k2 as pending.
	version("..2026_11_29_02_00_00.2", k1, k2)
	swap("..2026_11_29_02_00_00.2")
	if changed, err := src.Reload(); !changed || err != nil || src.Ring().Len() != 2 {
		t.Fatalf("after the swap: changed %v, %v, %d keys", changed, err, src.Ring().Len())
	}
	// The third makes k2 active and k1 retired, same file names and sizes
	// maybe, new target directory.
	k1.State, k2.State = keys.StateRetired, keys.StateActive
	k2.StateChanged = time.Now()
	version("..2026_11_29_03_00_00.3", k1, k2)
	swap("..2026_11_29_03_00_00.3")
	if changed, err := src.Reload(); !changed || err != nil {
		t.Fatalf("third swap not seen: %v %v", changed, err)
	}
	if s, _ := src.SigningKey(); s == nil || s.ID != k2.ID {
		t.Fatalf("signer after the swap: %v", s)
	}
	os.RemoveAll(filepath.Join(root, "..2026_11_29_01_00_00.1")) // the kubelet cleans old versions
	if _, err := src.Reload(); err != nil {
		t.Fatal(err)
	}
}

// memBackend is a key service double: it holds keys in memory by ref and
// counts the calls made to it.
type memBackend struct {
	mu    sync.Mutex
	keys  map[string]crypto.Signer
	opens int
}

func (b *memBackend) Scheme() string { return "mem" }

func (b *memBackend) Open(ctx context.Context, ref string) (crypto.Signer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opens++
	s, ok := b.keys[ref]
	if !ok {
		return nil, keys.ErrNotFound
	}
	return s, nil
}

func (b *memBackend) Create(ctx context.Context, template, alg string) (string, crypto.Signer, error) {
	k, err := keys.Generate(alg, 2048)
	if err != nil {
		return "", nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ref := fmt.Sprintf("%s/%d", template, len(b.keys))
	b.keys[ref] = k.Signer
	return ref, k.Signer, nil
}

// TestRemoteKeyInDir: a key created in a key service is kept in the
// directory as metadata only; listing and the public key need no call to
// the service, signing opens it once, and a service that now holds another
// key for the ref is caught.
func TestRemoteKeyInDir(t *testing.T) {
	b := &memBackend{keys: map[string]crypto.Signer{}}
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys"), Backends: []keys.Backend{b}}
	var k *keys.Key
	err := d.Update(context.Background(), func(tx *keydir.Tx) (err error) {
		k, err = tx.CreateRemote(context.Background(), "mem://vault", "ES256", keys.StatePending, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(d.Path)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pem") {
			t.Fatal("a remote key left a private key file")
		}
	}
	ring, err := d.LoadRing()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ring.Lookup(k.ID)
	if err != nil || got.Ref != k.Ref || got.State != keys.StatePending {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	if b.opens != 0 {
		t.Fatal("loading the ring called the key service")
	}
	digest := sha256.Sum256([]byte("x"))
	for range 3 {
		if _, err := got.Signer.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			t.Fatal(err)
		}
	}
	if b.opens != 1 {
		t.Fatalf("%d opens for 3 signatures", b.opens)
	}
	// Without the backend the key does not load, and says why.
	if _, err := (keydir.Dir{Path: d.Path}).LoadRing(); err == nil || !strings.Contains(err.Error(), "no mem backend") {
		t.Fatalf("load without the backend: %v", err)
	}
	// The service now holds another key under the ref.
	other, _ := keys.Generate("ES256", 0)
	b.keys[k.Ref] = other.Signer
	ring, _ = d.LoadRing()
	again, _ := ring.Lookup(k.ID)
	if _, err := again.Signer.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, keydir.ErrKidMismatch) {
		t.Fatalf("a swapped remote key signed: %v", err)
	}
}

// TestInsecurePermissions: a private key file readable by group or others,
// or a key directory writable by them, is refused with the command that
// fixes it, unless InsecurePermissions is set.
func TestInsecurePermissions(t *testing.T) {
	for _, tc := range []struct {
		name             string
		dirMode, keyMode os.FileMode
		wantFix          string
	}{
		{"0600 in 0700", 0o700, 0o600, ""},
		{"0400 in 0750", 0o750, 0o400, ""},
		{"0644 key", 0o700, 0o644, "chmod 600"},
		{"0640 key", 0o700, 0o640, "chmod 600"},
		{"0604 key", 0o700, 0o604, "chmod 600"},
		{"group-writable directory", 0o770, 0o600, "chmod go-w"},
		{"world-writable directory", 0o777, 0o600, "chmod go-w"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
			k, _ := keys.Generate("ES256", 0)
			if err := d.Save(k); err != nil {
				t.Fatal(err)
			}
			thumb, _ := keys.Thumbprint(k.Public())
			if err := os.Chmod(filepath.Join(d.Path, thumb+".pem"), tc.keyMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(d.Path, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			_, err := d.LoadRing()
			if tc.wantFix == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, keydir.ErrInsecurePermissions) || !strings.Contains(err.Error(), tc.wantFix) {
				t.Fatalf("err %v, want ErrInsecurePermissions with %q", err, tc.wantFix)
			}
			d.InsecurePermissions = true
			if _, err := d.LoadRing(); err != nil {
				t.Fatalf("with InsecurePermissions: %v", err)
			}
		})
	}
}
