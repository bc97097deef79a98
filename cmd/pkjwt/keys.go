package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
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

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
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

// addKey adds k to the key directory dir in one transaction (see
// keydir.Dir.Update: a kid or a key already there is refused before
// anything is written; the first key of an empty directory is saved as
// having signed, see keydir.Tx.Add), and warns when an active k takes over from
// another active key. what names the key in the warning ("new", "imported").
func addKey(ctx context.Context, e *env, fs *flag.FlagSet, dir string, k *keys.Key, what string) error {
	var prev *keys.Key
	err := changeDir(e, fs, dir).Update(ctx, func(tx *keydir.Tx) error {
		if k.State == keys.StateActive {
			prev, _ = tx.Ring().SigningKey()
		}
		return tx.Add(k)
	})
	if err != nil {
		return err
	}
	if prev != nil {
		fmt.Fprintf(e.stderr, "warning: %s already had the active key %s; the %s key signs from now on.\n"+
			"NHS England caches a JWKS for up to an hour and rejects an unknown kid meanwhile: for a\n"+
			"rotation, add the key with --state pending, publish the JWKS, and an hour later run\n"+
			"'pkjwt keys activate --kid KID' (or run 'pkjwt keys rotate' every hour).\n", dir, prev.ID, what)
	}
	return nil
}
