package emulator

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"sync"
	"time"
)

// Store bounds and lifetimes.
const (
	// defaultMaxJTIs is the default bound of the jti store.
	defaultMaxJTIs = 100_000
	// defaultMaxTokens is the default bound of the token store.
	defaultMaxTokens = 100_000
	// jtiTTL is how long NHS remembers a (sub, jti) pair: 30 days
	// (PopulateCache.JTIClaim, 2592000 s).
	jtiTTL = 30 * 24 * time.Hour
	// expiredTokenGrace is how long an expired token is kept so that the PDS
	// API can answer "Access Token expired" rather than "Invalid Access
	// Token". After it the token is purged.
	expiredTokenGrace = time.Hour
)

// fifo is a queue of keys in insertion order, backed by a slice that is
// compacted when half of it is consumed.
type fifo[K comparable] struct {
	items []K
	head  int
}

func (q *fifo[K]) push(k K) { q.items = append(q.items, k) }

func (q *fifo[K]) front() (K, bool) {
	var zero K
	if q.head >= len(q.items) {
		return zero, false
	}
	return q.items[q.head], true
}

func (q *fifo[K]) pop() {
	var zero K
	q.items[q.head] = zero
	q.head++
	if q.head > 1024 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	}
}

// orderedMap is a bounded map that also keeps its keys in insertion order,
// so that the oldest entries are purged and evicted first. It is the body
// of the jti store and the token store.
type orderedMap[K comparable, V any] struct {
	mu      sync.Mutex
	max     int
	entries map[K]V
	order   fifo[K]
}

func newOrderedMap[K comparable, V any](max int) orderedMap[K, V] {
	return orderedMap[K, V]{max: max, entries: make(map[K]V)}
}

// putLocked stores v under k, as the newest entry.
func (m *orderedMap[K, V]) putLocked(k K, v V) {
	m.entries[k] = v
	m.order.push(k)
}

// purgeLocked drops entries from the front of the queue while stale
// reports them (and keys whose entry is already gone).
func (m *orderedMap[K, V]) purgeLocked(stale func(V) bool) {
	for {
		k, ok := m.order.front()
		if !ok {
			return
		}
		v, present := m.entries[k]
		if present && !stale(v) {
			return
		}
		m.order.pop()
		if present {
			delete(m.entries, k)
		}
	}
}

// makeRoomLocked evicts the oldest entries until one more fits. It stops
// and returns false at an entry that evictable refuses.
func (m *orderedMap[K, V]) makeRoomLocked(evictable func(V) bool) bool {
	for len(m.entries) >= m.max {
		k, ok := m.order.front()
		if !ok {
			break
		}
		v, present := m.entries[k]
		if present && !evictable(v) {
			return false
		}
		m.order.pop()
		if present {
			delete(m.entries, k)
		}
	}
	return true
}

// len returns the number of entries.
func (m *orderedMap[K, V]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// jtiKey identifies a (sub, jti) pair by its SHA-256 (see makeJTIKey), so
// that every entry has the same small size: the store is fed before any
// API-key or signature check, and sub and jti can each be tens of
// kilobytes long.
type jtiKey [sha256.Size]byte

// makeJTIKey hashes a (sub, jti) pair. sub is prefixed with its length, so
// that no two distinct pairs hash the same input (a sub or jti may contain
// any byte, NUL included).
func makeJTIKey(sub, jti string) jtiKey {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(sub)))
	h.Write(n[:])
	io.WriteString(h, sub)
	io.WriteString(h, jti)
	var k jtiKey
	h.Sum(k[:0])
	return k
}

type jtiEntry struct {
	storedAt     time.Time
	assertionExp time.Time // the assertion's exp; after it the entry no longer guards a replay
}

