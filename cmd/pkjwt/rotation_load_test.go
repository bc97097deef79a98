package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// TestRotationUnderLoadDrivenByRotate runs whole key rotations driven only
// by the pipeline's two commands, 'pkjwt keys rotate' then 'pkjwt jwks
// publish --to file://…', every 400 ms, while clients ask for tokens and
// call the API without pause:
//   - the emulator (NHS's rules; its JWKS cache scaled from 1 hour to 2 s)
//     fetches the app's JWKS from the PUBLISHED FILE, served by a static
//     file server standing in for the CDN, not from the web app;
//   - 'pkjwt serve' follows the key directory and serves System to System
//     Calls in a loop;
//   - a library client over a keys.DirSource asks for a fresh token in a
//     loop (a new assertion each time) and records which key signed it.
//
// Durations are scaled by flags: --lead 2500ms (longer than the 2 s JWKS
// cache), --grace 2500ms. The test passes when no request failed, every key
// signed only inside its window (from its activation to its retirement as
// 'keys rotate' reported them, plus the 100 ms reload interval), and at least
// three rotations happened. It prints the requests counted per phase.
func TestRotationUnderLoadDrivenByRotate(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 20 s")
	}
	dir := filepath.Join(t.TempDir(), "keys")
	cdn := t.TempDir()
	published := filepath.Join(cdn, "jwks.json")
	const (
		lead     = "2500ms"
		grace    = "2500ms"
		stepWait = 400 * time.Millisecond
		reload   = 100 * time.Millisecond
		wantRot  = 3
	)
	rotateArgs := []string{"keys", "rotate", "--dir", dir, "--lead", lead, "--grace", grace, "--bits", "2048", "--json"}
	publish := func() {
		if r := runCLI(t, nil, "jwks", "publish", "--dir", dir, "--to", "file://"+published); r.Code != 0 {
			t.Fatalf("jwks publish: %v", r)
		}
	}

	// The first key: generated, published, then (once the relying party
	// can know it) active. A fresh deployment does exactly this.
	if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048", "--state", "pending"); r.Code != 0 {
		t.Fatal(r)
	}
	publish()

	cdnSrv := httptest.NewServer(http.FileServer(http.Dir(cdn)))
	defer cdnSrv.Close()
	emu, err := emulator.New(emulator.Config{JWKSCacheTTL: 2 * time.Second, TokenLifetime: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()
	if err := emu.AddApp(emulator.App{Name: "rotation", APIKey: "rotation-load", JWKSURL: cdnSrv.URL + "/jwks.json", Scopes: []string{emulator.PDSScope}}); err != nil {
		t.Fatal(err)
	}
	tokenURL := emuSrv.URL + "/oauth2/token"

	// Windows of each key, from the rotate reports.
	type window struct{ from, to time.Time }
	var wmu sync.Mutex
	windows := map[string]*window{}
	runRotate := func() rotateReport {
		r := runCLI(t, nil, rotateArgs...)
		if r.Code != 0 {
			t.Fatalf("keys rotate: %v", r)
		}
		var rep rotateReport
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatal(err)
		}
		wmu.Lock()
		defer wmu.Unlock()
		for _, s := range rep.Steps {
			switch s.Action {
			case keydir.ActionActivate:
				windows[s.KID] = &window{from: rep.Time}
			case keydir.ActionRetire:
				if w := windows[s.KID]; w != nil {
					w.to = rep.Time
				}
			}
		}
		return rep
	}
	// Wait out the lead for the first key, then let rotate activate it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep := runRotate()
		if strings.Contains(actions(rep), "activate") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first key was never activated: %+v", rep)
		}
		time.Sleep(stepWait)
	}
	publish()

	p, web := startServer(t, "serve", "--key-reload", reload.String(), "--dir", dir,
		"--profile", "local", "--token-url", tokenURL, "--client-id", "rotation-load")

	src, err := keydir.NewDirSource(keydir.Dir{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Watch(ctx, reload, nil, nil)

	type sample struct {
		kid        string
		start, end time.Time
	}
	var mu sync.Mutex
	var failures []string
	var samples []sample
	webCalls := 0
	var wg sync.WaitGroup
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	// The library client: a fresh token source per request, so that every
	// request signs a new assertion with the key the directory says.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stopped() {
			ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(emuSrv.URL), ClientID: "rotation-load", TokenURL: tokenURL, Keys: src})
			if err != nil {
				t.Error(err)
				return
			}
			start := time.Now()
			tok, err := ts.TokenContext(ctx)
			end := time.Now()
			mu.Lock()
			if err != nil {
				failures = append(failures, "token: "+err.Error())
			} else {
				samples = append(samples, sample{pkjwt.Info(tok).KeyID, start, end})
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// The web app's System to System Call in a loop.
	kidRE := regexp.MustCompile(`<code id="token-kid">([^<]+)</code>`)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stopped() {
			resp, err := http.Get(web + "/system-to-system")
			var body []byte
			if err == nil {
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			mu.Lock()
			webCalls++
			switch {
			case err != nil:
				failures = append(failures, "web: "+err.Error())
			case resp.StatusCode != 200 || !strings.Contains(string(body), "Jane") || !kidRE.Match(body):
				failures = append(failures, "web: "+resp.Status+": "+excerpt(string(body)))
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// The pipeline: rotate, then publish, every stepWait, until wantRot
	// more keys have been activated and the first retired key removed.
	rotations, removals := 0, 0
	deadline = time.Now().Add(60 * time.Second)
	for rotations < wantRot || removals == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d rotations and %d removals in 60 s", rotations, removals)
		}
		time.Sleep(stepWait)
		rep := runRotate()
		for _, s := range rep.Steps {
			switch s.Action {
			case keydir.ActionActivate:
				rotations++
			case keydir.ActionRemove:
				removals++
			}
		}
		publish()
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during %d rotations; first: %s\nserve's log:\n%s", len(failures), rotations, failures[0], p.Stderr)
	}
	// Each key signed only inside its window.
	perKey := map[string]int{}
	for _, s := range samples {
		perKey[s.kid]++
		w := windows[s.kid]
		if w == nil {
			t.Fatalf("%s signed a token but was never activated by keys rotate", s.kid)
		}
		if s.end.Before(w.from) {
			t.Errorf("%s signed a request that ended at %s, before its activation at %s", s.kid, s.end.Format(time.StampMilli), w.from.Format(time.StampMilli))
		}
		if !w.to.IsZero() && s.start.After(w.to.Add(2*reload)) {
			t.Errorf("%s signed a request started at %s, after its retirement at %s", s.kid, s.start.Format(time.StampMilli), w.to.Format(time.StampMilli))
		}
	}
	type phase struct {
		kid      string
		from, to time.Time
	}
	var phases []phase
	for kid, w := range windows {
		phases = append(phases, phase{kid, w.from, w.to})
	}
	sort.Slice(phases, func(i, j int) bool { return phases[i].from.Before(phases[j].from) })
	var b strings.Builder
	for i, ph := range phases {
		to := "end"
		if !ph.to.IsZero() {
			to = ph.to.Sub(phases[0].from).Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "\n  phase %d: key %.12s… signs from %s to %s: %d token requests", i+1, ph.kid, ph.from.Sub(phases[0].from).Round(time.Millisecond), to, perKey[ph.kid])
	}
	if len(phases) < wantRot+1 {
		t.Fatalf("%d signing phases, want %d", len(phases), wantRot+1)
	}
	t.Logf("%d rotations, %d removals, %d library token requests and %d System to System Calls, none failed:%s",
		rotations, removals, len(samples), webCalls, b.String())
}
