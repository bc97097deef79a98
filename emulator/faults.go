package emulator

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// FaultKind names a kind of injected failure. The emulator's faults let
// tests and developers see how a client behaves when NHS's token endpoint or
// the API is slow, down, dropping connections or rate limiting. Faults are
// off unless configured (Config.Faults, Server.SetFaults, or the `pkjwt
// emulator` fault flags).
type FaultKind string

// The kinds of fault, in the order they are applied to a request.
const (
	// FaultLatency delays the answer by Fault.Latency (the request goes on
	// afterwards; another fault may still hit it).
	FaultLatency FaultKind = "latency"
	// FaultDrop closes the connection without an answer.
	FaultDrop FaultKind = "drop"
	// FaultFail answers 500: on the token endpoint NHS's row 27
	// (unknown_error), on the API a FHIR OperationOutcome.
	FaultFail FaultKind = "fail"
	// FaultRateLimit answers 429 with Retry-After: on the token endpoint
	// row 20's body, on the API PDS's TOO_MANY_REQUESTS OperationOutcome.
	FaultRateLimit FaultKind = "rate-limit"
	// FaultJWKSUnreachable makes the JWKS fetch fail (token endpoint only):
	// the request is answered with row 22 ("The JWKS endpoint, for your
	// client_assertion can't be reached") as if the cached copy had
	// expired and the app's JWKS URL did not answer.
	FaultJWKSUnreachable FaultKind = "jwks-unreachable"
)

// FaultTarget selects the endpoints a fault applies to.
type FaultTarget uint8

// Fault targets. The API target is the PDS API (sandbox included) and
// Hello World; the token target is TokenPath.
const (
	TargetToken FaultTarget = 1 << iota
	TargetPDS
	TargetBoth = TargetToken | TargetPDS
)

// String returns "token", "pds" or "both".
func (t FaultTarget) String() string {
	switch t {
	case TargetToken:
		return "token"
	case TargetPDS:
		return "pds"
	case TargetBoth:
		return "both"
	}
	return "none"
}

// faultKinds are the kinds of fault, in the order they are applied, with
// the targets each can apply to. It is never modified.
var faultKinds = []struct {
	kind    FaultKind
	targets FaultTarget
}{
	{FaultLatency, TargetBoth},
	{FaultDrop, TargetBoth},
	{FaultFail, TargetBoth},
	{FaultRateLimit, TargetBoth},
	{FaultJWKSUnreachable, TargetToken},
}

// faultTargets returns the targets kind k can apply to, or 0 for an unknown
// kind.
func faultTargets(k FaultKind) FaultTarget {
	for _, i := range faultKinds {
		if i.kind == k {
			return i.targets
		}
	}
	return 0
}

// ErrBadFault is returned for a fault that cannot be applied.
var ErrBadFault = errors.New("invalid fault")

// DefaultFaultRetryAfter is the Retry-After of a FaultRateLimit without one.
const DefaultFaultRetryAfter = time.Second

// maxFaultLatency bounds Fault.Latency, so that a typo cannot park every
// request for hours.
const maxFaultLatency = 10 * time.Minute

// Fault is one injected failure.
type Fault struct {
	// Kind is what happens to a hit request.
	Kind FaultKind
	// Target is where: the token endpoint, the API, or both. 0 means every
	// target the kind applies to (FaultJWKSUnreachable: the token
	// endpoint).
	Target FaultTarget
	// Rate is the fraction of matching requests hit, in (0, 1]; 0 means 1
	// (every request). Drawn with crypto/rand per request.
	Rate float64
	// Latency is FaultLatency's delay. The delay ends early when the
	// client goes away.
	Latency time.Duration
	// RetryAfter is FaultRateLimit's Retry-After, in whole seconds
	// (rounded up); 0 means DefaultFaultRetryAfter.
	RetryAfter time.Duration
	// Count, when positive, clears the fault after it has hit that many
	// requests, so that a test or a demo can watch a client recover.
	Count int
}

// check validates f and fills in its defaults.
func (f Fault) check() (Fault, error) {
	targets := faultTargets(f.Kind)
	if targets == 0 {
		return f, fmt.Errorf("emulator: fault kind %q: %w", f.Kind, ErrBadFault)
	}
	if f.Target == 0 {
		f.Target = targets
	}
	if f.Target&^TargetBoth != 0 || f.Target&^targets != 0 {
		return f, fmt.Errorf("emulator: fault %s applies to %s only, not %s: %w", f.Kind, targets, f.Target, ErrBadFault)
	}
	if f.Rate == 0 {
		f.Rate = 1
	}
	if !(f.Rate > 0 && f.Rate <= 1) {
		return f, fmt.Errorf("emulator: fault %s: rate %v not in (0, 1]: %w", f.Kind, f.Rate, ErrBadFault)
	}
	if f.Count < 0 {
		return f, fmt.Errorf("emulator: fault %s: negative count: %w", f.Kind, ErrBadFault)
	}
	switch f.Kind {
	case FaultLatency:
		if f.Latency <= 0 || f.Latency > maxFaultLatency {
			return f, fmt.Errorf("emulator: fault latency %v not in (0, %v]: %w", f.Latency, maxFaultLatency, ErrBadFault)
		}
	case FaultRateLimit:
		if f.RetryAfter < 0 || f.RetryAfter > time.Hour {
			return f, fmt.Errorf("emulator: fault retry-after %v not in [0, 1h]: %w", f.RetryAfter, ErrBadFault)
		}
		if f.RetryAfter == 0 {
			f.RetryAfter = DefaultFaultRetryAfter
		}
	}
	return f, nil
}

