package main

import (
	"context"

	"github.com/pkjwt/pkjwt/jwks"
)

func cmdJWKS() *command {
	return &command{
		name:    "jwks",
		args:    "[flags]",
		summary: "print the JWKS (public keys) of a key directory",
		detail: `Prints the JSON Web Key Set of every key in DIR: for each key exactly kty, use,
alg, kid and the public parameters (n, e). Nothing private is ever printed.
These are the same bytes 'pkjwt serve' serves at /.well-known/jwks.json.`,
		examples: `# The JWKS of ./.pkjwt/keys on stdout
pkjwt jwks

# Publish it as a static file, verified (see 'pkjwt jwks publish --help')
pkjwt jwks publish --to file:public/jwks.json`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			ring, err := openDir(fs, *dir).LoadRing()
			if err != nil {
				return err
			}
			if ring.Len() == 0 {
				return noKeys(*dir)
			}
			b, err := jwks.MarshalRing(ring)
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(b)
			return err
		},
	}
}
