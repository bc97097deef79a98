package keys

import (
	"fmt"
	"sort"
	"time"
)

// Ring is an immutable set of keys. It decides which key signs (the active
// key activated last, see SignerAt) and which keys are published (all of
// them: pending keys so relying parties cache them before they sign, retired
// keys so tokens and assertions already in flight still verify).
//
// A ring keeps its own copy of each Key and hands out copies (Keys, Lookup,
// SignerAt), so changing a returned Key's kid, state or dates never changes
// the ring: compare keys by ID, not by pointer. The copies share the Signer
// and the Certificate, which must not be modified.
type Ring struct {
	keys []*Key // sorted newest first
}

// NewRing makes a ring of copies of ks. The ring keeps its own ordering
// (newest first) and does not modify ks.
func NewRing(ks ...*Key) *Ring {
	sorted := make([]*Key, len(ks))
	for i, k := range ks {
		c := *k
		sorted[i] = &c
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].Created.Equal(sorted[j].Created) {
			return sorted[i].Created.After(sorted[j].Created)
		}
		return sorted[i].ID < sorted[j].ID
	})
	return &Ring{keys: sorted}
}

// Keys returns a copy of every key in the ring, newest first.
func (r *Ring) Keys() []*Key {
	out := make([]*Key, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.clone()
	}
	return out
}

// clone returns a copy of k that can be changed without changing k.
func (k *Key) clone() *Key {
	c := *k
	return &c
}

// Len returns the number of keys.
func (r *Ring) Len() int { return len(r.keys) }

// Lookup returns a copy of the key with the given kid.
func (r *Ring) Lookup(kid string) (*Key, error) {
	for _, k := range r.keys {
		if k.ID == kid {
			return k.clone(), nil
		}
	}
	return nil, fmt.Errorf("keys: kid %q: %w", kid, ErrNotFound)
}

// SignerAt returns a copy of the key that signs at time now: among the active keys
// whose NotBefore is not after now, the one activated last (StateChanged),
// then the newest. Activating an older key again (a rollback) therefore
// makes it sign at once.
func (r *Ring) SignerAt(now time.Time) (*Key, error) {
	var best *Key
	for _, k := range r.keys { // newest first
		if k.CanSign(now) && (best == nil || k.StateChanged.After(best.StateChanged)) {
			best = k
		}
	}
	if best != nil {
		return best.clone(), nil
	}
	return nil, fmt.Errorf("keys: %d key(s) in the ring, none active now: %w", len(r.keys), ErrNoSigningKey)
}

// SigningKey returns the key that signs now. It makes *Ring a key source for
// pkjwt.Config.
func (r *Ring) SigningKey() (*Key, error) { return r.SignerAt(time.Now()) }

// RingSource gives the current key ring. *Ring gives itself; *DirSource
// gives the ring last loaded from its directory, so that the keys a program
// signs with and publishes follow the directory without a restart.
type RingSource interface {
	Ring() *Ring
}

// Ring returns r itself, so that a fixed *Ring is a RingSource.
func (r *Ring) Ring() *Ring { return r }
