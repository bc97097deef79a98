package azurekv_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/azurekv"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// simClock is a clock the test moves forward by hand, shared by the
// rotation (Plan, Apply, publication times), the vault backend, the token
// source and the emulator, so a rotation runs with NHS's real durations
// (a one-hour JWKS cache, the 65-minute lead, the 75-minute grace) in no
// time.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// dirSigner is a key source that reads the key directory on every
// assertion and picks the key that signs at the simulated time.
type dirSigner struct {
	dir   keydir.Dir
	clock *simClock
}

func (s dirSigner) SigningKey() (*keys.Key, error) {
	ring, err := s.dir.LoadRing()
	if err != nil {
		return nil, err
	}
	return ring.SignerAt(s.clock.Now())
}

// rotationEnv is a key directory whose new keys are made in the fake
// vault, a "published" JWKS (the bytes of the last publish, as a static
// file on a CDN would hold them), and the NHS emulator with its one-hour
// JWKS cache fetching that file.
type rotationEnv struct {
	t        *testing.T
	clock    *simClock
	t0       time.Time
	vault    *fakeVault
	dir      keydir.Dir
	policy   keydir.Policy
	emuURL   string
	mu       sync.Mutex
	doc      []byte // the published JWKS; nil until the first publish
	jwksGets int
}

const rotationTemplate = "azurekv://" + testVault + "/keys/pkjwt"