// activeFault is a checked fault and how many requests it has hit.
type activeFault struct {
	Fault
	hits atomic.Int64
}

// hit decides whether the fault hits one more request, counting it.
func (a *activeFault) hit() bool {
	if a.Rate < 1 && randFloat() >= a.Rate {
		return false
	}
	if a.Count <= 0 {
		a.hits.Add(1)
		return true
	}
	for {
		n := a.hits.Load()
		if n >= int64(a.Count) {
			return false
		}
		if a.hits.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// randFloat returns a uniform float64 in [0, 1) from crypto/rand.
func randFloat() float64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return float64(binary.BigEndian.Uint64(b[:])>>11) / (1 << 53)
}

// faultSet is the faults in force; it is replaced whole by SetFaults.
type faultSet struct {
	faults []*activeFault
}

func newFaultSet(fs []Fault) (*faultSet, error) {
	set := &faultSet{}
	for i, f := range fs {
		c, err := f.check()
		if err != nil {
			return nil, fmt.Errorf("fault %d: %w", i, err)
		}
		set.faults = append(set.faults, &activeFault{Fault: c})
	}
	// Apply in the table's order whatever the order given.
	ordered := make([]*activeFault, 0, len(set.faults))
	for _, info := range faultKinds {
		for _, a := range set.faults {
			if a.Kind == info.kind {
				ordered = append(ordered, a)
			}
		}
	}
	set.faults = ordered
	return set, nil
}

// SetFaults replaces the faults in force (nil clears them). It is safe to
// call while serving; the hit counts of Fault.Count start again.
func (s *Server) SetFaults(fs []Fault) error {
	set, err := newFaultSet(fs)
	if err != nil {
		return err
	}
	s.faults.Store(set)
	return nil
}

// FaultHits returns how many requests each fault in force has hit, by kind.
func (s *Server) FaultHits() map[FaultKind]int64 {
	out := map[FaultKind]int64{}
	if set := s.faults.Load(); set != nil {
		for _, a := range set.faults {
			out[a.Kind] += a.hits.Load()
		}
	}
	return out
}

// faultTarget is the target a request path belongs to, or 0.
func (s *Server) faultTarget(p string) FaultTarget {
	switch {
	case p == TokenPath:
		return TargetToken
	case p == HelloWorldPath, underBase(p, PDSBasePath), s.sandbox && underBase(p, PDSSandboxBasePath):
		return TargetPDS
	}
	return 0
}

// errFaultFail is the API's answer to FaultFail [I: PDS's 5xx body is not
// documented; the emulator answers an OperationOutcome of its own].
var errFaultFail = pdsError{http.StatusInternalServerError, "fatal", "exception", "SERVICE_ERROR",
	"Service error", "The emulator injected a failure (--fail-rate)", ""}

// applyFaults runs the request-level faults (all but FaultJWKSUnreachable)
// for a request; it reports whether it answered (or dropped) the request.
func (s *Server) applyFaults(w http.ResponseWriter, r *http.Request, info *requestInfo) bool {
	set := s.faults.Load()
	if set == nil || len(set.faults) == 0 {
		return false
	}
	target := s.faultTarget(r.URL.Path)
	if target == 0 {
		return false
	}
	for _, a := range set.faults {
		if a.Target&target == 0 || a.Kind == FaultJWKSUnreachable || !a.hit() {
			continue
		}
		info.addFault(a.Kind)
		switch a.Kind {
		case FaultLatency:
			t := time.NewTimer(a.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		case FaultDrop:
			info.dropped = true
			return true
		case FaultFail:
			if target == TargetToken {
				s.writeRule(w, r, rule(ruleUnknownError), "")
			} else {
				mirrorIDs(w, r)
				s.writePDSError(w, r, errFaultFail)
			}
			return true
		case FaultRateLimit:
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(a.RetryAfter)))
			ru := rule(ruleRateLimited)
			if target == TargetToken {
				s.writeRule(w, r, ru, "")
			} else {
				mirrorIDs(w, r)
				s.writePDSError(w, r, errRateLimited(ru.Description))
			}
			return true
		}
	}
	return false
}

// jwksFault reports whether FaultJWKSUnreachable hits this token request.
func (s *Server) jwksFault(r *http.Request) bool {
	set := s.faults.Load()
	if set == nil {
		return false
	}
	for _, a := range set.faults {
		if a.Kind == FaultJWKSUnreachable && a.Target&TargetToken != 0 && a.hit() {
			if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
				info.addFault(a.Kind)
			}
			return true
		}
	}
	return false
}

// addFault records a fault for the log line.
func (i *requestInfo) addFault(k FaultKind) {
	if i.faults == "" {
		i.faults = string(k)
	} else if !strings.Contains(i.faults, string(k)) {
		i.faults += "," + string(k)
	}
}
