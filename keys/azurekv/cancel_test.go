package azurekv_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/azurekv"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// TestCancelStopsAssertionSign: a client assertion signed in Key Vault
// with a context cancelled while the vault holds the sign request returns
// at once, long before the sign deadline, with an error that matches
// context.Canceled and not keys.ErrRemoteTimeout; for a signer opened
// directly and for the key named by its ref in a key directory.
func TestCancelStopsAssertionSign(t *testing.T) {
	v := newFakeVault(t)
	v.addKey("nhs-signing", testRSAKey(t, 0))
	backend := v.backend(azurekv.WithSignTimeout(time.Minute))
	signer, err := backend.Open(context.Background(), keyRef)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := keys.New(signer, "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys"), Backends: []keys.Backend{backend}}
	remote := *opened
	remote.Ref = signer.(*azurekv.Signer).Ref()
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
	v.mu.Lock()
	v.signDelay = time.Hour // the vault holds every sign request until it is cancelled
	v.mu.Unlock()
	signPath := "POST /keys/nhs-signing/" + signer.(*azurekv.Signer).Version() + "/sign"
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
			before := v.count(signPath)
			go func() {
				deadline := time.Now().Add(30 * time.Second)
				for v.count(signPath) == before && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				cancel() // the vault has the request
			}()
			start := time.Now()
			_, err := pkjwt.Assertion{ClientID: "my-api-key", Audience: pkjwt.NHSInt().TokenURL}.Sign(ctx, tc.key)
			if !errors.Is(err, context.Canceled) || errors.Is(err, keys.ErrRemoteTimeout) {
				t.Fatalf("Sign with a cancelled context: %v, want context.Canceled only", err)
			}
			if el := time.Since(start); el > 20*time.Second {
				t.Fatalf("Sign returned %s after the call began; the sign deadline is a minute", el)
			}
			if v.count(signPath) == before {
				t.Fatal("the sign request never reached the vault")
			}
		})
	}
}
