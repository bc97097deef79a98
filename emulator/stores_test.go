package emulator

import (
	"fmt"
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
	now = now.Add(JTITTL + time.Second)
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
	now = now.Add(599*time.Second + ExpiredTokenGrace + time.Second)
	s.add("fresh", tokenInfo{Expires: now.Add(time.Minute)}, now)
	if n := s.len(); n != 1 {
		t.Errorf("len %d after expiry + grace, want 1", n)
	}
}

func TestTokenStoreKeepsExpiredDuringGrace(t *testing.T) {
	s := newTokenStore(10)
	now := time.Unix(1_700_000_000, 0)
	s.add("t", tokenInfo{Expires: now.Add(time.Minute)}, now)
	info, ok := s.lookup("t", now.Add(time.Minute+ExpiredTokenGrace))
	if !ok || !info.Expires.Equal(now.Add(time.Minute)) {
		t.Error("expired token forgotten during grace")
	}
	if _, ok := s.lookup("t", now.Add(time.Minute+ExpiredTokenGrace+time.Nanosecond)); ok {
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
