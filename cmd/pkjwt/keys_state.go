package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

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
