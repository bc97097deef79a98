package keys

import (
	"fmt"
	"sort"
	"time"
)

// Ring is an immutable set of keys. It decides which key signs (the newest
// active key whose NotBefore has passed) and which keys are published (all of
// them: pending keys so relying parties cache them before they sign, retired
// keys so tokens and assertions already in flight still verify).
type Ring struct {
	keys []*Key // sorted newest first
}

// NewRing makes a ring of ks. The ring keeps its own ordering (newest first)
// and does not modify ks.
func NewRing(ks ...*Key) *Ring {
	sorted := append([]*Key(nil), ks...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].Created.Equal(sorted[j].Created) {
			return sorted[i].Created.After(sorted[j].Created)
		}
		return sorted[i].ID < sorted[j].ID
	})
	return &Ring{keys: sorted}
}

// Keys returns every key in the ring, newest first.
func (r *Ring) Keys() []*Key { return append([]*Key(nil), r.keys...) }

// Len returns the number of keys.
func (r *Ring) Len() int { return len(r.keys) }

// Published returns the keys to put in the JWKS, newest first.
func (r *Ring) Published() []*Key { return r.Keys() }

// Lookup returns the key with the given kid.
func (r *Ring) Lookup(kid string) (*Key, error) {
	for _, k := range r.keys {
		if k.ID == kid {
			return k, nil
		}
	}
	return nil, fmt.Errorf("keys: kid %q: %w", kid, ErrNotFound)
}

// SignerAt returns the key that signs at time now: the newest active key
// whose NotBefore is not after now.
func (r *Ring) SignerAt(now time.Time) (*Key, error) {
	for _, k := range r.keys {
		if k.CanSign(now) {
			return k, nil
		}
	}
	return nil, fmt.Errorf("keys: %d key(s) in the ring, none active now: %w", len(r.keys), ErrNoSigningKey)
}

// SigningKey returns the key that signs now. It makes *Ring a key source for
// pkjwt.Config.
func (r *Ring) SigningKey() (*Key, error) { return r.SignerAt(time.Now()) }
