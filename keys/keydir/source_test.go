package keydir_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

func TestDirSourceFollowsTheDirectory(t *testing.T) {
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	a, _ := keys.Generate("ES256", 0)
	a.Created = time.Now().Add(-time.Hour)
	if err := d.Save(a); err != nil {
		t.Fatal(err)
	}
	src, err := keydir.NewDirSource(d)
	if err != nil {
		t.Fatal(err)
	}
	signer := func() string {
		k, err := src.SigningKey()
		if err != nil {
			t.Fatal(err)
		}
		return k.ID
	}
	if changed, err := src.Reload(); changed || err != nil {
		t.Fatalf("reload of an unchanged directory: %v %v", changed, err)
	}

	b, _ := keys.Generate("ES256", 0)
	b.State = keys.StatePending
	if err := d.Save(b); err != nil {
		t.Fatal(err)
	}
	if changed, err := src.Reload(); !changed || err != nil {
		t.Fatalf("new key not seen: %v %v", changed, err)
	}
	if src.Ring().Len() != 2 || signer() != a.ID {
		t.Fatalf("pending key: %d keys, signer %s", src.Ring().Len(), signer())
	}

	if err := d.Update(context.Background(), func(tx *keydir.Tx) error { return tx.Activate(b.ID, time.Now(), keydir.DefaultLead, true) }); err != nil {
		t.Fatal(err)
	}
	if changed, _ := src.Reload(); !changed || signer() != b.ID {
		t.Fatalf("activation not seen: signer %s", signer())
	}

	// A damaged file keeps the previous ring.
	before := src.Ring()
	os.WriteFile(filepath.Join(d.Path, "zzz.pem"), []byte("-----BEGIN PRIVATE KEY-----\nAAA"), 0o600)
	if changed, err := src.Reload(); changed || err == nil || src.Ring() != before {
		t.Fatalf("damaged file: changed %v, err %v", changed, err)
	}
	os.Remove(filepath.Join(d.Path, "zzz.pem"))

	// Watch reports the next change.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan *keys.Ring, 4)
	go src.Watch(ctx, 10*time.Millisecond, func(r *keys.Ring) { seen <- r }, nil)
	os.Remove(filepath.Join(d.Path, a.ID+".pem"))
	os.Remove(filepath.Join(d.Path, a.ID+".json"))
	select {
	case r := <-seen:
		if r.Len() != 1 {
			t.Fatalf("after removing a key: %d keys", r.Len())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not report the removal")
	}
	var _ keys.RingSource = src
	var _ keys.RingSource = keys.NewRing()
}
