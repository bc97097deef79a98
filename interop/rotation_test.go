package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// rotateReport is what 'pkjwt keys rotate --json' prints.
type rotateReport struct {
	Time  time.Time     `json:"time"`
	Steps []keydir.Step `json:"steps"`
}

// TestHydraRotationDrivenByRotate runs key rotations against ORY Hydra
// driven only by the CLI, while four library clients ask Hydra for a token
// without pause (a fresh token source, so a fresh assertion signed by the
// directory's current key, for every request):
//   - 'pkjwt serve' follows the key directory (--key-reload 100ms) and
//     serves its JWKS, the client's jwks_uri at Hydra (through a proxy
//     that only counts Hydra's fetches);
//   - the pipeline, every 300 ms: 'pkjwt keys rotate --lead 1s --grace 1s',
//     then 'pkjwt check --jwks-url' (the served JWKS holds the signing key).
//
// The lead: Hydra caches a jwks_uri for an hour (fosite's default; Hydra
// v2.3.0 has no setting for it) but fetches it again at once when an
// assertion names a kid it has not cached. So a key works at Hydra as soon
// as the JWKS serves it, and the lead only has to cover the web app's
// reload (100 ms): 1 s is ample. NHS England does not refetch on an unknown
// kid, which is why the production lead is 65 minutes (docs/nhs-reference.md).
//
// Who records the publication: with a JWKS served by the web app, a pending
// key counts as published the first time the web app serves it. NHS fetches
// the JWKS when its hourly cache expires; Hydra fetches only for an unknown
// kid, that is never for a pending key. So the pipeline's check step is
// what makes the web app serve each new key before it may sign (with a
// static JWKS file, 'pkjwt jwks publish' records it instead).
//
// It passes when no token request failed through at least two rotations
// and a removal, at least three keys signed, Hydra fetched the JWKS a few
// times rather than per request, and Hydra's introspection says the last
// token is active.
func TestHydraRotationDrivenByRotate(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 15 s")
	}
	const (
		clientID = "pkjwt-interop-rotation"
		lead     = "1s"
		grace    = "1s"
		stepWait = 300 * time.Millisecond
		reload   = 100 * time.Millisecond
		wantRot  = 2
		clients  = 4
	)
	dir := filepath.Join(t.TempDir(), "keys")
	hy := testutil.StartHydra(t, testutil.HydraOptions{})
	trustHydra := []string{"SSL_CERT_FILE=" + hy.CertFile}

	if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048"); r.Code != 0 {
		t.Fatalf("keys generate: %v", r)
	}
	p, webURL := startServer(t, trustHydra, "serve", "--key-reload", reload.String(), "--dir", dir,
		"--profile", "generic", "--token-url", hy.TokenURL, "--client-id", clientID, "--call-url", hy.PublicURL+"/health/alive")
	jwksURL := webURL + jwks.Path
	// Hydra reaches the web app's JWKS through a pass-through proxy that
	// counts its fetches (the check steps go to the web app directly).
	var hydraFetches atomic.Int64
	target, err := url.Parse(webURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	counter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == jwks.Path {
			hydraFetches.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	defer counter.Close()
	hydraJWKSURL := counter.URL + jwks.Path
	register(t, hy, privateKeyJWTClient(clientID, "RS512", hydraJWKSURL))

	rotateArgs := []string{"keys", "rotate", "--dir", dir, "--lead", lead, "--grace", grace, "--bits", "2048", "--json"}
	checkArgs := []string{"check", "--dir", dir, "--profile", "generic", "--token-url", hy.TokenURL, "--client-id", clientID, "--jwks-url", jwksURL, "--no-token"}
	check := func() {
		if r := runCLI(t, trustHydra, checkArgs...); r.Code != 0 {
			t.Fatalf("pkjwt check: %v\nserve's log:\n%s", r, p.Stderr)
		}
	}
	check()

	src, err := keydir.NewDirSource(keydir.Dir{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Watch(ctx, reload, nil, nil)

	var mu sync.Mutex
	var failures []string
	perKey := map[string]int{}
	var last string
	requests := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Generic(), TokenURL: hy.TokenURL,
					ClientID: clientID, Keys: src, HTTPClient: hy.Client, MaxAttempts: 1})
				if err != nil {
					t.Error(err)
					return
				}
				tok, err := ts.TokenContext(ctx)
				mu.Lock()
				requests++
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					perKey[pkjwt.Info(tok).KeyID]++
					last = tok.AccessToken
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	rotations, removals := 0, 0
	var steps []string
	start := time.Now()
	deadline := start.Add(90 * time.Second)
	for rotations < wantRot || removals == 0 {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("only %d rotations and %d removals in 90 s: %s", rotations, removals, strings.Join(steps, "; "))
		}
		time.Sleep(stepWait)
		r := runCLI(t, nil, rotateArgs...)
		if r.Code != 0 {
			close(stop)
			wg.Wait()
			t.Fatalf("keys rotate: %v", r)
		}
		var rep rotateReport
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("keys rotate --json: %v\n%s", err, r.Stdout)
		}
		for _, s := range rep.Steps {
			switch s.Action {
			case keydir.ActionActivate:
				rotations++
			case keydir.ActionRemove:
				removals++
			}
			steps = append(steps, fmt.Sprintf("%s %s %.8s", rep.Time.Sub(start).Round(time.Millisecond), s.Action, s.KID))
		}
		check()
	}
	// Let the clients run on the last key for a moment.
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d of %d token requests failed during %d rotations; first: %s\nsteps: %s\nserve's log:\n%s",
			len(failures), requests, rotations, failures[0], strings.Join(steps, "; "), p.Stderr)
	}
	if len(perKey) < wantRot+1 {
		t.Fatalf("%d keys signed accepted assertions (%v), want %d", len(perKey), perKey, wantRot+1)
	}
	if in := introspect(t, hy, last); !in.Active || in.ClientID != clientID {
		t.Fatalf("Hydra's introspection of the last token: %+v", in)
	}
	// Hydra fetches the JWKS for its first assertion and again for a kid it
	// has not cached: at least twice (the first key signed before the third
	// existed), and for each key at most about once per client (clients
	// that miss at the same moment each fetch), not once per request.
	fetches := int(hydraFetches.Load())
	if fetches < 2 || fetches > 2*clients*(len(perKey)+1) {
		t.Fatalf("Hydra fetched the JWKS %d times for %d token requests and %d keys", fetches, requests, len(perKey))
	}
	var counts []string
	for kid, n := range perKey {
		counts = append(counts, fmt.Sprintf("%.12s…: %d", kid, n))
	}
	sort.Strings(counts)
	t.Logf("%d rotations, %d removals, %d token requests from Hydra, none failed; Hydra fetched the JWKS %d times; tokens per key: %s\nsteps: %s",
		rotations, removals, requests, fetches, strings.Join(counts, ", "), strings.Join(steps, "; "))
}
