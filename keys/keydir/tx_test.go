package keydir_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// listDir returns the names in dir, to compare a directory before and
// after a refused change.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range entries {
		n = append(n, e.Name())
	}
	return strings.Join(n, " ")
}

func esKey(t *testing.T, kid string, st keys.State) *keys.Key {
	t.Helper()
	k, err := keys.Generate("ES256", 0)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		k.ID = kid
	}
	k.State = st
	return k
}

// TestUpdateRefuses: a change is refused before anything is written when
// the directory does not load (naming the file), and a duplicate kid is
// ErrDuplicateKID, a key already there under another kid fs.ErrExist.
func TestUpdateRefuses(t *testing.T) {
	ctx := context.Background()
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	first := esKey(t, "dup", keys.StateActive)
	if err := d.Save(first); err != nil {
		t.Fatal(err)
	}
	other := *first
	other.ID = "other"
	for _, tc := range []struct {
		name   string
		damage string // a file written into the directory first
		k      *keys.Key
		want   error
		naming string
	}{
		{"duplicate kid", "", esKey(t, "dup", keys.StatePending), keydir.ErrDuplicateKID, `kid "dup"`},
		{"same key, another kid", "", &other, fs.ErrExist, `with kid "dup"`},
		{"damaged file, duplicate kid", "broken.pem", esKey(t, "dup", keys.StatePending), keys.ErrMalformed, "broken.pem"},
		{"damaged file, new kid", "broken.pem", esKey(t, "new", keys.StatePending), keys.ErrMalformed, "broken.pem"},
		{"foreign metadata", "zz.json", esKey(t, "new", keys.StatePending), keys.ErrMalformed, "zz.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.damage != "" {
				p := filepath.Join(d.Path, tc.damage)
				if err := os.WriteFile(p, []byte("{not a key"), 0o600); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(p)
			}
			before := listDir(t, d.Path)
			ran := false
			err := d.Update(ctx, func(tx *keydir.Tx) error { ran = true; return tx.Add(tc.k) })
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.naming) {
				t.Fatalf("got %v, want %v naming %q", err, tc.want, tc.naming)
			}
			if tc.damage != "" && ran {
				t.Fatal("the transaction ran on a directory that does not load")
			}
			if got := listDir(t, d.Path); got != before {
				t.Fatalf("a refused change wrote: %s, was %s", got, before)
			}
		})
	}
	if ring, err := d.LoadRing(); err != nil || ring.Len() != 1 {
		t.Fatalf("after the refusals: %v", err)
	}
}

// TestUpdateWaitsForTheLock: while another holder has the lock, Update
// tells OnLockWait once who holds it (pid and since when), waits, and
// either gets it when the holder lets go or fails after LockTimeout with
// ErrLocked naming the holder's pid and age; LockTimeout < 0 does not
// wait.
func TestUpdateWaitsForTheLock(t *testing.T) {
	ctx := context.Background()
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	hold := func(release <-chan struct{}) <-chan error {
		inside, done := make(chan struct{}), make(chan error, 1)
		go func() {
			done <- d.Update(ctx, func(*keydir.Tx) error { close(inside); <-release; return nil })
		}()
		<-inside
		return done
	}
	holder := fmt.Sprintf("held by pid %d since ", os.Getpid())
	for _, tc := range []struct {
		name      string
		timeout   time.Duration
		releaseIn time.Duration // 0: never during the wait
		wantErr   bool
		wantWait  bool
	}{
		{"holder lets go", 10 * time.Second, 300 * time.Millisecond, false, true},
		{"timeout", 300 * time.Millisecond, 0, true, true},
		{"no wait", -1, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			done := hold(release)
			if tc.releaseIn > 0 {
				time.AfterFunc(tc.releaseIn, func() { close(release) })
			}
			var told []string
			w := d
			w.LockTimeout = tc.timeout
			w.OnLockWait = func(msg string) { told = append(told, msg) }
			err := w.Update(ctx, func(*keydir.Tx) error { return nil })
			if tc.releaseIn == 0 {
				close(release)
			}
			if e := <-done; e != nil {
				t.Fatal(e)
			}
			if tc.wantErr != (err != nil) || err != nil && (!errors.Is(err, keydir.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("locked by pid %d since ", os.Getpid())) || !strings.Contains(err.Error(), "ago")) {
				t.Fatalf("err %v, want an error %v (ErrLocked with the holder's pid and age)", err, tc.wantErr)
			}
			if tc.wantWait != (len(told) == 1) || len(told) > 1 || len(told) == 1 && (!strings.Contains(told[0], "waiting up to") || !strings.Contains(told[0], holder)) {
				t.Fatalf("OnLockWait told %q", told)
			}
			t.Logf("told %q; %v", told, err)
		})
	}
	// A cancelled context ends the wait.
	release := make(chan struct{})
	done := hold(release)
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := d.Update(cctx, func(*keydir.Tx) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled wait: %v", err)
	}
	close(release)
	<-done
}

