package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/pkjwt/pkjwt/keys"
)

func dirFlag(fs *flag.FlagSet) *string {
	return fs.String("dir", keys.DefaultDir, "key directory (private keys, mode 0600, in a 0700 directory)")
}

func cmdKeysGenerate() *command {
	return &command{
		name:    "keys generate",
		args:    "[--dir DIR] [--bits 4096] [--alg RS512]",
		summary: "generate a signing key and print its kid",
		detail: `Generates a key with crypto/rand and stores it as <kid>.pem (PKCS#8, mode 0600)
with a metadata file <kid>.json in DIR. The kid is the key's RFC 7638 SHA-256
JWK thumbprint. RSA keys default to 4096 bits (NHS England's requirement);
fewer than 2048 bits are refused.`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			bits := fs.Int("bits", keys.DefaultRSABits, "RSA modulus size in bits (ignored for ES256/ES384)")
			alg := fs.String("alg", keys.DefaultAlgorithm, "JWS algorithm: RS256/384/512, PS256/384/512, ES256, ES384")
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
			k, err := keys.Generate(*alg, *bits)
			if err != nil {
				return usagef("%v", err)
			}
			k.State = st
			d := keys.Dir{Path: *dir}
			ring, ringErr := d.LoadRing() // only for the warning below; a damaged directory does not stop a new key
			if err := d.Save(k); err != nil {
				return err
			}
			if st == keys.StateActive && ringErr == nil {
				if prev, err := ring.SigningKey(); err == nil {
					fmt.Fprintf(e.stderr, "warning: %s already had the active key %s; the new key signs from now on.\n"+
						"NHS England caches a JWKS for up to an hour and rejects an unknown kid meanwhile: for a\n"+
						"rotation, generate with --state pending, publish the JWKS, and an hour later run\n"+
						"'pkjwt keys activate --kid KID'.\n", *dir, prev.ID)
				}
			}
			fmt.Fprintln(e.stdout, k.ID)
			return nil
		},
	}
}

// keyListing is the JSON form of one key in "keys list --json".
type keyListing struct {
	KID       string     `json:"kid"`
	Algorithm string     `json:"alg"`
	Bits      int        `json:"bits"`
	State     keys.State `json:"state"`
	Created   time.Time  `json:"created"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	Signing   bool       `json:"signing"`
}

func cmdKeysList() *command {
	return &command{
		name:    "keys list",
		args:    "[--dir DIR] [--json]",
		summary: "list the keys in a key directory",
		detail:  "Lists every key, newest first, with its state and whether it is the one that signs now.",
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
			ring, err := (keys.Dir{Path: *dir}).LoadRing()
			if err != nil {
				return err
			}
			signer, _ := ring.SigningKey()
			list := []keyListing{}
			for _, k := range ring.Keys() {
				l := keyListing{KID: k.ID, Algorithm: k.Algorithm, Bits: k.Bits(), State: k.State, Created: k.Created, Signing: signer == k}
				if !k.NotBefore.IsZero() {
					nb := k.NotBefore
					l.NotBefore = &nb
				}
				list = append(list, l)
			}
			if *asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			if len(list) == 0 {
				fmt.Fprintf(e.stderr, "no keys in %s; create one with 'pkjwt keys generate --dir %s'\n", *dir, *dir)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tALG\tBITS\tSTATE\tCREATED\tSIGNING")
			for _, l := range list {
				sign := ""
				if l.Signing {
					sign = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", l.KID, l.Algorithm, l.Bits, l.State, l.Created.Format(time.RFC3339), sign)
			}
			return tw.Flush()
		},
	}
}

func cmdKeysActivate() *command {
	return &command{
		name:    "keys activate",
		args:    "[--dir DIR] --kid KID",
		summary: "make a pending key active (it signs from now on, being the newest)",
		detail: `Sets the state of key KID to active. The newest active key signs. Run it only
after the key has been published for longer than the relying party caches
your JWKS (NHS England: one hour), or its token requests will fail with
"Invalid 'kid' header in client_assertion JWT - no matching public key".`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			kid := fs.String("kid", "", "the key to activate")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			if *kid == "" {
				return usagef("--kid is required")
			}
			d := keys.Dir{Path: *dir}
			k, err := d.Load(*kid)
			if err != nil {
				return err
			}
			if k.State == keys.StateActive {
				fmt.Fprintf(e.stderr, "%s is already active\n", k.ID)
				return nil
			}
			k.State = keys.StateActive
			return d.SaveMeta(k)
		},
	}
}
