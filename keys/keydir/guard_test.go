package keydir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// signedAt sets k's Signed date and returns k.
func signedAt(k *keys.Key, t time.Time) *keys.Key {
	k.Signed = t
	return k
}

// TestCheckActivateRollback: a retired key signs again at once only when it
// signed before (Signed is set); every other activation waits for the lead
// after publication, whatever the key's state.
func TestCheckActivateRollback(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	m := time.Minute
	cases := []struct {
		name      string
		st        keys.State
		published time.Duration // ago; 0: never
		signed    time.Duration // ago; 0: never
		lead      time.Duration
		wantErr   bool
		wantText  string // a fragment of the refusal
	}{
		{"retired, signed after the lead: rollback", keys.StateRetired, 200 * m, 100 * m, keydir.DefaultLead, false, ""},
		{"retired, signed as the first key, never recorded as published", keys.StateRetired, 0, 100 * m, keydir.DefaultLead, false, ""},
		{"retired, signed, even with a longer lead", keys.StateRetired, 70 * m, 2 * m, 10 * time.Hour, false, ""},
		{"retired, never signed, never published (retired while pending)", keys.StateRetired, 0, 0, keydir.DefaultLead, true, "never been published"},
		{"retired, never signed, published 10 min ago (forced early, rolled back)", keys.StateRetired, 10 * m, 0, keydir.DefaultLead, true, "not a rollback"},
		{"retired, never signed, published 66 min ago", keys.StateRetired, 66 * m, 0, keydir.DefaultLead, false, ""},
		{"pending, published 64 min ago", keys.StatePending, 64 * m, 0, keydir.DefaultLead, true, "safe to activate from"},
		{"pending, published 66 min ago", keys.StatePending, 66 * m, 0, keydir.DefaultLead, false, ""},
		{"pending with a Signed date is still pending", keys.StatePending, 10 * m, 5 * m, keydir.DefaultLead, true, "safe to activate from"},
		{"active, forced early: not safe yet", keys.StateActive, 10 * m, 0, keydir.DefaultLead, true, "safe to activate from"},
		{"active, signed", keys.StateActive, 100 * m, 30 * m, keydir.DefaultLead, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := ecKey(t, now, tc.st, 300*m, tc.published, m)
			if tc.signed > 0 {
				k.Signed = now.Add(-tc.signed)
			}
			err := keydir.CheckActivate(k, now, tc.lead)
			if tc.wantErr != (err != nil) || err != nil && !errors.Is(err, keydir.ErrTooEarly) {
				t.Fatalf("err %v, want an error: %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("refusal %q lacks %q", err, tc.wantText)
			}
		})
	}
}

func TestCheckRetire(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		st      keys.State
		wantErr bool
	}{{keys.StatePending, true}, {keys.StateActive, false}, {keys.StateRetired, false}} {
		k := ecKey(t, now, tc.st, time.Hour, 0, 0)
		err := keydir.CheckRetire(k)
		if tc.wantErr != (err != nil) || err != nil && (!errors.Is(err, keydir.ErrBadTransition) || !strings.Contains(err.Error(), "keys remove --kid "+k.ID)) {
			t.Errorf("%s: %v", tc.st, err)
		}
	}
}