func newRotationEnv(t *testing.T) *rotationEnv {
	t.Helper()
	e := &rotationEnv{t: t, clock: &simClock{now: time.Now().UTC().Truncate(time.Second)}, vault: newFakeVault(t)}
	e.dir = keydir.Dir{
		Path:     filepath.Join(t.TempDir(), "keys"),
		Backends: []keys.Backend{e.vault.backend(azurekv.WithClock(e.clock.Now))},
	}
	e.t0 = e.clock.Now()
	e.policy = keydir.Policy{NewKey: rotationTemplate} // NHS's lead and grace: the defaults
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		doc := e.doc
		e.jwksGets++
		e.mu.Unlock()
		if doc == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(cdn.Close)
	emu, err := emulator.New(emulator.Config{
		Now:          e.clock.Now,
		JWKSCacheTTL: keydir.JWKSCacheTime, // NHS: an hour, no refetch for an unknown kid
		Apps: []emulator.App{{Name: "rotation", APIKey: "rotation-app",
			JWKSURL: cdn.URL + jwks.Path, Scopes: []string{emulator.PDSScope}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	t.Cleanup(emuSrv.Close)
	e.emuURL = emuSrv.URL
	return e
}

// rotate plans one rotation step at the simulated time, checks the
// actions it planned, and carries them out.
func (e *rotationEnv) rotate(want string) []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var added []string
	err := e.dir.Update(ctx, func(tx *keydir.Tx) error {
		now := e.clock.Now()
		steps := keydir.Plan(tx.Ring(), now, e.policy)
		var got []string
		for _, s := range steps {
			got = append(got, string(s.Action))
		}
		if strings.Join(got, " ") != want {
			e.t.Fatalf("at +%s the plan is %q, want %q: %+v", e.elapsed(), strings.Join(got, " "), want, steps)
		}
		var err error
		added, err = tx.Apply(ctx, steps, now, e.policy)
		return err
	})
	if err != nil {
		e.t.Fatalf("Apply at +%s: %v", e.elapsed(), err)
	}
	return added
}

// elapsed is the simulated time since the test began.
func (e *rotationEnv) elapsed() time.Duration { return e.clock.Now().Sub(e.t0) }

// publish replaces the published JWKS with the directory's and records
// the publication time, as 'pkjwt jwks publish' does.
func (e *rotationEnv) publish() {
	e.t.Helper()
	ring, err := e.dir.LoadRing()
	if err != nil {
		e.t.Fatal(err)
	}
	doc, err := jwks.MarshalRing(ring)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := jwks.Check(doc); err != nil {
		e.t.Fatalf("the JWKS to publish: %v", err)
	}
	e.mu.Lock()
	e.doc = doc
	e.mu.Unlock()
	var kids []string
	for _, k := range ring.Keys() {
		kids = append(kids, k.ID)
	}
	if _, err := e.dir.MarkPublished(context.Background(), kids, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

// token gets a token from the emulator with a token source on the
// directory at the simulated time and returns the kid it was signed under.
func (e *rotationEnv) token(keySource pkjwt.KeySource) (string, error) {
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile: pkjwt.Local(e.emuURL), ClientID: "rotation-app", Keys: keySource, Now: e.clock.Now, MaxAttempts: 1,
	})
	if err != nil {
		return "", err // no key signs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := ts.TokenContext(ctx)
	if err != nil {
		return "", err
	}
	if tok.AccessToken == "" {
		e.t.Fatal("empty access token")
	}
	return pkjwt.Info(tok).KeyID, nil
}

// signedIn checks that a token from the emulator is signed under kid and
// that its signature was made in the fake vault by the key version that
// kid's directory entry refers to.
func (e *rotationEnv) signedIn(kid string) {
	e.t.Helper()
	k, err := e.dir.Load(kid)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := azurekv.ParseRef(k.Ref)
	if err != nil || r.Vault != testVault || r.Version == "" || !strings.HasPrefix(r.Name, "pkjwt-") {
		e.t.Fatalf("key %s has ref %q (%v), want a pinned version of a key made from %s", kid, k.Ref, err, rotationTemplate)
	}
	before := len(e.vault.signCalls())
	got, err := e.token(dirSigner{e.dir, e.clock})
	if err != nil {
		e.t.Fatalf("token at +%s: %v", e.elapsed(), err)
	}
	if got != kid {
		e.t.Fatalf("token at +%s signed under %s, want %s", e.elapsed(), got, kid)
	}
	calls := e.vault.signCalls()[before:]
	if want := r.Name + "/" + r.Version + " RS512"; len(calls) != 1 || calls[0] != want {
		e.t.Fatalf("vault sign calls for the token: %q, want [%q]", calls, want)
	}
}

// checkFiles checks that the directory holds no private key file.
func (e *rotationEnv) checkFiles() {
	e.t.Helper()
	entries, err := os.ReadDir(e.dir.Path)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range entries {
		if strings.HasSuffix(f.Name(), ".pem") {
			e.t.Fatalf("%s: a private key file in a directory of vault keys", f.Name())
		}
	}
}

// TestRotationInVault runs a whole rotation of a key directory whose keys
// are made in (the SDK's fake of) Azure Key Vault by keys.Plan and
// Dir.Apply with Policy.NewKey, at NHS's real durations on a simulated
// clock: add → publish → wait out the lead → activate → the next key takes
// over → the first is removed after its grace. At each stage a token from
// the emulator (which caches the published JWKS for an hour and does not
// refetch it for an unknown kid, as NHS does) is signed in the vault by
// the key the rotation activated; and a key activated before the lead has
// run out is refused by the emulator, which is why the rotation waits.
func TestRotationInVault(t *testing.T) {
	t.Parallel()
	e := newRotationEnv(t)
	step := func(d time.Duration) { e.clock.advance(d) }

	// +0: an empty directory; a key is made in the vault, pending.
	added := e.rotate("add")
	if len(added) != 1 {
		t.Fatalf("added %v", added)
	}
	k1 := added[0]
	e.checkFiles()
	if k, err := e.dir.Load(k1); err != nil || k.State != keys.StatePending || k.Ref == "" || k.Bits() != keys.DefaultRSABits {
		t.Fatalf("added key %+v (%v)", k, err)
	}
	if _, err := e.token(dirSigner{e.dir, e.clock}); !errors.Is(err, keys.ErrNoSigningKey) {
		t.Fatalf("token with only a pending key: %v, want ErrNoSigningKey", err)
	}
	// Publishing reads only the directory: no call to the vault.
	before := e.vault.totalRequests()
	e.publish()
	if n := e.vault.totalRequests() - before; n != 0 {
		t.Fatalf("publishing the JWKS made %d requests to the vault", n)
	}
	e.rotate("wait") // published, but not for the lead yet

	// +66m: past the 65-minute lead: k1 signs; the next key is added.
	step(66 * time.Minute)
	added = e.rotate("activate add")
	k2 := added[0]
	e.signedIn(k1)
	e.publish() // k2 is published at +66m; the emulator cached the JWKS without it at +66m

	// +100m: k2 forced active before its lead has run out: the emulator
	// still holds the JWKS it fetched at +66m and refuses the kid, for
	// the hour NHS caches it. (A copy of the ring; the directory is
	// unchanged.) The rotation itself waits.
	step(34 * time.Minute)
	ring, err := e.dir.LoadRing()
	if err != nil {
		t.Fatal(err)
	}
	early, err := ring.Lookup(k2)
	if err != nil {
		t.Fatal(err)
	}
	forced := *early
	forced.State, forced.StateChanged = keys.StateActive, e.clock.Now()
	_, err = e.token(keys.NewRing(&forced))
	var te *pkjwt.TokenError
	if !errors.As(err, &te) || !strings.Contains(te.Description, "Invalid 'kid'") {
		t.Fatalf("token with a key activated before the lead: %v, want the emulator's Invalid 'kid'", err)
	}
	e.rotate("wait")
	e.signedIn(k1)

	// +132m: k2 published 66 minutes ago: it takes over, k1 is retired
	// (still published), a third key is added.
	step(32 * time.Minute)
	added = e.rotate("activate retire add")
	k3 := added[0]
	e.signedIn(k2)
	e.publish()

	// +190m: k1 is inside its 75-minute grace; k3 inside its lead.
	step(58 * time.Minute)
	e.rotate("wait wait")

	// +208m: k3 takes over; k1, retired 76 minutes ago, is removed.
	step(18 * time.Minute)
	e.rotate("activate retire add remove")
	e.signedIn(k3)
	if _, err := e.dir.Load(k1); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("k1 after its removal: %v", err)
	}
	e.checkFiles()
	kids, err := e.dir.KIDs()
	if err != nil || len(kids) != 3 {
		t.Fatalf("directory after the rotation: %v (%v), want k2, k3 and a new pending key", kids, err)
	}
	// Every key was made in the vault, 4096-bit RSA, for signing only.
	e.vault.mu.Lock()
	defer e.vault.mu.Unlock()
	if len(e.vault.created) != 4 {
		t.Fatalf("%d keys created in the vault, want 4", len(e.vault.created))
	}
	for _, p := range e.vault.created {
		if *p.KeySize != int32(keys.DefaultRSABits) || len(p.KeyOps) != 2 {
			t.Fatalf("created with %+v", p)
		}
	}
	// The emulator read the published file once per hour of cache: at
	// +66m, +132m and +208m.
	e.mu.Lock()
	gets := e.jwksGets
	e.mu.Unlock()
	if gets != 3 {
		t.Fatalf("the emulator fetched the published JWKS %d times, want 3 (one per expired hour of cache)", gets)
	}
	t.Logf("simulated %s; vault sign calls: %d; JWKS fetches: %d", e.elapsed(), len(e.vault.signs), gets)
}

// totalRequests is the number of authenticated requests the vault has had.
func (v *fakeVault) totalRequests() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, c := range v.requests {
		n += c
	}
	return n
}
