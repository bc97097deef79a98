package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// dirFlag registers --dir and --insecure-key-permissions (see openDir).
func dirFlag(fs *flag.FlagSet) *string {
	fs.Bool(insecureFlag, false, "load private key files that group or others may read, or from a directory they may write to (refused by default)")
	return fs.String("dir", keydir.DefaultDir, "key directory (private keys, mode 0600, in a 0700 directory)")
}

// changeDir returns the key directory at path for a command that changes
// it (through keys.Dir.Update): while another process holds the
// directory's lock, the wait is told on stderr with the holder's pid.
func changeDir(e *env, fs *flag.FlagSet, path string) keydir.Dir {
	d := openDir(fs, path)
	d.OnLockWait = func(msg string) { fmt.Fprintf(e.stderr, "pkjwt: %s\n", msg) }
	return d
}

// leadFlag is --lead of the commands that activate keys.
func leadFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("lead", keydir.DefaultLead, "how long a key must have been published before it may sign (NHS England caches a JWKS for 1 hour)")
}

// graceFlag is --grace of the commands that remove keys.
func graceFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("grace", keydir.DefaultGrace, "how long a retired key stays published before it may be removed (JWKS cache + longest assertion and token lifetimes)")
}

func cmdKeysGenerate() *command {
	return &command{
		name:    "keys generate",
		args:    "[flags]",
		summary: "generate a signing key and print its kid",
		detail: `Generates a key with crypto/rand and stores it in DIR as a PKCS#8 PEM file
(mode 0600) with a metadata file, both named by the key's RFC 7638 thumbprint.
The kid is that thumbprint unless --kid gives another (printable ASCII, at most
128 characters). RSA keys default to 4096 bits (NHS England's requirement);
fewer than 2048 bits are refused. For a rotation, generate with --state pending,
publish the JWKS, and activate the key once relying parties have cached it
(or let 'pkjwt keys rotate' do all of it).`,
		examples: `# An RS512 key (RSA 4096, NHS England's requirement) in ./.pkjwt/keys; prints its kid
pkjwt keys generate

# The next key of a rotation: published by 'pkjwt jwks publish', signing once activated
pkjwt keys generate --state pending

# An ES256 key in another directory, for a server that accepts ES256 (NHS England does not)
pkjwt keys generate --dir es-keys --alg ES256`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			bits := fs.Int("bits", keys.DefaultRSABits, "RSA modulus size in bits (ignored for ES256/ES384)")
			alg := fs.String("alg", keys.DefaultAlgorithm, "JWS algorithm: "+algorithmsHelp())
			kid := fs.String("kid", "", "the key's kid (default: its RFC 7638 thumbprint)")
			state := fs.String("state", string(keys.StateActive), "initial state: active, or pending (published, not signing yet)")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			st := keys.State(*state)
			if st != keys.StateActive && st != keys.StatePending {
				return usagef("--state must be active or pending, not %q", *state)
			}
			if *kid != "" {
				if err := keys.ValidateKID(*kid); err != nil {
					return usagef("--kid: %v", err)
				}
			}
			if err := checkNewKeyFlags(*alg, *bits); err != nil {
				return err
			}
			k, err := keys.GenerateContext(ctx, *alg, *bits)
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted; nothing written: %w", ctx.Err())
			}
			if errors.Is(err, keys.ErrUnsupportedAlgorithm) {
				return usagef("--bits %d: %v", *bits, err) // refused before any work (too large)
			}
			if err != nil {
				return err
			}
			k.State, k.StateChanged = st, k.Created
			if *kid != "" {
				k.ID = *kid
			}
			var prev *keys.Key
			err = changeDir(e, fs, *dir).Update(ctx, func(tx *keydir.Tx) error {
				if st == keys.StateActive {
					prev, _ = tx.Ring().SigningKey()
				}
				markFirstSigner(k, tx.Ring())
				return tx.Add(k)
			})
			if err != nil {
				return err
			}
			if prev != nil {
				fmt.Fprintf(e.stderr, "warning: %s already had the active key %s; the new key signs from now on.\n"+
					"NHS England caches a JWKS for up to an hour and rejects an unknown kid meanwhile: for a\n"+
					"rotation, generate with --state pending, publish the JWKS, and an hour later run\n"+
					"'pkjwt keys activate --kid KID' (or run 'pkjwt keys rotate' every hour).\n", *dir, prev.ID)
			}
			fmt.Fprintln(e.stdout, k.ID)
			return nil
		},
	}
}

