package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/emulator"
)

// faultFlags are `pkjwt emulator`'s fault-injection flags, one per row of
// emulator.FaultKinds plus where (--fault-target), how long
// (--fault-count) and the Retry-After of --rate-limit.
type faultFlags struct {
	rates      map[emulator.FaultKind]*float64
	durations  map[emulator.FaultKind]*time.Duration
	switches   map[emulator.FaultKind]*bool
	target     *string
	count      *int
	retryAfter *time.Duration
}

func addFaultFlags(fs *flag.FlagSet) *faultFlags {
	f := &faultFlags{
		rates:     map[emulator.FaultKind]*float64{},
		durations: map[emulator.FaultKind]*time.Duration{},
		switches:  map[emulator.FaultKind]*bool{},
	}
	for _, k := range emulator.FaultKinds() {
		usage := "fault: " + k.Effect
		if k.Targets != emulator.TargetBoth {
			usage += " (" + k.Targets.String() + " only)"
		}
		switch k.Param {
		case emulator.ParamRate:
			f.rates[k.Kind] = fs.Float64(k.Flag, 0, usage+"; 0 off, 1 every request")
		case emulator.ParamDuration:
			f.durations[k.Kind] = fs.Duration(k.Flag, 0, usage+"; 0 off")
		case emulator.ParamSwitch:
			f.switches[k.Kind] = fs.Bool(k.Flag, false, usage)
		}
	}
	f.target = fs.String("fault-target", "both", "where the faults apply: token (the token endpoint), pds (the PDS API and hello-world) or both")
	f.count = fs.Int("fault-count", 0, "each fault clears after hitting this many requests (0: never)")
	f.retryAfter = fs.Duration("retry-after", emulator.DefaultFaultRetryAfter, "the Retry-After of --rate-limit's 429 answers (whole seconds)")
	return f
}

// faults returns the faults the flags turn on, checked by the emulator's
// own rules (so a bad value is a usage error before anything listens).
func (f *faultFlags) faults() ([]emulator.Fault, error) {
	target, err := emulator.ParseFaultTarget(*f.target)
	if err != nil {
		return nil, usagef("--fault-target must be token, pds or both")
	}
	if *f.count < 0 {
		return nil, usagef("--fault-count must not be negative")
	}
	var out []emulator.Fault
	for _, k := range emulator.FaultKinds() {
		fault := emulator.Fault{Kind: k.Kind, Target: target & k.Targets, Count: *f.count}
		switch k.Param {
		case emulator.ParamRate:
			r := *f.rates[k.Kind]
			if r == 0 {
				continue
			}
			if !(r > 0 && r <= 1) {
				return nil, usagef("--%s must be in [0, 1]", k.Flag)
			}
			fault.Rate = r
		case emulator.ParamDuration:
			d := *f.durations[k.Kind]
			if d == 0 {
				continue
			}
			fault.Latency = d
		case emulator.ParamSwitch:
			if !*f.switches[k.Kind] {
				continue
			}
		}
		if fault.Target == 0 {
			return nil, usagef("--%s applies to the %s target only, not --fault-target %s", k.Flag, k.Targets, target)
		}
		if k.Kind == emulator.FaultRateLimit {
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
