package emulator

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// TestJWKSNewKidNotRefetched: a kid added after the first fetch is
// rejected (row 23) until the cache TTL passes, like NHS.
func TestJWKSNewKidNotRefetched(t *testing.T) {
	_, newKey := testKeys(t)
	e := newTestEnv(t, nil)
	if r := e.post(form(e.sign(e.claims(), signOpts{}))); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	e.jwks.addKey("test-2", &newKey.PublicKey)
	newAssertion := func() url.Values {
		return form(e.sign(e.claims(), signOpts{key: newKey, kid: strp("test-2")}))
	}
	assertTokenError(t, e.post(newAssertion()), 401, "invalid_request", descNoKey)
	e.clock.Advance(59 * time.Minute)
	assertTokenError(t, e.post(newAssertion()), 401, "invalid_request", descNoKey)
	if got := e.jwks.gets.Load(); got != 1 {
		t.Errorf("JWKS fetched %d times within the TTL, want 1", got)
	}
	e.clock.Advance(time.Minute)
	if r := e.post(newAssertion()); r.status != 200 {
		t.Fatalf("after TTL: %d %s", r.status, r.body)
	}
	if got := e.jwks.gets.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times, want 2", got)
	}
	if ua, _ := e.jwks.lastUA.Load().(string); ua != "APIM" {
		t.Errorf("User-Agent = %q, want APIM", ua)
	}
}

func TestJWKSRefetchUnknownKid(t *testing.T) {
	_, newKey := testKeys(t)
	e := newTestEnv(t, func(c *Config) { c.RefetchUnknownKid = true })
	if r := e.post(form(e.sign(e.claims(), signOpts{}))); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	e.jwks.addKey("test-2", &newKey.PublicKey)
	if r := e.post(form(e.sign(e.claims(), signOpts{key: newKey, kid: strp("test-2")}))); r.status != 200 {
		t.Fatalf("new kid with RefetchUnknownKid: %d %s", r.status, r.body)
	}
	// A known kid does not refetch.
	if r := e.post(form(e.sign(e.claims(), signOpts{}))); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := e.jwks.gets.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times, want 2", got)
	}
}

func TestJWKSConfiguredTTL(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.JWKSCacheTTL = time.Minute })
	for i := 0; i < 2; i++ {
		if r := e.post(form(e.sign(e.claims(), signOpts{}))); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	e.clock.Advance(time.Minute)
	if r := e.post(form(e.sign(e.claims(), signOpts{}))); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := e.jwks.gets.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times, want 2", got)
	}
}

// TestJWKSConcurrentFetchCoalesced: concurrent first requests produce one
// HTTP GET of the JWKS.
func TestJWKSConcurrentFetchCoalesced(t *testing.T) {
	e := newTestEnv(t, nil)
	e.jwks.set(func(js *jwksServer) { js.delay = 200 * time.Millisecond })
	const n = 16
	forms := make([]url.Values, n)
	for i := range forms {
		forms[i] = form(e.sign(e.claims(), signOpts{}))
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Go(func() { statuses[i] = e.post(forms[i]).status })
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("request %d: status %d", i, s)
		}
	}
	if got := e.jwks.gets.Load(); got != 1 {
		t.Errorf("JWKS fetched %d times, want 1", got)
	}
}

// TestJWKSFetchFailureNotCached: a failed fetch is not cached; the next
// request fetches again.
func TestJWKSFetchFailureNotCached(t *testing.T) {
	e := newTestEnv(t, nil)
	e.jwks.set(func(js *jwksServer) { js.status = http.StatusServiceUnavailable })
	assertTokenError(t, e.post(form(e.sign(e.claims(), signOpts{}))), 403, "public_key error", descJWKSDown)
	e.jwks.set(func(js *jwksServer) { js.status = http.StatusOK })
	if r := e.post(form(e.sign(e.claims(), signOpts{}))); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestJWKSFetchTimeout(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.JWKSFetchTimeout = 100 * time.Millisecond })
	e.jwks.set(func(js *jwksServer) { js.delay = 2 * time.Second })
	start := time.Now()
	assertTokenError(t, e.post(form(e.sign(e.claims(), signOpts{}))), 403, "public_key error", descJWKSDown)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %v", d)
	}
}

func TestJWKSCacheBounded(t *testing.T) {
	key, _ := testKeys(t)
	js := newJWKSServer(t)
	js.addKey("k", &key.PublicKey)
	clock := newFakeClock()
	c := &jwksCache{client: js.Client(), ttl: time.Hour, timeout: time.Second, max: 3, now: clock.Now, entries: map[string]jwksEntry{}}
	for i := 0; i < 10; i++ {
		clock.Advance(time.Second)
		keys, err := c.keysFor(t.Context(), js.URL+"/jwks/"+string(rune('a'+i)), "k")
		if err != nil || len(keys) != 1 {
			t.Fatalf("%d: %v %d", i, err, len(keys))
		}
	}
	if n, fetches := c.stats(); n != 3 || fetches != 10 {
		t.Errorf("entries %d fetches %d, want 3 and 10", n, fetches)
	}
	// The newest URLs are kept.
	if _, err := c.keysFor(t.Context(), js.URL+"/jwks/j", "k"); err != nil {
		t.Fatal(err)
	}
	if _, fetches := c.stats(); fetches != 10 {
		t.Errorf("newest entry was evicted")
	}
}