// checkNewKeyFlags checks --alg and --bits of a command that makes keys
// before any work: a bad value is a usage error (exit 2), while a failure
// of the work, key generation included, is a failure (exit 1).
func checkNewKeyFlags(alg string, bits int) error {
	curve, err := keys.AlgorithmCurve(alg)
	if err != nil {
		return usagef("--alg %q: unsupported signing algorithm (use %s)", alg, strings.Join(keys.Algorithms(), ", "))
	}
	if curve == nil && bits < keys.MinRSABits {
		return usagef("--bits %d: an RSA key has at least %d bits", bits, keys.MinRSABits)
	}
	return nil
}

// markFirstSigner records a new active key as having signed (keys.Key
// Signed) when it is the directory's first key: the key the app is
// registered with, which a later rollback may return to at once. A key
// added active to a directory that holds keys already (or does not load)
// signs without the lead, like a forced activation, and gets no date.
func markFirstSigner(k *keys.Key, ring *keys.Ring) {
	if k.State == keys.StateActive && ring.Len() == 0 {
		k.Signed = k.Created
	}
}

// keyListing is the JSON form of one key in "keys list --json".
type keyListing struct {
	KID          string     `json:"kid"`
	Algorithm    string     `json:"alg"`
	Bits         int        `json:"bits"`
	State        keys.State `json:"state"`
	Created      time.Time  `json:"created"`
	AgeSeconds   int64      `json:"age_seconds"`
	Published    *time.Time `json:"published,omitempty"`
	StateChanged *time.Time `json:"state_changed,omitempty"`
	Signed       *time.Time `json:"signed,omitempty"`
	NotBefore    *time.Time `json:"not_before,omitempty"`
	Ref          string     `json:"ref,omitempty"`
	Signing      bool       `json:"signing"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func cmdKeysList() *command {
	return &command{
		name:    "keys list",
		args:    "[flags]",
		summary: "list the keys in a key directory: state, age, publication, which one signs",
		detail: `Lists every key, newest first, with its state (pending, active, retired), its
age, when it was first published (by 'pkjwt jwks publish' or the first time the
web app's JWKS endpoint served it), where its private half lives (a file, or a
key service reference) and whether it is the one that signs now.`,
		examples: `# The keys of ./.pkjwt/keys, newest first
pkjwt keys list

# The same as JSON, for a script
pkjwt keys list --json`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			asJSON := fs.Bool("json", false, "print JSON")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
				return noKeys(*dir) // a missing directory is an error, an empty one an answer
			}
			ring, err := openDir(fs, *dir).LoadRing()
			if err != nil {
				return err
			}
			now := time.Now()
			signer, _ := ring.SignerAt(now)
			list := []keyListing{}
			for _, k := range ring.Keys() {
				list = append(list, keyListing{
					KID: k.ID, Algorithm: k.Algorithm, Bits: k.Bits(), State: k.State, Created: k.Created,
					AgeSeconds: int64(now.Sub(k.Created) / time.Second), Published: timePtr(k.Published),
					StateChanged: timePtr(k.StateChanged), Signed: timePtr(k.Signed), NotBefore: timePtr(k.NotBefore), Ref: k.Ref, Signing: signer != nil && signer.ID == k.ID,
				})
			}
			if *asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			if len(list) == 0 {
				fmt.Fprintf(e.stderr, "%v\nhint: %s\n", noKeys(*dir), noKeys(*dir).(*hintError).hint)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tALG\tBITS\tSTATE\tAGE\tPUBLISHED\tSIGNING\tWHERE")
			for _, l := range list {
				sign, pub, where := "", "never", "file"
				if l.Signing {
					sign = "yes"
				}
				if l.Published != nil {
					pub = age(now.Sub(*l.Published)) + " ago"
				}
				if l.Ref != "" {
					where = l.Ref
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", l.KID, l.Algorithm, l.Bits, l.State, age(now.Sub(l.Created)), pub, sign, where)
			}
			return tw.Flush()
		},
	}
}

// age prints a duration the way a person reads a key's age.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// keyOp is a life-cycle command's hold on one key, inside a transaction
// on the key directory: the transaction, the ring read inside the lock and
// the key.
type keyOp struct {
	tx   *keydir.Tx
	ring *keys.Ring
	key  *keys.Key
}

// updateKey parses a life-cycle command's flags, then runs fn on the key
// --kid names inside one transaction on the key directory (see
// keys.Dir.Update): under its lock, with the ring read inside it.
func updateKey(ctx context.Context, e *env, c *command, fs *flag.FlagSet, args []string, dir, kid *string, fn func(op *keyOp) error) error {
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *kid == "" {
		return usagef("--kid is required")
	}
	return changeDir(e, fs, *dir).Update(ctx, func(tx *keydir.Tx) error {
		ring := tx.Ring()
		k, err := ring.Lookup(*kid)
		if err != nil {
			return fmt.Errorf("%s: %w", *dir, err)
		}
		return fn(&keyOp{tx: tx, ring: ring, key: k})
	})
}

func cmdKeysActivate() *command {
	return &command{
		name:    "keys activate",
		args:    "--kid KID [flags]",
		summary: "make a key the signing key (refused until it has been published for the lead time)",
		detail: `Makes key KID the signing key and retires the key that signed before it (it
stays published). A pending key must have been published (by 'pkjwt jwks
publish', or served by the web app's JWKS endpoint) for at least --lead: NHS
England caches a JWKS for an hour and does not refetch it for an unknown kid, so
a key activated sooner fails every token request with "Invalid 'kid' header in
client_assertion JWT - no matching public key". The refusal says when it will
be safe. --force activates anyway, with a warning; a key activated so early
never counts as published long enough afterwards.

A retired key that signed before (after a full lead, or as the directory's
first key) can be activated again at once: this is the rollback, since relying
parties have known it since it signed and a retired key stays published. Any
other retired key goes through the lead like a pending key.`,
		examples: `# Make the pending key KID sign, once it has been published for --lead (65 minutes)
pkjwt keys activate --kid KID

# Roll back to the key that signed before KID (at once: it signed, and stays published)
pkjwt keys activate --kid PREVIOUS_KID`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			kid := fs.String("kid", "", "the key to activate")
			lead := leadFlag(fs)
			force := fs.Bool("force", false, "activate even if the key has not been published for --lead (token requests may fail for up to an hour)")
			return updateKey(ctx, e, c, fs, args, dir, kid, func(op *keyOp) error {
				tx, ring, k := op.tx, op.ring, op.key
				now := time.Now()
				if signer, err := ring.SignerAt(now); err == nil && signer.ID == k.ID {
					fmt.Fprintf(e.stderr, "%s is already the signing key\n", k.ID)
					return nil
				}
				guard := keydir.CheckActivate(k, now, *lead)
				if guard != nil {
					if !*force {
						return fmt.Errorf("%w\n(--force activates it anyway; token requests may fail until relying parties refetch the JWKS)", guard)
					}
					fmt.Fprintf(e.stderr, "warning: --force: %v\n"+
						"warning: this early activation does not count as published long enough: after a rollback, activating %s again waits for the lead\n", guard, k.ID)
				}
				if k.State == keys.StateRetired && guard == nil {
					fmt.Fprintf(e.stderr, "rollback: %s signs again (it signed from %s and has stayed published)\n", k.ID, k.Signed.UTC().Format(time.RFC3339))
				}
				if err := tx.Activate(k.ID, now, *lead, *force); err != nil {
					return err
				}
				for _, o := range ring.Keys() {
					if o.ID != k.ID && o.State == keys.StateActive {
						if err := tx.SetState(o.ID, keys.StateRetired, now); err != nil {
							return err
						}
						fmt.Fprintf(e.stderr, "retired %s (still published)\n", o.ID)
					}
				}
				fmt.Fprintf(e.stdout, "%s is the signing key\n", k.ID)
				return nil
			})
		},
	}
}

func cmdKeysRetire() *command {
	return &command{
		name:    "keys retire",
		args:    "--kid KID [flags]",
		summary: "stop a key signing; it stays published for the grace period",
		detail: `Sets key KID to retired: it no longer signs but stays in the JWKS, so tokens and
assertions it signed still verify. Retiring the only key that can sign is
refused (activate another key first) unless --force is given. A pending key
never signed and is not retired: remove it with 'pkjwt keys remove'.`,
		examples: `# Stop key KID signing (another key must be active); it stays in the JWKS
pkjwt keys retire --kid KID`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			kid := fs.String("kid", "", "the key to retire")
			force := fs.Bool("force", false, "retire even the only signing key (every token request fails until a key is activated)")
			return updateKey(ctx, e, c, fs, args, dir, kid, func(op *keyOp) error {
				tx, ring, k := op.tx, op.ring, op.key
				if k.State == keys.StateRetired {
					fmt.Fprintf(e.stderr, "%s is already retired\n", k.ID)
					return nil
				}
				if err := keydir.CheckRetire(k); err != nil {
					return err
				}
				now := time.Now()
				if signer, err := ring.SignerAt(now); err == nil && signer.ID == k.ID {
					others := 0
					for _, o := range ring.Keys() {
						if o.ID != k.ID && o.CanSign(now) {
							others++
						}
					}
					if others == 0 {
						err := fmt.Errorf("%s is the only key that can sign; activate another key first: %w", k.ID, keydir.ErrIsSigningKey)
						if !*force {
							return err
						}
						fmt.Fprintf(e.stderr, "warning: --force: %v\n", err)
					}
				}
				if err := tx.SetState(k.ID, keys.StateRetired, now); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s is retired\n", k.ID)
				return nil
			})
		},
	}
}

func cmdKeysRemove() *command {
	return &command{
		name:    "keys remove",
		args:    "--kid KID [flags]",
		summary: "delete a retired or pending key (refused for the signing key and inside the grace)",
		detail: `Deletes key KID (its private key file first, then its metadata) so that it
leaves the JWKS. The signing key and other active keys are refused (retire them
first), and so is a retired key retired less than --grace ago, since tokens and
assertions it signed may still be checked against the JWKS. --force removes a
retired key inside its grace, never an active one. A key held by a key service
is only forgotten here: delete it in the service yourself.`,
		examples: `# Delete the retired (or pending) key KID once its grace is over
pkjwt keys remove --kid KID`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			kid := fs.String("kid", "", "the key to remove")
			grace := graceFlag(fs)
			force := fs.Bool("force", false, "remove a retired key even inside its grace period")
			return updateKey(ctx, e, c, fs, args, dir, kid, func(op *keyOp) error {
				tx, ring, k := op.tx, op.ring, op.key
				if err := keydir.CheckRemove(ring, k, time.Now(), *grace); err != nil {
					if !*force || !errors.Is(err, keydir.ErrInGrace) {
						return err
					}
					fmt.Fprintf(e.stderr, "warning: --force: %v\n", err)
				}
				if err := tx.Remove(k.ID); err != nil {
					return err
				}
				if k.Ref != "" {
					fmt.Fprintf(e.stderr, "%s lives in %s: delete or disable it there when you are sure\n", k.ID, k.Ref)
				}
				fmt.Fprintf(e.stdout, "%s is removed\n", k.ID)
				return nil
			})
		},
	}
}

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
