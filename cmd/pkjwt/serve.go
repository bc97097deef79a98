package main

import (
	"context"
	"fmt"

	"github.com/pkjwt/pkjwt/internal/listen"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
	"github.com/pkjwt/pkjwt/webapp"
)

func cmdServe() *command {
	return &command{
		name:    "serve",
		args:    "[flags]",
		summary: "run the sample web app (System to System Call, JWKS, health checks)",
		detail: `Serves the sample web app on ADDR:
  /                        the configuration at a glance (never a secret)
  /system-to-system        gets a token, calls --call-url, shows the result
  /.well-known/jwks.json   the JWKS of --dir (the bytes of 'pkjwt jwks')
  /healthz, /readyz        liveness and readiness
--call-url may be relative to the profile's API base (--api-url), e.g. the
default Patient/9000000009. Key changes in --dir (a key generated, activated
or removed) are picked up every --key-reload without a restart, by the JWKS and
the signer alike. The access token never leaves the server. Logs
one line per request on stderr. SIGINT or SIGTERM shuts it down gracefully.
With --addr 127.0.0.1:0 it listens on any free port; --addr-file FILE
writes the address it listens on to FILE (removed when it stops).`,
		examples: `# The web app for NHS INT, its JWKS at https://app.example.org/.well-known/jwks.json
pkjwt serve --profile nhs-int --client-id "$API_KEY" --public-url https://app.example.org

# On loopback against the emulator
pkjwt serve --profile local --client-id my-app --addr 127.0.0.1:8080`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			cf := addClientFlags(fs)
			addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
			addrFile := fs.String("addr-file", "", "write the address it listens on to this file once it listens (for --addr 127.0.0.1:0)")
			callURL := fs.String("call-url", webapp.DefaultPatientPath, "URL the System to System Call requests, absolute or relative to the API base")
			reload := fs.Duration("key-reload", keyReloadInterval, "how often to look for key changes in --dir (new, activated, removed keys); 0 turns it off")
			lf := addLogFlags(fs)
			publicURL := fs.String("public-url", "", "the app's own base URL: shown as the JWKS URL, and the only non-loopback Host the app answers (required to serve under a host name; default: loopback Hosts only)")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			log, err := lf.logger(e.stderr)
			if err != nil {
				return err
			}
			if err := cf.applyConfigFrom(ctx); err != nil {
				return err
			}
			p, err := cf.resolveProfile()
			if err != nil {
				return err
			}
			target, err := resolveURL(p.APIBaseURL, *callURL)
			if err != nil {
				return usagef("%s: %v", origin(fs, "call-url"), err)
			}
			if *reload < 0 {
				return usagef("%s: must not be negative", origin(fs, "key-reload"))
			}
			src, err := cf.openKeys(ctx, e)
			if err != nil {
				return err
			}
			ts, err := cf.tokenSourceWith(src)
			if err != nil {
				return err
			}
			if ds, ok := src.(*keydir.DirSource); ok && *reload > 0 {
				go ds.Watch(ctx, *reload, func(r *keys.Ring) {
					k, _ := r.SigningKey()
					kid := ""
					if k != nil {
						kid = k.ID
					}
					log.Info("keys reloaded", "keys", r.Len(), "signing_kid", kid)
				}, func(err error) { log.Warn("key reload failed", "error", err.Error()) })
			}
			app, err := webapp.New(webapp.Config{TokenSource: ts, CallURL: target, PublicURL: *publicURL, Logger: log})
			if err != nil {
				return usagef("%v", err)
			}
			defer app.Close()
			ln, err := listen.Listen(ctx, *addr)
			if err != nil {
				return err
			}
			if *addrFile != "" {
				remove, err := listen.WriteAddrFile(*addrFile, ln.Addr())
				if err != nil {
					ln.Close()
					return err
				}
				defer remove()
			}
			fmt.Fprintf(e.stdout, "Serving the pkjwt web app on http://%s/ (profile %s, API %s)\n", ln.Addr(), p.Name, target)
			return webapp.Serve(ctx, webapp.NewServer(app.Handler()), ln)
		},
	}
}
