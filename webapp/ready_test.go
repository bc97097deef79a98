package webapp_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/webapp"
)

// failingAfterFirst gives its key once (NewTokenSource checks it), then
// fails as a ring with no signing key does; its ring (what the app
// publishes) holds the key.
type failingAfterFirst struct {
	k     *keys.Key
	calls atomic.Int64
}

func (f *failingAfterFirst) Ring() *keys.Ring { return keys.NewRing(f.k) }

func (f *failingAfterFirst) SigningKey() (*keys.Key, error) {
	if f.calls.Add(1) == 1 {
		return f.k, nil
	}
	return nil, keys.ErrNoSigningKey
}

// TestReadyWrapsTheKeyError: when no key can sign, Ready's error wraps the
// key source's, so a caller can test it with errors.Is.
func TestReadyWrapsTheKeyError(t *testing.T) {
	k := key(t)
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local("http://127.0.0.1:1"), ClientID: "c", Keys: &failingAfterFirst{k: k}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := webapp.New(webapp.Config{TokenSource: ts, CallURL: "http://127.0.0.1:1/Patient/9000000009"})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Ready(t.Context()); !errors.Is(err, keys.ErrNoSigningKey) {
		t.Fatalf("Ready: %v, want an error matching keys.ErrNoSigningKey", err)
	}
}
