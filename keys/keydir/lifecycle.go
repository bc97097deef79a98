package keydir

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pkjwt/pkjwt/keys"
)

// Rotation timing. NHS England caches an app's JWKS for an hour and does not
// refetch it for an unknown kid (docs/nhs-reference.md), so a key must be
// published for longer than that before it signs, and a retired key stays
// published until nothing it signed can still be checked.
const (
	// JWKSCacheTime is how long a relying party (NHS England) may cache a
	// JWKS.
	JWKSCacheTime = time.Hour
	// DefaultLead is how long a key must have been published before it may
	// be activated: the JWKS cache time plus a margin.
	DefaultLead = JWKSCacheTime + 5*time.Minute
	// MaxTokenLifetime is the longest access token lifetime pkjwt expects
	// from NHS England (its tokens last 10 minutes).
	MaxTokenLifetime = 10 * time.Minute
	// DefaultGrace is how long a retired key stays published before it may
	// be removed: the JWKS cache time plus the longest assertion and token
	// lifetimes.
	DefaultGrace = JWKSCacheTime + keys.MaxAssertionLifetime + MaxTokenLifetime
)

// Errors of the key life cycle. Test for them with errors.Is.
var (
	// ErrTooEarly: the key has not been published for the lead time, so a
	// relying party may not know it yet.
	ErrTooEarly = errors.New("key has not been published for long enough")
	// ErrIsSigningKey: the operation would take away the key that signs.
	ErrIsSigningKey = errors.New("key is the signing key")
	// ErrInGrace: the key was retired too recently to be removed.
	ErrInGrace = errors.New("key is still inside its grace period")
	// ErrLocked: another process holds the key directory's lock.
	ErrLocked = errors.New("key directory is locked by another process")
	// ErrBadTransition: the key's state does not allow the change.
	ErrBadTransition = errors.New("state change not allowed")
)

// SafeToActivate returns the earliest time k may be activated with the
// given lead. A key that signed before (k.Signed is set) may sign at once:
// for a retired key this is a rollback, since relying parties have known it
// since it first signed and a retired key stays published. Any other key
// goes through the lead-time guard: a pending key, and a key with no Signed
// date (it signed only after a forced early activation, or was recorded
// before pkjwt kept that date) may be activated lead after its first
// publication. A key never published returns ok false.
func SafeToActivate(k *keys.Key, lead time.Duration) (at time.Time, ok bool) {
	switch {
	case !k.Signed.IsZero() && k.State != keys.StatePending:
		return time.Time{}, true
	case k.Published.IsZero():
		return time.Time{}, false
	}
	return k.Published.Add(lead), true
}

// CheckActivate reports whether k may be activated at now with the given
// lead, with ErrTooEarly and the time it will be safe when it may not.
func CheckActivate(k *keys.Key, now time.Time, lead time.Duration) error {
	at, ok := SafeToActivate(k, lead)
	what := k.ID
	if k.State == keys.StateRetired {
		what += " is retired but not a rollback (it never signed with relying parties knowing it), and"
	}
	if !ok {
		return fmt.Errorf("keys: %s has never been published (publish the JWKS with 'pkjwt jwks publish' or serve it, then wait %s): %w", what, lead, ErrTooEarly)
	}
	if now.Before(at) {
		return fmt.Errorf("keys: %s was published at %s, %s ago; it is safe to activate from %s (in %s): %w",
			what, k.Published.UTC().Format(time.RFC3339), now.Sub(k.Published).Round(time.Second),
			at.UTC().Format(time.RFC3339), at.Sub(now).Round(time.Second), ErrTooEarly)
	}
	return nil
}

// CheckRetire reports whether k may be retired. A pending key never
// signed, so nothing it signed needs its public key: it is removed, not
// retired (ErrBadTransition), and cannot come back later as a key to roll
// back to.
func CheckRetire(k *keys.Key) error {
	if k.State == keys.StatePending {
		return fmt.Errorf("keys: %s is pending and never signed, so it has nothing to keep verifying: remove it with 'pkjwt keys remove --kid %s': %w", k.ID, k.ID, ErrBadTransition)
	}
	return nil
}

