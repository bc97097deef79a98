package awskms_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/awskms"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// TestCancelStopsAssertionSign: a client assertion signed in KMS with a
// context that is cancelled while KMS has not answered returns at once,
// long before the sign timeout, with an error that matches
// context.Canceled; for a signer opened directly and for the same key
// named by its ref in a key directory (opened on first use).
func TestCancelStopsAssertionSign(t *testing.T) {
	t.Parallel()
	d := newKMSDouble(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	signing := make(chan struct{}, 16)
	d.set(func(d *kmsDouble) {
		d.signErr = func(http.ResponseWriter) bool {
			signing <- struct{}{}
			<-release
			return false
		}
	})
	backend := awskms.New(awskms.WithConfig(testConfig()), awskms.WithSignTimeout(time.Minute))
	signer, err := backend.Open(context.Background(), d.ref())
	if err != nil {
		t.Fatal(err)
	}
	opened, err := keys.New(signer, "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := keydir.Dir{Path: t.TempDir() + "/keys", Backends: []keys.Backend{backend}}
	remote := *opened
	remote.Ref = d.ref()
	if err := dir.Save(&remote); err != nil {
		t.Fatal(err)
	}
	ring, err := dir.LoadRing()
	if err != nil {
		t.Fatal(err)
	}
	fromDir, err := ring.Lookup(opened.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  *keys.Key
	}{
		{"opened signer", opened},
		{"key directory", fromDir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				select {
				case <-signing: // KMS has the Sign request and holds it
				case <-time.After(30 * time.Second):
				}
				cancel()
			}()
			start := time.Now()
			_, err := pkjwt.Assertion{ClientID: "client-1", Audience: "https://auth.example/oauth2/token"}.Sign(ctx, tc.key)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Sign with a cancelled context: %v, want context.Canceled", err)
			}
			if errors.Is(err, keys.ErrRemoteTimeout) {
				t.Fatalf("a cancellation reported as a timeout: %v", err)
			}
			if el := time.Since(start); el > 20*time.Second {
				t.Fatalf("Sign returned %s after the call began; the sign timeout is a minute", el)
			}
		})
	}
}
