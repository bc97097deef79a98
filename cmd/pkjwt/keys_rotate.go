package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// rotateReport is the JSON output of "keys rotate --json".
type rotateReport struct {
	Dir    string        `json:"dir"`
	DryRun bool          `json:"dry_run"`
	Time   time.Time     `json:"time"`
	Steps  []keydir.Step `json:"steps"`
	Added  []string      `json:"added,omitempty"`
	// StillInService lists the references of removed keys that live in a
	// key service: removal only forgets them; delete or disable them there.
	StillInService []string `json:"still_in_service,omitempty"`
	// Skipped says why --skip-if-locked did nothing: another process
	// holds the directory's lock.
	Skipped string `json:"skipped,omitempty"`
}

func cmdKeysRotate() *command {
	return &command{
		name:    "keys rotate",
		args:    "[flags]",
		summary: "one idempotent rotation step, for cron or CI every hour",
		detail: `Works out and carries out one step of a key rotation:
  - activates the newest pending key once it has been published for --lead
    (and, with --every, once the signing key's turn is over), and retires the
    key it replaces (it stays published);
  - adds a new pending key when none is left (with --every: --lead before the
    signing key's turn ends);
  - removes retired keys once --grace has passed since they were retired.
It prints its plan, never leaves the ring without a signing key, and works
under the directory's lock, reading the keys inside it, so two runs cannot
interleave: a run that finds the lock taken waits up to 30 seconds, saying which
process holds it, then fails with that process's pid and age. From cron, where
another run holding the lock means the step is being done, --skip-if-locked
exits 0 at once instead, saying who holds the lock. --dry-run takes no lock and
creates nothing, not even a missing directory. Run 'pkjwt jwks publish' after
it (the pipeline in deploy/github-actions does both): a pending key counts as
published from then. With --new-key (e.g. awskms:///?region=eu-west-2 or
azurekv://VAULT/keys/NAME) new keys are created in that key service; otherwise
they are local files. Running it again with nothing due changes nothing.`,
		examples: `# What the next rotation step would do, changing nothing
pkjwt keys rotate --dry-run

# From cron or CI every hour: a new key every 90 days, then publish the JWKS
pkjwt keys rotate --every 2160h --skip-if-locked
pkjwt jwks publish --to s3://BUCKET/.well-known/jwks.json`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			lead := leadFlag(fs)
			grace := graceFlag(fs)
			every := fs.Duration("every", 0, "how long each key signs before the next takes over (0: as soon as each step is allowed)")
			newKey := fs.String("new-key", "", "create new keys in this key service (a reference such as awskms:///?region=eu-west-2); default: local files")
			alg := fs.String("alg", keys.DefaultAlgorithm, "algorithm of new keys")
			bits := fs.Int("bits", keys.DefaultRSABits, "RSA modulus size of new local keys")
			dryRun := fs.Bool("dry-run", false, "print the plan, change nothing (takes no lock, creates nothing)")
			skipIfLocked := fs.Bool("skip-if-locked", false, "exit 0 at once, changing nothing, when another process holds the directory's lock (for cron: another run is rotating)")
			asJSON := fs.Bool("json", false, "print the plan as JSON")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			if err := checkNewKeyFlags(*alg, *bits); err != nil {
				return err
			}
			if *lead <= 0 || *grace <= 0 || *every < 0 {
				return usagef("--lead and --grace must be positive, --every not negative")
			}
			if *every > 0 && *every <= *lead {
				return usagef("--every (%s) must be longer than --lead (%s)", *every, *lead)
			}
			p := keydir.Policy{Lead: *lead, Grace: *grace, Every: *every, Algorithm: *alg, Bits: *bits, NewKey: *newKey}
			rep := rotateReport{Dir: *dir, DryRun: *dryRun}
			plan := func(ring *keys.Ring) {
				rep.Time = time.Now().UTC()
				rep.Steps = keydir.Plan(ring, rep.Time, p)
				for _, s := range rep.Steps {
					if k, err := ring.Lookup(s.KID); err == nil && s.Action == keydir.ActionRemove && k.Ref != "" {
						rep.StillInService = append(rep.StillInService, k.Ref)
					}
				}
			}
			d := changeDir(e, fs, *dir)
			var err error // of the steps carried out
			if *dryRun {
				// No lock: a dry run creates nothing, not even the directory.
				ring, lerr := d.LoadRing()
				if lerr != nil {
					return lerr
				}
				plan(ring)
			} else {
				if *skipIfLocked {
					d.LockTimeout = -1
				}
				uerr := d.Update(ctx, func(tx *keydir.Tx) error {
					plan(tx.Ring())
					rep.Added, err = tx.Apply(ctx, rep.Steps, rep.Time, p)
					return nil
				})
				if *skipIfLocked && errors.Is(uerr, keydir.ErrLocked) {
					rep.Time, rep.Skipped = time.Now().UTC(), uerr.Error()
					if *asJSON {
						enc := json.NewEncoder(e.stdout)
						enc.SetIndent("", "  ")
						return enc.Encode(rep)
					}
					fmt.Fprintf(e.stdout, "keys rotate skipped %s: another process is changing it (--skip-if-locked): %v\n", *dir, uerr)
					return nil
				}
				if uerr != nil {
					return uerr
				}
			}
			if *asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(rep); jerr != nil {
					return jerr
				}
			} else {
				printPlan(e.stdout, rep)
			}
			if err != nil {
				return fmt.Errorf("rotation stopped part way (run it again to continue): %w", err)
			}
			return nil
		},
	}
}

func printPlan(w io.Writer, rep rotateReport) {
	verb := "did"
	if rep.DryRun {
		verb = "would do"
	}
	fmt.Fprintf(w, "keys rotate %s in %s at %s:\n", verb, rep.Dir, rep.Time.Format(time.RFC3339))
	addIdx := 0
	for _, s := range rep.Steps {
		kid := s.KID
		if s.Action == keydir.ActionAdd && addIdx < len(rep.Added) {
			kid = rep.Added[addIdx]
			addIdx++
		}
		line := fmt.Sprintf("  %-8s %s", s.Action, kid)
		if s.Action == keydir.ActionWait && !s.At.IsZero() {
			line += " until " + s.At.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s: %s\n", strings.TrimRight(line, " "), s.Reason)
	}
	for _, ref := range rep.StillInService {
		fmt.Fprintf(w, "  note: the removed key %s still exists in its key service: delete or disable it there when you are sure\n", ref)
	}
}
