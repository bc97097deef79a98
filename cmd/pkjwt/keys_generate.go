package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pkjwt/pkjwt/keys"
)

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
			if err := addKey(ctx, e, fs, *dir, k, "new"); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, k.ID)
			return nil
		},
	}
}
