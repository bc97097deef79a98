package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/keys/keydir"
)

// listKeys runs 'keys list --json' and returns the keys by kid.
func listKeys(t *testing.T, dir string) map[string]keyListing {
	t.Helper()
	r := runCLI(t, nil, "keys", "list", "--dir", dir, "--json")
	if r.Code != 0 {
		t.Fatalf("keys list: %v", r)
	}
	var list []keyListing
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		t.Fatalf("keys list --json: %v\n%s", err, r.Stdout)
	}
	m := map[string]keyListing{}
	for _, l := range list {
		m[l.KID] = l
	}
	return m
}

// rotate runs 'keys rotate --json' and returns its report.
func rotate(t *testing.T, dir string, args ...string) (rotateReport, result) {
	t.Helper()
	r := runCLI(t, nil, append([]string{"keys", "rotate", "--dir", dir, "--json", "--alg", "ES256"}, args...)...)
	var rep rotateReport
	if r.Code == 0 {
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("keys rotate --json: %v\n%s", err, r.Stdout)
		}
	}
	return rep, r
}

func actions(rep rotateReport) string {
	var a []string
	for _, s := range rep.Steps {
		a = append(a, string(s.Action))
	}
	return strings.Join(a, " ")
}

// TestKeysRotateCLI drives a whole rotation with 'keys rotate' as a
// process, durations scaled down by --lead and --grace; the publication
// time is recorded the way 'jwks publish' records it.
func TestKeysRotateCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	gen := runCLI(t, nil, "keys", "generate", "--dir", dir, "--alg", "ES256", "--kid", "first")
	if gen.Code != 0 || strings.TrimSpace(gen.Stdout) != "first" {
		t.Fatalf("generate --kid: %v", gen)
	}
	// 1. No pending key: add one. Dry run first changes nothing.
	rep, r := rotate(t, dir, "--dry-run")
	if r.Code != 0 || actions(rep) != "add" || len(listKeys(t, dir)) != 1 {
		t.Fatalf("dry run: %v %v", r, rep)
	}
	rep, r = rotate(t, dir, "--lead", "1s", "--grace", "1s")
	if r.Code != 0 || actions(rep) != "add" || len(rep.Added) != 1 {
		t.Fatalf("rotate 1: %v %v", r, rep)
	}
	next := rep.Added[0]
	if l := listKeys(t, dir)[next]; l.State != "pending" || l.Signing {
		t.Fatalf("added key %+v", l)
	}
	// 2. Idempotent: it was never published, so it waits and adds nothing.
	rep, r = rotate(t, dir, "--lead", "1s", "--grace", "1s")
	if r.Code != 0 || actions(rep) != "wait" || len(listKeys(t, dir)) != 2 {
		t.Fatalf("rotate 2: %v %v", r, rep)
	}
	// The guard: activating it by hand is refused too.
	if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", next, "--lead", "1s"); r.Code != 1 || !strings.Contains(r.Stderr, "never been published") {
		t.Fatalf("activate before publication: %v", r)
	}
	// 3. Published (as 'jwks publish' records it), past the lead: activate
	// it, retire the first key, add the next pending key.
	markPublished(t, dir, next)
	ageKeys(t, dir, 2*time.Second)
	rep, r = rotate(t, dir, "--lead", "1s", "--grace", "1s")
	if r.Code != 0 || actions(rep) != "activate retire add" {
		t.Fatalf("rotate 3: %v %v", r, rep)
	}
	ks := listKeys(t, dir)
	if !ks[next].Signing || ks["first"].State != "retired" || ks["first"].StateChanged == nil {
		t.Fatalf("after activation: %+v", ks)
	}
	// Removing the signing key is refused; removing the retired key
	// inside its grace is refused.
	if r := runCLI(t, nil, "keys", "remove", "--dir", dir, "--kid", next); r.Code != 1 || !strings.Contains(r.Stderr, "signs now") {
		t.Fatalf("remove the signing key: %v", r)
	}
	if r := runCLI(t, nil, "keys", "remove", "--dir", dir, "--kid", "first", "--grace", "1h"); r.Code != 1 || !strings.Contains(r.Stderr, "grace") {
		t.Fatalf("remove inside the grace: %v", r)
	}
	// Retiring the only signing key is refused.
	if r := runCLI(t, nil, "keys", "retire", "--dir", dir, "--kid", next); r.Code != 1 || !strings.Contains(r.Stderr, "only key that can sign") {
		t.Fatalf("retire the only signer: %v", r)
	}
	// 4. Past the grace: the retired key is removed.
	ageKeys(t, dir, 2*time.Second)
	rep, r = rotate(t, dir, "--lead", "1h", "--grace", "1s")
	if r.Code != 0 || !strings.Contains(actions(rep), "remove") {
		t.Fatalf("rotate 4: %v %v", r, rep)
	}
	if _, ok := listKeys(t, dir)["first"]; ok {
		t.Fatal("the retired key was not removed")
	}
	// The plain-text plan names each step.
	r = runCLI(t, nil, "keys", "rotate", "--dir", dir, "--dry-run", "--lead", "1h")
	if r.Code != 0 || !strings.Contains(r.Stdout, "would do") || !strings.Contains(r.Stdout, "wait") {
		t.Fatalf("text plan: %v", r)
	}
}

