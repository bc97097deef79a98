package emulator

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// JWKS fetch limits.
const (
	// DefaultJWKSCacheTTL is how long a fetched JWKS is cached (NHS: 3600 s).
	DefaultJWKSCacheTTL = time.Hour
	// defaultJWKSFetchTimeout bounds one JWKS fetch (NHS: 55 s; the emulator
	// is stricter so that a test never hangs).
	defaultJWKSFetchTimeout = 10 * time.Second
	// maxJWKSBytes is the most the emulator reads of a JWKS response; a
	// larger body is a fetch failure (row 22).
	maxJWKSBytes = 1 << 20
	// defaultMaxJWKSEntries bounds the JWKS cache (one entry per URL); when
	// it is full the entry fetched longest ago is evicted.
	defaultMaxJWKSEntries = 1024
	// jwksUserAgent is the User-Agent NHS sends.
	jwksUserAgent = "APIM"
)

// jwksURLPattern is NHS's check of the JWKS URL: a scheme, a host and a path.
var jwksURLPattern = regexp.MustCompile(`^(https?://[^/]+)(/.*)$`)

// errJWKSFetch marks every failure to obtain a JWKS (row 22).
var errJWKSFetch = errors.New("emulator: JWKS fetch failed")

// keySet is a parsed JWKS: the RSA public keys by kid. A key that is not
// RSA, or does not parse, is left out, so asking for its kid finds nothing
// (row 23).
type keySet struct {
	byKid map[string][]*rsa.PublicKey
}

// parseKeySet parses a JWKS body. A body that is not a JWKS yields an empty
// set: NHS caches any successful response as it is [I], so a broken JWKS
// shows up as "no matching public key" rather than as unreachable.
func parseKeySet(body []byte) keySet {
	ks := keySet{byKid: map[string][]*rsa.PublicKey{}}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return ks
	}
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		// A JWK that leaked its private members still verifies with its
		// public half (four such entries exist in NHS's registry).
		var pub *rsa.PublicKey
		switch key := k.Key.(type) {
		case *rsa.PublicKey:
			pub = key
		case *rsa.PrivateKey:
			pub = &key.PublicKey
		default:
			continue // not RSA: cannot verify RS512
		}
		ks.byKid[k.KeyID] = append(ks.byKid[k.KeyID], pub)
	}
	return ks
}

type jwksEntry struct {
	keys      keySet
	fetchedAt time.Time
}

// jwksCache fetches and caches JWKS documents per URL, like NHS: a cached
// set is used for ttl and, unless refetchUnknownKid, is not refetched when
// the kid is unknown. Concurrent fetches of one URL are coalesced.
type jwksCache struct {
	client            *http.Client
	ttl               time.Duration
	timeout           time.Duration
	refetchUnknownKid bool
	max               int
	now               func() time.Time

	group singleflight.Group

	mu      sync.Mutex
	entries map[string]jwksEntry
	fetches int // number of HTTP fetches started, for tests and logs
}

// keysFor returns the RSA keys with the given kid from the JWKS at url.
// The error wraps errJWKSFetch when the JWKS cannot be obtained.
func (c *jwksCache) keysFor(ctx context.Context, url, kid string) ([]*rsa.PublicKey, error) {
	if !jwksURLPattern.MatchString(url) {
		return nil, fmt.Errorf("%w: URL %q has no path", errJWKSFetch, url)
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[url]
	c.mu.Unlock()
	if ok && now.Sub(e.fetchedAt) < c.ttl {
		if keys := e.keys.byKid[kid]; len(keys) > 0 || !c.refetchUnknownKid {
			return keys, nil
		}
	}
	ks, err := c.fetch(ctx, url)
	if err != nil {
		return nil, err
	}
	return ks.byKid[kid], nil
}

// fetch gets url once for all concurrent callers and caches the result.
// The HTTP request runs under its own timeout and is not cancelled when the
// first caller goes away (other callers may be waiting on it); each caller
// stops waiting when its own context ends.
func (c *jwksCache) fetch(ctx context.Context, url string) (keySet, error) {
	ch := c.group.DoChan(url, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		body, err := c.get(fctx, url)
		if err != nil {
			return nil, err
		}
		ks := parseKeySet(body)
		c.store(url, jwksEntry{keys: ks, fetchedAt: c.now()})
		return ks, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return keySet{}, res.Err
		}
		return res.Val.(keySet), nil
	case <-ctx.Done():
		return keySet{}, fmt.Errorf("%w: %w", errJWKSFetch, ctx.Err())
	}
}

func (c *jwksCache) get(ctx context.Context, url string) ([]byte, error) {
	c.mu.Lock()
	c.fetches++
	c.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errJWKSFetch, err)
	}
	req.Header.Set("User-Agent", jwksUserAgent)
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errJWKSFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%w: status %d", errJWKSFetch, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %w", errJWKSFetch, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("%w: body larger than %d bytes", errJWKSFetch, maxJWKSBytes)
	}
	return body, nil
}

// store caches an entry, evicting the oldest fetch when the cache is full.
func (c *jwksCache) store(url string, e jwksEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[url]; !ok {
		for len(c.entries) >= c.max {
			var oldest string
			var oldestAt time.Time
			first := true
			for u, ent := range c.entries {
				if first || ent.fetchedAt.Before(oldestAt) {
					oldest, oldestAt, first = u, ent.fetchedAt, false
				}
			}
			delete(c.entries, oldest)
		}
	}
	c.entries[url] = e
}

// stats returns the number of cached URLs and of HTTP fetches started.
func (c *jwksCache) stats() (entries, fetches int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.fetches
}
