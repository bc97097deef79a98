package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// signingKID returns the kid 'keys list' marks as signing, or "".
func signingKID(t *testing.T, dir string) string {
	t.Helper()
	for kid, l := range listKeys(t, dir) {
		if l.Signing {
			return kid
		}
	}
	return ""
}

// genKey runs 'keys generate' (ES256, fast) and returns the kid.
func genKey(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := runCLI(t, nil, append([]string{"keys", "generate", "--dir", dir, "--alg", "ES256"}, args...)...)
	if r.Code != 0 {
		t.Fatalf("keys generate: %v", r)
	}
	return strings.TrimSpace(r.Stdout)
}

// TestRetireThenActivateBypass is the first bypass of issue 15 item 3:
// 'keys retire' on a pending key that was never published, then 'keys
// activate', made it the signing key ("rollback: … signs again") with no
// --force. Retiring a key that never signed is now refused with a pointer
// to 'keys remove', and activating the pending key stays refused.
func TestRetireThenActivateBypass(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	first := genKey(t, dir)
	pending := genKey(t, dir, "--state", "pending")

	r := runCLI(t, nil, "keys", "retire", "--dir", dir, "--kid", pending)
	if r.Code != 1 || !strings.Contains(r.Stderr, "never signed") || !strings.Contains(r.Stderr, "pkjwt keys remove --kid "+pending) {
		t.Errorf("retire of a pending key: %v", r)
	}
	if l := listKeys(t, dir)[pending]; l.State != "pending" {
		t.Errorf("after a refused retire the key is %s", l.State)
	}
	r = runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", pending)
	if r.Code != 1 || strings.Contains(r.Stderr, "rollback: ") || !strings.Contains(r.Stderr, "never been published") {
		t.Errorf("activate after the retire: %v", r)
	}
	if s := signingKID(t, dir); s != first {
		t.Fatalf("the signing key is %s, want %s: the never-published key signs", s, first)
	}
	// The way out the refusal names works: the pending key is removed.
	if r := runCLI(t, nil, "keys", "remove", "--dir", dir, "--kid", pending); r.Code != 0 {
		t.Fatalf("keys remove of the pending key: %v", r)
	}
}

// TestForcedActivationIsNoRollback is the second bypass of issue 15 item
// 3: after a forced early activation and a rollback, typing 'activate'
// again re-activated the early key at once, and NHS England answers 401
// "Invalid 'kid'" for up to an hour. A forced activation does not count as
// published long enough: the second activation goes through the lead-time
// guard, while the rollback to the key that signed before stays immediate.
func TestForcedActivationIsNoRollback(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	first := genKey(t, dir)
	early := genKey(t, dir, "--state", "pending")
	markPublished(t, dir, first, early) // 'jwks publish' now: the new key is seconds old

	r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", early)
	if r.Code != 1 || !strings.Contains(r.Stderr, "safe to activate from") {
		t.Fatalf("activate inside the lead: %v", r)
	}
	r = runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", early, "--force")
	if r.Code != 0 || !strings.Contains(r.Stderr, "warning: --force") || signingKID(t, dir) != early {
		t.Fatalf("activate --force: %v", r)
	}
	if ks := listKeys(t, dir); ks[first].Signed == nil || ks[early].Signed != nil {
		t.Fatalf("signed dates after a forced activation: first %v, early %v; want the first key's only", ks[first].Signed, ks[early].Signed)
	}
	// The rollback: the first key signed (it is the directory's first
	// key) and is still published, so it signs again at once.
	r = runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", first)
	if r.Code != 0 || !strings.Contains(r.Stderr, "rollback: "+first) || signingKID(t, dir) != first {
		t.Fatalf("rollback to the first key: %v", r)
	}
	// Activating the early key again is no rollback: refused until its
	// publication is a lead old, and the first key keeps signing.
	r = runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", early)
	if r.Code != 1 || strings.Contains(r.Stderr, "rollback: ") || !strings.Contains(r.Stderr, "not a rollback") || !strings.Contains(r.Stderr, "safe to activate from") {
		t.Errorf("activate of the early key after the rollback: %v", r)
	}
	if s := signingKID(t, dir); s != first {
		t.Fatalf("the signing key is %s, want %s: the early key signs again without the lead", s, first)
	}
}