// markPublished records a publication time through the library, as 'jwks
// publish' does after an upload.
func markPublished(t *testing.T, dir string, kids ...string) {
	t.Helper()
	if _, err := (keydir.Dir{Path: dir}).MarkPublished(context.Background(), kids, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestKeysRotateLock: two 'keys rotate' processes started together never
// interleave: one adds a key, the other is refused by the lock or finds
// the pending key already there. Never two pending keys.
func TestKeysRotateLock(t *testing.T) {
	for round := range 3 {
		dir := filepath.Join(t.TempDir(), "keys")
		if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--alg", "ES256"); r.Code != 0 {
			t.Fatal(r)
		}
		var wg sync.WaitGroup
		res := make([]result, 2)
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = runCLI(t, nil, "keys", "rotate", "--dir", dir, "--alg", "RS512", "--bits", "3072")
			}()
		}
		wg.Wait()
		pending := 0
		for _, l := range listKeys(t, dir) {
			if l.State == "pending" {
				pending++
			}
		}
		locked := 0
		for _, r := range res {
			if r.Code != 0 {
				if !strings.Contains(r.Stderr, "locked") {
					t.Fatalf("round %d: a rotate failed for another reason: %v", round, r)
				}
				locked++
			}
		}
		if pending != 1 {
			t.Fatalf("round %d: %d pending keys after two concurrent rotations (%v)", round, pending, res)
		}
		t.Logf("round %d: %d of 2 runs refused by the lock", round, locked)
	}
}

// TestCheckWarnsAboutAge: check warns when the signing key is older than
// --max-age, and when --every says a rotation is due within the lead and no
// pending key is published; a published pending key silences the second.
func TestCheckWarnsAboutAge(t *testing.T) {
	dir, flags := localEmulator(t)
	ageKeys(t, dir, 2*time.Second)
	r := runCLI(t, nil, append([]string{"check", "--no-token", "--max-age", "1s", "--every", "1h"}, flags...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "older than --max-age 1s") || !strings.Contains(r.Stdout, "no pending key is published") {
		t.Fatalf("check of an old key with a rotation due: %v", r)
	}
	if r := runCLI(t, nil, append([]string{"check", "--no-token"}, flags...)...); strings.Contains(r.Stdout, "warn  keys   the signing key") || strings.Contains(r.Stdout, "no pending key") {
		t.Fatalf("check with the defaults warned: %v", r)
	}
	gen := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048", "--state", "pending")
	if gen.Code != 0 {
		t.Fatal(gen)
	}
	markPublished(t, dir, strings.TrimSpace(gen.Stdout))
	r = runCLI(t, nil, append([]string{"check", "--no-token", "--every", "1h"}, flags...)...)
	if strings.Contains(r.Stdout, "no pending key is published") || !strings.Contains(r.Stdout, "is pending: published") {
		t.Fatalf("check with a published pending key: %v", r)
	}
}
