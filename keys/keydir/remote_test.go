package keydir_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// blockingSigner is a remote key double whose service never answers: its
// SignContext waits for the context.
type blockingSigner struct{ crypto.Signer }

func (s blockingSigner) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Sign has no context: it would wait for ever.
func (s blockingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	select {}
}

// TestSignContextReachesTheService: keys.SignContext and keys.WithContext
// hand the caller's context to a signer that takes one (a key service),
// directly and through a remote key loaded from a key directory, so that
// cancelling it stops the call; a local key signs at once, and a context
// already cancelled signs nothing.
func TestSignContextReachesTheService(t *testing.T) {
	local, err := keys.Generate("ES256", 0)
	if err != nil {
		t.Fatal(err)
	}
	b := &memBackend{keys: map[string]crypto.Signer{}}
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys"), Backends: []keys.Backend{b}}
	var created *keys.Key
	err = d.Update(context.Background(), func(tx *keydir.Tx) (err error) {
		created, err = tx.CreateRemote(context.Background(), "mem://vault", "ES256", keys.StateActive, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b.keys[created.Ref] = blockingSigner{b.keys[created.Ref]}
	ring, err := d.LoadRing()
	if err != nil {
		t.Fatal(err)
	}
	fromDir, err := ring.Lookup(created.ID)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("x"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		signer  crypto.Signer
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"remote, cancelled while waiting", blockingSigner{local.Signer}, cancelSoon, context.Canceled},
		{"remote, deadline", blockingSigner{local.Signer}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, context.DeadlineExceeded},
		{"remote in a key directory, cancelled while waiting", fromDir.Signer, cancelSoon, context.Canceled},
		{"local, live context", local.Signer, func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }, nil},
		{"local, cancelled context", local.Signer, func() (context.Context, context.CancelFunc) { return cancelled, func() {} }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, via := range []string{"SignContext", "WithContext"} {
				ctx, cancel := tc.ctx()
				var err error
				if via == "SignContext" {
					_, err = keys.SignContext(ctx, tc.signer, rand.Reader, digest[:], crypto.SHA256)
				} else {
					_, err = keys.WithContext(ctx, tc.signer).Sign(rand.Reader, digest[:], crypto.SHA256)
				}
				cancel()
				if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("%s: %v, want %v", via, err, tc.wantErr)
				}
			}
		})
	}
}

// cancelSoon is a context cancelled 20 ms from now, while the call waits.
func cancelSoon() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	return ctx, cancel
}

// TestRemoteKeyErrorsNameTheRef: a remote key whose metadata does not
// match fails to load with an error naming its ref and metadata file,
// never a .pem file it does not have.
func TestRemoteKeyErrorsNameTheRef(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, metaPath string)
		want   error
	}{
		{"algorithm the key cannot sign", func(t *testing.T, metaPath string) {
			editMeta(t, metaPath, func(m map[string]any) { m["alg"] = "RS512" })
		}, keys.ErrAlgorithmMismatch},
		{"file named for another key", func(t *testing.T, metaPath string) {
			other, _ := keys.Generate("ES256", 0)
			thumb, _ := keys.Thumbprint(other.Public())
			if err := os.Rename(metaPath, filepath.Join(filepath.Dir(metaPath), thumb+".json")); err != nil {
				t.Fatal(err)
			}
		}, keydir.ErrKidMismatch},
		{"public key unreadable", func(t *testing.T, metaPath string) {
			editMeta(t, metaPath, func(m map[string]any) { m["public_key"] = "AAAA" })
		}, keys.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &memBackend{keys: map[string]crypto.Signer{}}
			d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys"), Backends: []keys.Backend{b}}
			var k *keys.Key
			err := d.Update(context.Background(), func(tx *keydir.Tx) (err error) {
				k, err = tx.CreateRemote(context.Background(), "mem://vault", "ES256", keys.StateActive, time.Now())
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			thumb, _ := keys.Thumbprint(k.Public())
			tc.damage(t, filepath.Join(d.Path, thumb+".json"))
			_, err = d.LoadRing()
			if !errors.Is(err, tc.want) {
				t.Fatalf("load: %v, want %v", err, tc.want)
			}
			if msg := err.Error(); !strings.Contains(msg, k.Ref) || strings.Contains(msg, ".pem") {
				t.Fatalf("error %q: want the ref %s and no .pem file", msg, k.Ref)
			}
		})
	}
}

func editMeta(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
