package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// ageKeys moves every date in the metadata files of the key directory dir
// (created, not_before, published, state_changed) d into the past: to the
// commands that read the directory, d has passed. Tests use it instead of
// sleeping past a lead, a grace or a maximum age. Each file is replaced
// whole (rename), so that a server watching dir never reads half of one.
func ageKeys(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no key metadata in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, field := range []string{"created", "not_before", "published", "state_changed"} {
			raw, ok := m[field]
			if !ok {
				continue
			}
			var at time.Time
			if err := json.Unmarshal(raw, &at); err != nil {
				t.Fatalf("%s: %s: %v", f, field, err)
			}
			if m[field], err = json.Marshal(at.Add(-d)); err != nil {
				t.Fatal(err)
			}
		}
		out, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		tmp := f + ".aged"
		if err := os.WriteFile(tmp, append(out, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f); err != nil {
			t.Fatal(err)
		}
	}
}

// testClock is time.Now moved forward by what Advance added: a clock for an
// in-process emulator (emulator.Config.Now) that a test moves with the key
// directory's dates (ageKeys), so that its JWKS cache runs out without a
// sleep.
type testClock struct{ offset atomic.Int64 }

// Now is the wall clock plus the offset.
func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock d forward.
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// TestAgeKeys: after ageKeys, 'keys list' shows every date d earlier and
// nothing else changed.
func TestAgeKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--alg", "ES256", "--kid", "aged"); r.Code != 0 {
		t.Fatal(r)
	}
	markPublished(t, dir, "aged")
	before := listKeys(t, dir)["aged"]
	ageKeys(t, dir, time.Hour)
	after := listKeys(t, dir)["aged"]
	if !after.Created.Equal(before.Created.Add(-time.Hour)) || after.Published == nil || !after.Published.Equal(before.Published.Add(-time.Hour)) {
		t.Fatalf("before %+v\nafter %+v", before, after)
	}
	if after.State != before.State || after.Signing != before.Signing || after.Algorithm != before.Algorithm {
		t.Fatalf("ageKeys changed more than dates: before %+v\nafter %+v", before, after)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.aged")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}