// jtiStore remembers (sub, jti) pairs for jtiTTL, like NHS.
//
// It holds at most max entries. When it is full, the oldest entry is
// evicted only if its assertion has expired: such an entry can no longer
// protect against a replay (an expired assertion fails row 9 before row 17),
// it only serves NHS's 30-day diagnostic memory. If the oldest entry's
// assertion is still valid (at most 310 s), the new request is refused with
// a 503 (ruleStoreFull) instead: the emulator never forgets a jti that could
// still be replayed. Because every stored assertion expires within 310 s of
// being stored, a full store frees up within about five minutes.
type jtiStore struct {
	orderedMap[jtiKey, jtiEntry]
}

func newJTIStore(max int) *jtiStore {
	return &jtiStore{newOrderedMap[jtiKey, jtiEntry](max)}
}

// jtiResult is the outcome of jtiStore.add.
type jtiResult int

const (
	jtiStored jtiResult = iota
	jtiSeen
	jtiFull
)

// seen reports whether (sub, jti) is stored and younger than jtiTTL.
func (s *jtiStore) seen(sub, jti string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[makeJTIKey(sub, jti)]
	return ok && now.Sub(e.storedAt) < jtiTTL
}

// add stores (sub, jti) unless it is already stored (jtiSeen) or the store
// is full of live entries (jtiFull). Entries older than jtiTTL are purged
// first; only an entry whose assertion has expired may be evicted.
func (s *jtiStore) add(sub, jti string, assertionExp, now time.Time) jtiResult {
	k := makeJTIKey(sub, jti)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(func(e jtiEntry) bool { return now.Sub(e.storedAt) >= jtiTTL })
	if e, ok := s.entries[k]; ok && now.Sub(e.storedAt) < jtiTTL {
		return jtiSeen
	}
	if !s.makeRoomLocked(func(e jtiEntry) bool { return now.After(e.assertionExp) }) {
		return jtiFull
	}
	s.putLocked(k, jtiEntry{storedAt: now, assertionExp: assertionExp})
	return jtiStored
}

// tokenInfo is what the token store knows about an access token.
type tokenInfo struct {
	AppName string
	APIKey  string
	Scopes  []string
	Issued  time.Time
	Expires time.Time
}

// hasScope reports whether the token carries scope.
func (t tokenInfo) hasScope(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

type tokenHash [sha256.Size]byte

// tokenStore maps access tokens to their app, scopes and expiry. Tokens are
// stored as SHA-256 hashes, so the store never holds a usable token.
//
// It holds at most max tokens. Expired tokens are kept for
// expiredTokenGrace (to answer "Access Token expired"), then purged. When
// the store is full after purging, the oldest token is evicted even if it
// is still valid: its holder gets "Invalid Access Token" and fetches a new
// one, which fails closed and keeps the endpoint available.
type tokenStore struct {
	orderedMap[tokenHash, tokenInfo]
}

func newTokenStore(max int) *tokenStore {
	return &tokenStore{newOrderedMap[tokenHash, tokenInfo](max)}
}

func hashToken(tok string) tokenHash { return sha256.Sum256([]byte(tok)) }

// add stores a token. Tokens expired for longer than expiredTokenGrace are
// purged first (tokens are issued in time order with lifetimes of at most
// the configured token lifetime, so the purge walks the queue from the
// front until the first token that is still wanted); then, when the store
// is full, the oldest token is evicted.
func (s *tokenStore) add(tok string, info tokenInfo, now time.Time) {
	h := hashToken(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(func(i tokenInfo) bool { return now.After(i.Expires.Add(expiredTokenGrace)) })
	s.makeRoomLocked(func(tokenInfo) bool { return true })
	s.putLocked(h, info)
}

// lookup returns the token's info; ok is false for an unknown or purged
// token. The caller checks expiry.
func (s *tokenStore) lookup(tok string, now time.Time) (tokenInfo, bool) {
	h := hashToken(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.entries[h]
	if ok && now.After(info.Expires.Add(expiredTokenGrace)) {
		return tokenInfo{}, false
	}
	return info, ok
}