// TestGuardSequences drives the library's life-cycle calls on a key
// directory, step by step on a fake clock: first key A (it signed from
// the start), pending key P made at 0. No sequence lets a key sign before
// it has been published for the lead, unless forced, and a forced
// activation never counts afterwards.
func TestGuardSequences(t *testing.T) {
	start := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	m := time.Minute
	type op struct {
		at      time.Duration
		verb    string // publish (both keys), activate, force, retire, apply-activate
		key     string // A or P
		wantErr error
	}
	cases := []struct {
		name       string
		legacyA    bool // A has no Signed date (recorded before pkjwt kept one)
		ops        []op
		wantSigned map[string]bool // whether each key ends with a Signed date
	}{
		{"the issue's first bypass: retire a never-published pending key, then activate it", false, []op{
			{0, "retire", "P", keydir.ErrBadTransition},
			{m, "activate", "P", keydir.ErrTooEarly},
			{m, "apply-activate", "P", keydir.ErrTooEarly},
		}, map[string]bool{"A": true, "P": false}},
		{"the issue's second bypass: forced early activation, rollback, activate again", false, []op{
			{0, "publish", "", nil},
			{10 * m, "activate", "P", keydir.ErrTooEarly},
			{10 * m, "force", "P", nil},
			{11 * m, "activate", "A", nil}, // the rollback: at once
			{11 * m, "retire", "P", nil},
			{12 * m, "activate", "P", keydir.ErrTooEarly},
			{12 * m, "activate", "P", keydir.ErrTooEarly}, // typing it again changes nothing
			{66 * m, "activate", "P", nil},                // a lead after publication: allowed, and now it counts
		}, map[string]bool{"A": true, "P": true}},
		{"a guarded activation and rollbacks both ways", false, []op{
			{0, "publish", "", nil},
			{66 * m, "apply-activate", "P", nil},
			{67 * m, "retire", "A", nil},
			{70 * m, "activate", "A", nil},
			{70 * m, "retire", "P", nil},
			{71 * m, "activate", "P", nil},
		}, map[string]bool{"A": true, "P": true}},
		{"a legacy retired key goes through the lead", true, []op{
			{0, "publish", "", nil},
			{66 * m, "activate", "P", nil},
			{66 * m, "retire", "A", nil},
			{67 * m, "force", "A", nil}, // published 67 min ago: passes the guard, no force needed in fact
			{68 * m, "activate", "P", nil},
		}, map[string]bool{"A": true, "P": true}},
		{"a legacy key retired before publication is recorded waits", true, []op{
			{0, "activate", "P", keydir.ErrTooEarly},
			{0, "force", "P", nil},
			{0, "retire", "A", nil},
			{m, "activate", "A", keydir.ErrTooEarly},
			{m, "publish", "", nil},
			{30 * m, "activate", "A", keydir.ErrTooEarly},
			{67 * m, "activate", "A", nil},
		}, map[string]bool{"A": true, "P": false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
			a := ecKey(t, start, keys.StateActive, 0, 0, 0)
			p := ecKey(t, start, keys.StatePending, 0, 0, 0)
			for _, k := range []*keys.Key{a, p} {
				if err := d.Save(k); err != nil {
					t.Fatal(err)
				}
			}
			if tc.legacyA { // a directory's first key saved by a pkjwt that wrote no signed date
				thumb, err := keys.Thumbprint(a.Public())
				if err != nil {
					t.Fatal(err)
				}
				editMeta(t, filepath.Join(d.Path, thumb+".json"), func(m map[string]any) { delete(m, "signed") })
			}
			kid := map[string]string{"A": a.ID, "P": p.ID}
			for i, o := range tc.ops {
				now := start.Add(o.at)
				var err error
				ctx := context.Background()
				switch o.verb {
				case "publish":
					_, err = d.MarkPublished(ctx, []string{a.ID, p.ID}, now)
				case "activate", "force":
					err = d.Update(ctx, func(tx *keydir.Tx) error {
						return tx.Activate(kid[o.key], now, keydir.DefaultLead, o.verb == "force")
					})
				case "retire":
					err = d.Update(ctx, func(tx *keydir.Tx) error { return tx.SetState(kid[o.key], keys.StateRetired, now) })
				case "apply-activate": // a hand-made plan step: Apply re-checks it
					err = d.Update(ctx, func(tx *keydir.Tx) error {
						_, err := tx.Apply(ctx, []keydir.Step{{Action: keydir.ActionActivate, KID: kid[o.key]}}, now, keydir.Policy{})
						return err
					})
				}
				if !errors.Is(err, o.wantErr) || (o.wantErr == nil) != (err == nil) {
					t.Fatalf("step %d (%s %s at +%s): %v, want %v", i, o.verb, o.key, o.at, err, o.wantErr)
				}
				if o.wantErr != nil && (o.verb == "activate" || o.verb == "apply-activate") {
					k, _ := d.Load(kid[o.key])
					if k.State == keys.StateActive && o.key == "P" {
						t.Fatalf("step %d: a refused activation left %s active", i, o.key)
					}
				}
			}
			ring, err := d.LoadRing()
			if err != nil {
				t.Fatal(err)
			}
			for label, want := range tc.wantSigned {
				k, _ := ring.Lookup(kid[label])
				if got := !k.Signed.IsZero(); got != want {
					t.Errorf("%s Signed = %v, want set: %v", label, k.Signed, want)
				}
			}
		})
	}
}

// TestSetStateCannotActivateEarly: SetState is no back door round the
// lead-time guard.
func TestSetStateCannotActivateEarly(t *testing.T) {
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	now := time.Now()
	p := ecKey(t, now, keys.StatePending, time.Hour, 10*time.Minute, 0)
	if err := d.Save(p); err != nil {
		t.Fatal(err)
	}
	setActive := func(at time.Time) error {
		return d.Update(context.Background(), func(tx *keydir.Tx) error { return tx.SetState(p.ID, keys.StateActive, at) })
	}
	if err := setActive(now); !errors.Is(err, keydir.ErrTooEarly) {
		t.Fatalf("SetState(active) 10 min after publication: %v", err)
	}
	if err := setActive(now.Add(keydir.DefaultLead)); err != nil {
		t.Fatal(err)
	}
	k, err := d.Load(p.ID)
	if err != nil || k.State != keys.StateActive || k.Signed.IsZero() {
		t.Fatalf("after a guarded SetState(active): %+v %v", k, err)
	}
}

// TestSignedDateStored: the Signed date round-trips through the key
// directory's metadata, and a key without one is written without the
// member, as older pkjwt wrote every file, and loads with none.
func TestSignedDateStored(t *testing.T) {
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	for _, signed := range []time.Time{{}, now} {
		d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
		k := signedAt(ecKey(t, now, keys.StateRetired, time.Hour, 0, time.Minute), signed)
		if err := d.Save(k); err != nil {
			t.Fatal(err)
		}
		name, err := keys.Thumbprint(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(d.Path, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), `"signed"`) == signed.IsZero() {
			t.Fatalf("metadata for Signed %v:\n%s", signed, raw)
		}
		got, err := d.Load(k.ID)
		if err != nil || !got.Signed.Equal(signed) {
			t.Fatalf("loaded Signed %v, %v; want %v", got.Signed, err, signed)
		}
	}
}

// TestAddFirstKeyHasSigned: only the first key of a directory, added
// active, is saved as having signed (the key the app is registered with);
// a second active key or a pending one is not.
func TestAddFirstKeyHasSigned(t *testing.T) {
	d := keydir.Dir{Path: filepath.Join(t.TempDir(), "keys")}
	now := time.Now()
	for i, tc := range []struct {
		state      keys.State
		wantSigned bool
	}{
		{keys.StateActive, true},   // the first key
		{keys.StateActive, false},  // added active next to it: like a forced activation
		{keys.StatePending, false}, // waits for a guarded activation
	} {
		k := ecKey(t, now, tc.state, 0, 0, 0)
		if err := d.Save(k); err != nil {
			t.Fatal(err)
		}
		got, err := d.Load(k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Signed.IsZero() != tc.wantSigned {
			t.Errorf("key %d (%s): Signed = %v, want set: %v", i, tc.state, got.Signed, tc.wantSigned)
		}
	}
}
