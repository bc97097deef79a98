package emulator

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestJTIStoreBounded: a long run inserting far more pairs than the bound
// keeps the store bounded; entries whose assertion expired are evicted,
// and a store full of live entries refuses instead of forgetting one.
func TestJTIStoreBounded(t *testing.T) {
	const max = 1000
	s := newJTIStore(max)
	now := time.Unix(1_700_000_000, 0)
	for i := 0; i < 50*max; i++ {
		now = now.Add(time.Second)
		if r := s.add("app", fmt.Sprint(i), now.Add(300*time.Second), now); r == jtiSeen {
			t.Fatalf("%d seen", i)
		} else if r == jtiFull && i < max+300 {
			// Refusal is expected only while the oldest assertion is live.
			continue
		}
		if n := s.len(); n > max {
			t.Fatalf("len %d > %d", n, max)
		}
	}
	if n := s.len(); n != max {
		t.Errorf("len %d, want %d", n, max)
	}
	// A recent pair is still remembered.
	last := fmt.Sprint(50*max - 1)
	if !s.seen("app", last, now) || s.add("app", last, now.Add(300*time.Second), now) != jtiSeen {
		t.Errorf("recent jti forgotten")
	}
}

func TestJTIStoreFullOfLiveEntriesRefuses(t *testing.T) {
	s := newJTIStore(3)
	now := time.Unix(1_700_000_000, 0)
	for i := 0; i < 3; i++ {
		if s.add("a", fmt.Sprint(i), now.Add(300*time.Second), now) != jtiStored {
			t.Fatal("not stored")
		}
	}
	if r := s.add("a", "x", now.Add(300*time.Second), now); r != jtiFull {
		t.Fatalf("add to full store = %v, want jtiFull", r)
	}
	for i := 0; i < 3; i++ {
		if !s.seen("a", fmt.Sprint(i), now) {
			t.Errorf("live jti %d forgotten", i)
		}
	}
	later := now.Add(301 * time.Second)
	if r := s.add("a", "x", later.Add(300*time.Second), later); r != jtiStored {
		t.Fatalf("after the assertions expired: %v", r)
	}
	if s.seen("a", "0", later) || !s.seen("a", "1", later) {
		t.Errorf("wrong entry evicted")
	}
}

func TestJTIStorePurgesAfter30Days(t *testing.T) {
	s := newJTIStore(100)
	now := time.Unix(1_700_000_000, 0)
	for i := 0; i < 50; i++ {
		s.add("a", fmt.Sprint(i), now.Add(time.Minute), now)
	}
	now = now.Add(jtiTTL + time.Second)
	s.add("a", "new", now.Add(time.Minute), now)
	if n := s.len(); n != 1 {
		t.Errorf("len %d after 30 days, want 1", n)
	}
}

// TestTokenStoreBounded: a long run keeps the token store bounded and
// purges expired tokens after the grace period.
func TestTokenStoreBounded(t *testing.T) {
	const max = 500
	s := newTokenStore(max)
	now := time.Unix(1_700_000_000, 0)
	var last string
	for i := 0; i < 40*max; i++ {
		now = now.Add(100 * time.Millisecond)
		last = fmt.Sprint("tok", i)
		s.add(last, tokenInfo{AppName: "a", Expires: now.Add(599 * time.Second)}, now)
		if n := s.len(); n > max {
			t.Fatalf("len %d > %d", n, max)
		}
	}
	if _, ok := s.lookup(last, now); !ok {
		t.Error("newest token missing")
	}
	if _, ok := s.lookup("tok0", now); ok {
		t.Error("oldest token still present")
	}
	// Everything expires and is purged after the grace period.
	now = now.Add(599*time.Second + expiredTokenGrace + time.Second)
	s.add("fresh", tokenInfo{Expires: now.Add(time.Minute)}, now)
	if n := s.len(); n != 1 {
		t.Errorf("len %d after expiry + grace, want 1", n)
	}
}

func TestTokenStoreKeepsExpiredDuringGrace(t *testing.T) {
	s := newTokenStore(10)
	now := time.Unix(1_700_000_000, 0)
	s.add("t", tokenInfo{Expires: now.Add(time.Minute)}, now)
	info, ok := s.lookup("t", now.Add(time.Minute+expiredTokenGrace))
	if !ok || !info.Expires.Equal(now.Add(time.Minute)) {
		t.Error("expired token forgotten during grace")
	}
	if _, ok := s.lookup("t", now.Add(time.Minute+expiredTokenGrace+time.Nanosecond)); ok {
		t.Error("token found after grace")
	}
	for h := range s.entries {
		if string(h[:]) == "t" {
			t.Error("raw token stored")
		}
	}
}

func TestStoreFullRow(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxJTIs = 2 })
	for i := 0; i < 2; i++ {
		if r := e.post(form(e.sign(e.claims(), signOpts{}))); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	assertTokenError(t, e.post(form(e.sign(e.claims(), signOpts{}))), 503, "temporarily_unavailable",
		"The emulator's jti store is full of unexpired assertions; retry later")
	e.clock.Advance(301 * time.Second)
	if r := e.post(form(e.sign(e.claims(), signOpts{}))); r.status != 200 {
		t.Fatalf("after expiry: %d %s", r.status, r.body)
	}
}

// TestJTIStoreEntrySizeFixed: the jti store is fed before any API-key or
// signature check, so its entries must not grow with the length of sub
// and jti: the key is a fixed-size hash that holds no reference to the
// request's strings. Replays are still detected.
func TestJTIStoreEntrySizeFixed(t *testing.T) {
	if typ := reflect.TypeOf(jtiKey{}); !pointerFree(typ) || typ.Size() > 64 {
		t.Errorf("jtiKey is %v (%d bytes): it must be a small value holding no strings or pointers", typ, typ.Size())
	}

	const n = 400
	const size = 40 << 10 // 40 KiB sub and jti: 32 MiB in all if kept
	s := newJTIStore(n)
	now := time.Unix(1_700_000_000, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		sub := strings.Repeat("s", size-8) + fmt.Sprintf("%08d", i)
		jti := strings.Repeat("j", size-8) + fmt.Sprintf("%08d", i)
		if r := s.add(sub, jti, now.Add(300*time.Second), now); r != jtiStored {
			t.Fatalf("add %d = %v", i, r)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if perEntry := grown / n; perEntry > 2<<10 {
		t.Errorf("the jti store holds %d bytes per entry for %d-byte sub and jti; want a fixed small size", perEntry, size)
	}
	runtime.KeepAlive(s)

	sub, jti := strings.Repeat("s", size-8)+"00000007", strings.Repeat("j", size-8)+"00000007"
	if !s.seen(sub, jti, now) || s.add(sub, jti, now.Add(300*time.Second), now) != jtiSeen {
		t.Error("replay of a stored long pair not detected")
	}
	if s.seen(sub, jti+"x", now) || s.seen(sub+"x", jti, now) {
		t.Error("a different pair is reported as seen")
	}
	// The key is unambiguous: moving bytes between sub and jti (NUL
	// included) gives a different pair.
	s2 := newJTIStore(10)
	s2.add("app\x00x", "y", now.Add(time.Minute), now)
	if s2.seen("app", "x\x00y", now) || s2.seen("app\x00", "xy", now) {
		t.Error("distinct (sub, jti) pairs collide")
	}
	if !s2.seen("app\x00x", "y", now) {
		t.Error("stored pair not seen")
	}
}

// pointerFree reports whether values of t hold no pointers (no strings,
// slices, maps, pointers, interfaces, …).
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return pointerFree(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
