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

// Lookup returns the key with the given kid.
func (r *Ring) Lookup(kid string) (*Key, error) {
	for _, k := range r.keys {
		if k.ID == kid {
			return k, nil
		}
	}
	return nil, fmt.Errorf("keys: kid %q: %w", kid, ErrNotFound)
}

// SignerAt returns the key that signs at time now: among the active keys
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
		return best, nil
	}
	return nil, fmt.Errorf("keys: %d key(s) in the ring, none active now: %w", len(r.keys), ErrNoSigningKey)
}

// SigningKey returns the key that signs now. It makes *Ring a key source for
// pkjwt.Config.
func (r *Ring) SigningKey() (*Key, error) { return r.SignerAt(time.Now()) }
