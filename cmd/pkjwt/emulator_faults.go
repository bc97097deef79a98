package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/emulator"
)

// faultParam says what a fault flag takes.
type faultParam int

const (
	paramRate     faultParam = iota // a fraction of the matching requests, in (0, 1]
	paramDuration                   // a delay
	paramSwitch                     // on or off: every matching request
)

// faultFlag is one of `pkjwt emulator`'s fault flags: the kind of fault it
// turns on, what it takes, the targets the kind can apply to (the emulator
// checks them again) and what a hit request gets.
type faultFlag struct {
	kind    emulator.FaultKind
	name    string
	param   faultParam
	targets emulator.FaultTarget
	effect  string
}

// faultFlagTable is the fault flags, in the order the emulator applies the
// kinds (docs/emulator.md, "Fault injection"). It is never modified.
var faultFlagTable = []faultFlag{
	{emulator.FaultLatency, "latency", paramDuration, emulator.TargetBoth,
		"delay every matching request by this long before it is handled"},
	{emulator.FaultDrop, "drop-rate", paramRate, emulator.TargetBoth,
		"close the connection of this fraction of matching requests without an answer"},
	{emulator.FaultFail, "fail-rate", paramRate, emulator.TargetBoth,
		"answer this fraction of matching requests with 500 (token: NHS's unknown_error; API: an OperationOutcome)"},
	{emulator.FaultRateLimit, "rate-limit-fraction", paramRate, emulator.TargetBoth,
		"answer this fraction of matching requests with 429 and Retry-After (token: row 20; API: TOO_MANY_REQUESTS)"},
	{emulator.FaultJWKSUnreachable, "jwks-unreachable", paramSwitch, emulator.TargetToken,
		"fail every JWKS fetch: token requests that reach the JWKS step get row 22 (can't be reached)"},
}

// faultFlags are `pkjwt emulator`'s fault-injection flags, one per row of
// faultFlagTable plus where (--fault-target), how long (--fault-count) and
// the Retry-After of --rate-limit-fraction.
type faultFlags struct {
	rates      map[emulator.FaultKind]*float64
	durations  map[emulator.FaultKind]*time.Duration
	switches   map[emulator.FaultKind]*bool
	target     *string
	count      *int
	retryAfter *time.Duration
}

// parseFaultTarget parses --fault-target: "token", "pds" or "both".
func parseFaultTarget(s string) (emulator.FaultTarget, bool) {
	for _, t := range []emulator.FaultTarget{emulator.TargetToken, emulator.TargetPDS, emulator.TargetBoth} {
		if s == t.String() {
			return t, true
		}
	}
	return 0, false
}

func addFaultFlags(fs *flag.FlagSet) *faultFlags {
	f := &faultFlags{
		rates:     map[emulator.FaultKind]*float64{},
		durations: map[emulator.FaultKind]*time.Duration{},
		switches:  map[emulator.FaultKind]*bool{},
	}
	for _, k := range faultFlagTable {
		usage := "fault: " + k.effect
		if k.targets != emulator.TargetBoth {
			usage += " (" + k.targets.String() + " only)"
		}
		switch k.param {
		case paramRate:
			f.rates[k.kind] = fs.Float64(k.name, 0, usage+"; 0 off, 1 every request")
		case paramDuration:
			f.durations[k.kind] = fs.Duration(k.name, 0, usage+"; 0 off")
		case paramSwitch:
			f.switches[k.kind] = fs.Bool(k.name, false, usage)
		}
	}
	f.target = fs.String("fault-target", "both", "where the faults apply: token (the token endpoint), pds (the PDS API and hello-world) or both")
	f.count = fs.Int("fault-count", 0, "each fault clears after hitting this many requests (0: never)")
	f.retryAfter = fs.Duration("retry-after", emulator.DefaultFaultRetryAfter, "the Retry-After of --rate-limit-fraction's 429 answers (whole seconds)")
	return f
}

// faults returns the faults the flags turn on, checked by the emulator's
// own rules (so a bad value is a usage error before anything listens).
func (f *faultFlags) faults() ([]emulator.Fault, error) {
	target, ok := parseFaultTarget(*f.target)
	if !ok {
		return nil, usagef("--fault-target must be token, pds or both")
	}
	if *f.count < 0 {
		return nil, usagef("--fault-count must not be negative")
	}
	var out []emulator.Fault
	for _, k := range faultFlagTable {
		fault := emulator.Fault{Kind: k.kind, Target: target & k.targets, Count: *f.count}
		switch k.param {
		case paramRate:
			r := *f.rates[k.kind]
			if r == 0 {
				continue
			}
			if !(r > 0 && r <= 1) {
				return nil, usagef("--%s must be in [0, 1]", k.name)
			}
			fault.Rate = r
		case paramDuration:
			d := *f.durations[k.kind]
			if d == 0 {
				continue
			}
			fault.Latency = d
		case paramSwitch:
			if !*f.switches[k.kind] {
				continue
			}
		}
		if fault.Target == 0 {
			return nil, usagef("--%s applies to the %s target only, not --fault-target %s", k.name, k.targets, target)
		}
		if k.kind == emulator.FaultRateLimit {
			fault.RetryAfter = *f.retryAfter
		}
		out = append(out, fault)
	}
	// Latency and Retry-After bounds are checked by emulator.New.
	return out, nil
}

// describeFault is the start-up line for one fault in force.
func describeFault(f emulator.Fault) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s", f.Kind, f.Target)
	switch f.Kind {
	case emulator.FaultLatency:
		fmt.Fprintf(&b, ", %v", f.Latency)
	case emulator.FaultRateLimit:
		fmt.Fprintf(&b, ", Retry-After %v", f.RetryAfter)
	}
	if f.Rate > 0 && f.Rate < 1 {
		fmt.Fprintf(&b, ", %.0f%% of requests", f.Rate*100)
	}
	if f.Count > 0 {
		fmt.Fprintf(&b, ", clears after %d", f.Count)
	}
	return b.String()
}
