package webapp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/testutil/lockholder"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
	"github.com/pkjwt/pkjwt/webapp"
)

// dirApp serves the web app over loopback on a key directory holding an
// active key and a pending key never published, and returns the
// directory, the pending key's kid and the app's URL.
func dirApp(t *testing.T) (d keydir.Dir, pending string, app *webapp.App, url string) {
	t.Helper()
	d = keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	active := *key(t) // RS512, as the local profile requires; a copy, since it is shared
	active.Published = time.Now().Add(-2 * time.Hour)
	next, err := keys.Generate("ES256", 0)
	if err != nil {
		t.Fatal(err)
	}
	next.State = keys.StatePending
	for _, k := range []*keys.Key{&active, next} {
		if err := d.Save(k); err != nil {
			t.Fatal(err)
		}
	}
	src, err := keydir.NewDirSource(d)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local("http://127.0.0.1:9"), ClientID: "publishTestClient", Keys: src})
	if err != nil {
		t.Fatal(err)
	}
	app, err = webapp.New(webapp.Config{TokenSource: ts})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(app.Handler())
	t.Cleanup(web.Close)
	t.Cleanup(func() { app.Close() })
	return d, next.ID, app, web.URL
}

// publishedAt returns the recorded first publication of kid, zero if none.
func publishedAt(t *testing.T, d keydir.Dir, kid string) time.Time {
	t.Helper()
	k, err := d.Load(kid)
	if err != nil {
		t.Fatal(err)
	}
	return k.Published
}

// TestJWKSNeverWaitsForTheKeyDirectory is issue 15's item 5: another
// process holds the key directory's lock (as 'keys rotate' does) while 200
// JWKS GETs, spread over 5 s, each answer within 100 ms; the lock is held
// for twice that, so that a busy machine's late timers cannot move a GET
// past it; the first serving of the
// pending key is still recorded, with the time it was served, once the
// lock is released.
func TestJWKSNeverWaitsForTheKeyDirectory(t *testing.T) {
	const spread, hold, gets, bound = 5 * time.Second, 10 * time.Second, 200, 100 * time.Millisecond
	d, pending, _, url := dirApp(t)
	pid := lockholder.Start(t, d.Path, hold)
	locked := time.Now()
	firstServed := time.Now()
	var slowest time.Duration
	var took []time.Duration
	for i := range gets {
		start := time.Now()
		resp, err := http.Get(url + jwks.Path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		took = append(took, d)
		slowest = max(slowest, d)
		kids, err := jwks.Check(body)
		if resp.StatusCode != http.StatusOK || err != nil || !slices.Contains(kids, pending) {
			t.Fatalf("GET %d: %d %s", i, resp.StatusCode, body)
		}
		if d > bound {
			t.Fatalf("GET %d took %s with the directory locked by pid %d (bound %s)", i, d, pid, bound)
		}
		// Spread the GETs over most of the time the lock is held.
		time.Sleep(time.Until(start.Add(spread / gets)))
	}
	if time.Since(locked) >= hold {
		t.Fatalf("the GETs outlasted the lock (%s): they did not all run while it was held", time.Since(locked))
	}
	if p := publishedAt(t, d, pending); !p.IsZero() {
		t.Fatalf("the publication was recorded at %s while another process held the lock", p)
	}
	slices.Sort(took)
	t.Logf("%d JWKS GETs with the key directory locked by pid %d: median %s, p99 %s, slowest %s",
		gets, pid, took[gets/2], took[gets*99/100], slowest)

	deadline := time.Now().Add(hold + 30*time.Second)
	for publishedAt(t, d, pending).IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the first publication was never recorded after the lock was released")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p := publishedAt(t, d, pending)
	if p.Before(firstServed.Add(-time.Second)) || p.After(locked.Add(hold)) {
		t.Fatalf("published at %s: not the time of the first serving (%s), before the lock was released", p, firstServed)
	}
	t.Logf("recorded %s after the lock was taken; published at the first serving, +%s", time.Since(locked).Round(time.Millisecond), p.Sub(firstServed).Round(time.Millisecond))
}

// TestCloseStopsTheRecorder: an app closed while its recorder waits for
// the directory's lock returns at once and records nothing.
func TestCloseStopsTheRecorder(t *testing.T) {
	d, pending, app, url := dirApp(t)
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- d.Update(context.Background(), func(*keydir.Tx) error {
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	resp, err := http.Get(url + jwks.Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	closed := make(chan struct{})
	go func() { app.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the directory's lock")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p := publishedAt(t, d, pending); !p.IsZero() {
		t.Fatalf("a closed app recorded a publication at %s", p)
	}
}