// CheckRemove reports whether k may be removed from ring at now: never the
// signing key or another active key, and a retired key only once grace has
// passed since it was retired. A pending key (it never signed) may go.
func CheckRemove(ring *keys.Ring, k *keys.Key, now time.Time, grace time.Duration) error {
	if s, err := ring.SignerAt(now); err == nil && s.ID == k.ID {
		return fmt.Errorf("keys: %s signs now; activate another key first: %w", k.ID, ErrIsSigningKey)
	}
	switch k.State {
	case keys.StateActive:
		return fmt.Errorf("keys: %s is active; retire it first: %w", k.ID, ErrBadTransition)
	case keys.StateRetired:
		since := retiredAt(k)
		if until := since.Add(grace); now.Before(until) {
			return fmt.Errorf("keys: %s was retired at %s; tokens and assertions it signed may still be checked until %s (in %s): %w",
				k.ID, since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339), until.Sub(now).Round(time.Second), ErrInGrace)
		}
	}
	return nil
}

// retiredAt is when k was retired: its last state change, or its creation
// for a key retired before state changes were recorded.
func retiredAt(k *keys.Key) time.Time {
	if !k.StateChanged.IsZero() {
		return k.StateChanged
	}
	return k.Created
}

// activatedAt is when k last became active (or was made).
func activatedAt(k *keys.Key) time.Time { return retiredAt(k) }

// Policy is how Plan rotates a key ring.
type Policy struct {
	// Lead is how long a new key is published before it signs
	// (DefaultLead when zero).
	Lead time.Duration
	// Grace is how long a retired key stays published before it is
	// removed (DefaultGrace when zero).
	Grace time.Duration
	// Every, when set, is how long a key signs before the next one takes
	// over: the next pending key is added Lead before that. Zero rotates
	// as soon as each step is allowed.
	Every time.Duration
	// Algorithm and Bits of new keys (DefaultAlgorithm, DefaultRSABits).
	Algorithm string
	Bits      int
	// NewKey, when set, is a backend template reference ("awskms:///?region=eu-west-2")
	// where new keys are created; empty makes local keys.
	NewKey string
}

func (p Policy) lead() time.Duration {
	if p.Lead > 0 {
		return p.Lead
	}
	return DefaultLead
}

func (p Policy) grace() time.Duration {
	if p.Grace > 0 {
		return p.Grace
	}
	return DefaultGrace
}

// Action is one kind of rotation step.
type Action string

// The rotation steps.
const (
	ActionAdd      Action = "add"      // make a new pending key
	ActionActivate Action = "activate" // a pending key starts signing
	ActionRetire   Action = "retire"   // the previous signing key stops signing
	ActionRemove   Action = "remove"   // a retired key past its grace leaves the JWKS
	ActionWait     Action = "wait"     // nothing to do until At
)

// Step is one step of a rotation plan.
type Step struct {
	Action Action    `json:"action"`
	KID    string    `json:"kid,omitempty"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at,omitzero"` // for wait: when the next step becomes possible
}

// Plan works out one rotation step of ring at now under p: activate the
// newest pending key once it has been published for the lead time (and,
// with Every, once the signing key's turn is over) and retire the key it
// replaces; add a pending key when none is left; remove retired keys past
// their grace. The plan never leaves the ring without a signing key if it
// had one: a key is retired only in the step that activates its successor.
// Plan is a pure function: Apply carries a plan out.
func Plan(ring *keys.Ring, now time.Time, p Policy) []Step {
	var steps []Step
	signer, _ := ring.SignerAt(now)
	var pending []*keys.Key
	for _, k := range ring.Keys() { // newest first
		if k.State == keys.StatePending {
			pending = append(pending, k)
		}
	}
	activated := false
	if len(pending) > 0 {
		next := pending[0]
		at, published := SafeToActivate(next, p.lead())
		due := time.Time{}
		if p.Every > 0 && signer != nil {
			due = activatedAt(signer).Add(p.Every)
		}
		switch {
		case !published:
			steps = append(steps, Step{Action: ActionWait, KID: next.ID, Reason: "the pending key has not been published: run 'pkjwt jwks publish' (or serve the JWKS)"})
		case now.Before(at):
			steps = append(steps, Step{Action: ActionWait, KID: next.ID, At: at, Reason: fmt.Sprintf("the pending key has been published for %s of the %s lead", now.Sub(next.Published).Round(time.Second), p.lead())})
		case now.Before(due):
			steps = append(steps, Step{Action: ActionWait, KID: next.ID, At: due, Reason: fmt.Sprintf("the signing key %s signs until %s (--every %s)", signer.ID, due.UTC().Format(time.RFC3339), p.Every)})
		default:
			steps = append(steps, Step{Action: ActionActivate, KID: next.ID, Reason: fmt.Sprintf("published %s ago, past the %s lead", now.Sub(next.Published).Round(time.Second), p.lead())})
			activated = true
			for _, k := range ring.Keys() {
				if k.State == keys.StateActive {
					steps = append(steps, Step{Action: ActionRetire, KID: k.ID, Reason: "replaced by " + next.ID})
				}
			}
		}
	}
	if len(pending) == 0 || activated && len(pending) == 1 {
		// The key that signs once this plan is done, and since when.
		hasSigner, since := signer != nil, time.Time{}
		if activated {
			hasSigner, since = true, now
		} else if signer != nil {
			since = activatedAt(signer)
		}
		switch at := since.Add(p.Every - p.lead()); {
		case p.Every > 0 && hasSigner && now.Before(at):
			steps = append(steps, Step{Action: ActionWait, At: at, Reason: fmt.Sprintf("the next key is added %s before the signing key's turn ends", p.lead())})
		default:
			steps = append(steps, Step{Action: ActionAdd, Reason: "no pending key: add one, to be published now and activated after the lead"})
		}
	}
	retiring := map[string]bool{}
	for _, s := range steps {
		if s.Action == ActionRetire {
			retiring[s.KID] = true
		}
	}
	for _, k := range ring.Keys() {
		if k.State != keys.StateRetired || retiring[k.ID] {
			continue
		}
		if until := retiredAt(k).Add(p.grace()); now.Before(until) {
			steps = append(steps, Step{Action: ActionWait, KID: k.ID, At: until, Reason: "the retired key stays published for its grace period"})
			continue
		}
		steps = append(steps, Step{Action: ActionRemove, KID: k.ID, Reason: fmt.Sprintf("retired %s ago, past the %s grace", now.Sub(retiredAt(k)).Round(time.Second), p.grace())})
	}
	sort.SliceStable(steps, func(i, j int) bool { return stepOrder[steps[i].Action] < stepOrder[steps[j].Action] })
	return steps
}