// TestRingIsImmutable: changing a key the ring handed out, or a key given
// to NewRing, never changes the ring.
func TestRingIsImmutable(t *testing.T) {
	now := time.Now()
	a := esKey(t, "a", keys.StateActive)
	a.Created = now.Add(-time.Hour)
	b := esKey(t, "b", keys.StatePending)
	r := keys.NewRing(a, b)
	a.State, b.State = keys.StateRetired, keys.StateActive // the caller's keys, after NewRing
	mutate := func(k *keys.Key) {
		k.ID, k.State, k.Published, k.NotBefore, k.Algorithm = "evil", keys.StateRetired, now, now.Add(time.Hour), "none"
	}
	for _, k := range r.Keys() {
		mutate(k)
	}
	if k, err := r.Lookup("a"); err == nil {
		mutate(k)
	}
	if k, err := r.SignerAt(now); err == nil {
		mutate(k)
	}
	if k, err := r.SigningKey(); err == nil {
		mutate(k)
	}
	s, err := r.SignerAt(now)
	if err != nil || s.ID != "a" || s.Algorithm != "ES256" || !s.Published.IsZero() {
		t.Fatalf("signer after mutations: %+v, %v", s, err)
	}
	if k, err := r.Lookup("b"); err != nil || k.State != keys.StatePending {
		t.Fatalf("b after mutations: %+v, %v", k, err)
	}
	if _, err := r.Lookup("evil"); !errors.Is(err, keys.ErrNotFound) {
		t.Fatal("a renamed copy renamed the ring's key")
	}
}

// TestDirSourceSeesEveryRewrite: a rewrite of the same size whose
// modification time is put back (as within one tick of a coarse file
// system clock) is still seen.
func TestDirSourceSeesEveryRewrite(t *testing.T) {
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	k := esKey(t, "", keys.StatePending)
	if err := d.Save(k); err != nil {
		t.Fatal(err)
	}
	src, err := keydir.NewDirSource(d)
	if err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(d.Path, k.ID+".json")
	st, err := os.Stat(meta)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(meta)
	changed := strings.Replace(string(b), `"state": "pending"`, `"state": "retired"`, 1) // same length
	if len(changed) != len(b) || changed == string(b) {
		t.Fatal("the test's rewrite is not a same-size change")
	}
	if err := os.WriteFile(meta, []byte(changed), 0o600); err != nil { // in place: same inode
		t.Fatal(err)
	}
	if err := os.Chtimes(meta, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(meta); st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("size or mtime differ")
	}
	if ok, err := src.Reload(); !ok || err != nil {
		t.Fatalf("same-size rewrite with the old mtime not seen: %v %v", ok, err)
	}
	if got, _ := src.Ring().Lookup(k.ID); got.State != keys.StateRetired {
		t.Fatalf("state %s after the rewrite", got.State)
	}
}

// TestPermissionErrorListsEveryFile: the error names every private key
// file group or others may read and the directory if they may write it,
// with one chmod that fixes them all; it says nothing of previous keys
// when there are none.
func TestPermissionErrorListsEveryFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits")
	}
	for _, tc := range []struct {
		name     string
		dirMode  os.FileMode
		fileMode [3]os.FileMode
		bad      int // files named
		chmod    string
	}{
		{"two files", 0o700, [3]os.FileMode{0o644, 0o600, 0o640}, 2, "chmod 600 "},
		{"directory", 0o777, [3]os.FileMode{0o600, 0o600, 0o600}, 0, "chmod go-w "},
		{"directory and three files", 0o770, [3]os.FileMode{0o604, 0o640, 0o644}, 3, "chmod go-rwx "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := keydir.Dir{Path: filepath.Join(t.TempDir(), "my keys")} // a space: the command quotes it
			var all, files []string
			for range tc.fileMode {
				k := esKey(t, "", keys.StateActive)
				if err := d.Save(k); err != nil {
					t.Fatal(err)
				}
				all = append(all, filepath.Join(d.Path, k.ID+".pem"))
			}
			for i, f := range all {
				if err := os.Chmod(f, tc.fileMode[i]); err != nil {
					t.Fatal(err)
				}
				if tc.fileMode[i] != 0o600 {
					files = append(files, f)
				}
			}
			if err := os.Chmod(d.Path, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			_, err := keydir.NewDirSource(d)
			if !errors.Is(err, keydir.ErrInsecurePermissions) || strings.Contains(err.Error(), "keeping") {
				t.Fatalf("first load: %v", err)
			}
			msg := err.Error()
			for _, f := range files {
				if !strings.Contains(msg, f) {
					t.Errorf("%s not named: %s", f, msg)
				}
			}
			_, cmd, ok := strings.Cut(msg, "fix with: ")
			if !ok || !strings.HasPrefix(cmd, tc.chmod) || strings.Count(msg, "chmod") != 1 {
				t.Fatalf("not one %q command: %s", tc.chmod, msg)
			}
			if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v %s", cmd, err, out)
			}
			if _, err := d.LoadRing(); err != nil {
				t.Fatalf("after %s: %v", cmd, err)
			}
		})
	}
}