// stepOrder is the order Apply runs steps in: the new signer is activated
// before the old one is retired, so that some key can always sign.
var stepOrder = map[Action]int{ActionActivate: 0, ActionRetire: 1, ActionAdd: 2, ActionRemove: 3, ActionWait: 4}

// Apply carries out steps on the directory at now, in order, inside the
// transaction, and returns the kids it added. It stops at the first step
// that fails; the steps done before it stay done, and a new Plan continues
// from there.
func (tx *Tx) Apply(ctx context.Context, steps []Step, now time.Time, p Policy) (added []string, err error) {
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return added, err
		}
		switch s.Action {
		case ActionActivate:
			if err := tx.Activate(s.KID, now, p.lead(), false); err != nil {
				return added, err
			}
		case ActionRetire:
			if err := tx.SetState(s.KID, keys.StateRetired, now); err != nil {
				return added, err
			}
		case ActionRemove:
			if err := tx.Remove(s.KID); err != nil {
				return added, err
			}
		case ActionAdd:
			alg := p.Algorithm
			if alg == "" {
				alg = keys.DefaultAlgorithm
			}
			var k *keys.Key
			if p.NewKey != "" {
				k, err = tx.CreateRemote(ctx, p.NewKey, alg, keys.StatePending, now)
			} else {
				if k, err = keys.GenerateContext(ctx, alg, p.Bits); err == nil {
					k.Created, k.State, k.StateChanged = now.UTC(), keys.StatePending, now.UTC()
					err = tx.Add(k)
				}
			}
			if err != nil {
				return added, err
			}
			added = append(added, k.ID)
		}
	}
	return added, nil
}

// Activate makes key kid active at now. It refuses with ErrTooEarly what
// CheckActivate refuses with lead, unless force. An activation the guard
// allows records now as the key's Signed date (if it has none), so that
// the key may later be rolled back to at once; a forced early activation
// records nothing, so that it never counts as published long enough. It
// changes no other key: the caller retires the key that signed before.
func (tx *Tx) Activate(kid string, now time.Time, lead time.Duration, force bool) error {
	k, err := tx.lookup(kid)
	if err != nil {
		return err
	}
	guard := CheckActivate(k, now, lead)
	switch {
	case guard != nil && k.State == keys.StateActive:
		return nil // active already, and nothing to record
	case guard != nil && !force:
		return guard
	}
	changed := false
	if k.State != keys.StateActive {
		k.State, k.StateChanged, changed = keys.StateActive, now.UTC(), true
	}
	if guard == nil && k.Signed.IsZero() {
		k.Signed, changed = now.UTC(), true
	}
	if !changed {
		return nil
	}
	return tx.put(k)
}
