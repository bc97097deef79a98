package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/internal/listen"
	"github.com/pkjwt/pkjwt/internal/loopback"
	"github.com/pkjwt/pkjwt/internal/textsafe"
)

func cmdEmulator() *command {
	return &command{
		name:    "emulator",
		args:    "[flags]",
		summary: "run the offline NHS token endpoint and PDS-like API emulator",
		detail: `Serves, on ADDR (loopback by default):
  POST /oauth2/token                          NHS's signed-JWT client credentials token endpoint
  GET  /personal-demographics/FHIR/R4/Patient PDS-like FHIR API over synthetic patients (bearer token)
  GET  /personal-demographics/FHIR/R4-sandbox the same without authentication (--sandbox)
  GET  /hello-world/hello/application         Hello World (bearer token)
Apps come from --apps (YAML or JSON, see docs/emulator.md) and/or
--app-key with --app-jwks-url, which registers one approved app with the PDS
scope. The assertion's aud must equal the token URL printed at start, which
is built from --public-url (default http://ADDR). Logs one line per request
on stderr, never a token or an assertion. SIGINT or SIGTERM stops it.
With --addr 127.0.0.1:0 it listens on any free port; --addr-file FILE
writes the address it listens on to FILE (removed when it stops).

Fault injection (off by default; see docs/emulator.md): --latency,
--drop-rate, --fail-rate, --rate-limit-fraction and --jwks-unreachable, on the
--fault-target token endpoint, PDS API or both; --fault-count N clears each
fault after N hits, so a client can be watched recovering.`,
		examples: `# One app, whose JWKS the web app serves ('pkjwt serve --profile local')
pkjwt emulator --app-key my-app --app-jwks-url http://127.0.0.1:8080/.well-known/jwks.json

# Apps from a file (docs/emulator.md), and the unauthenticated sandbox PDS too
pkjwt emulator --apps apps.yaml --sandbox

# A flaky token endpoint: one request in five answers 500, to test retries
pkjwt emulator --apps apps.yaml --fail-rate 0.2 --fault-target token`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			addr := fs.String("addr", "127.0.0.1:9000", "address to listen on")
			addrFile := fs.String("addr-file", "", "write the address it listens on to this file once it listens (for --addr 127.0.0.1:0)")
			appsFile := fs.String("apps", "", "apps file (YAML or JSON)")
			publicURL := fs.String("public-url", "", "base URL the emulator advertises (default http://ADDR)")
			appKey := fs.String("app-key", "", "register one approved app with this API key (client id) and the PDS scope")
			appJWKS := fs.String("app-jwks-url", "", "the JWKS URL of the --app-key app")
			ttl := fs.Duration("jwks-cache-ttl", emulator.DefaultJWKSCacheTTL, "how long a fetched JWKS is cached")
			refetch := fs.Bool("refetch-unknown-kid", false, "refetch a cached JWKS when the kid is unknown (NHS does not)")
			sandbox := fs.Bool("sandbox", false, "also serve the PDS API without authentication under "+emulator.PDSSandboxBasePath)
			tokenRate := fs.Int("token-rate-limit", 0, "token requests per app per minute (0: off)")
			pdsRate := fs.Int("pds-rate-limit", 0, "PDS requests per app per second (0: off)")
			faultFlags := addFaultFlags(fs)
			lf := addLogFlags(fs)
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			if (*appKey == "") != (*appJWKS == "") {
				return usagef("--app-key and --app-jwks-url go together")
			}
			if *tokenRate < 0 || *pdsRate < 0 {
				return usagef("rate limits must not be negative")
			}
			if *ttl <= 0 {
				return usagef("--jwks-cache-ttl must be positive")
			}
			faults, err := faultFlags.faults()
			if err != nil {
				return err
			}
			var apps []emulator.App
			if *appsFile != "" {
				if apps, err = emulator.LoadApps(*appsFile); err != nil {
					return fmt.Errorf("%s: %w", origin(fs, "apps"), err)
				}
			}
			if *appKey != "" {
				apps = append(apps, emulator.App{
					Name: "app " + *appKey, APIKey: *appKey, JWKSURL: *appJWKS,
					Status: emulator.StatusApproved, Scopes: []string{emulator.PDSScope},
				})
			}
			ln, err := listen.Listen(ctx, *addr)
			if err != nil {
				return err
			}
			defer ln.Close()
			listenURL := "http://" + ln.Addr().String()
			if *publicURL == "" {
				*publicURL = listenURL
			}
			log, err := lf.logger(e.stderr)
			if err != nil {
				return err
			}
			emu, err := emulator.New(emulator.Config{
				PublicURL: *publicURL, Apps: apps, JWKSCacheTTL: *ttl, RefetchUnknownKid: *refetch,
				Sandbox: *sandbox, TokenRateLimit: *tokenRate, PDSRateLimit: *pdsRate, Logger: log,
				Faults: faults,
			})
			if err != nil {
				return usagef("%v", err)
			}
			if !loopback.Addr(ln.Addr()) {
				fmt.Fprintf(e.stderr, "pkjwt emulator: warning: listening on %s, not loopback only\n", ln.Addr())
			}
			if *addrFile != "" {
				remove, err := listen.WriteAddrFile(*addrFile, ln.Addr())
				if err != nil {
					return err
				}
				defer remove()
			}
			base := strings.TrimRight(*publicURL, "/")
			fmt.Fprintf(e.stdout, "pkjwt emulator: listening on %s\n", listenURL)
			fmt.Fprintf(e.stdout, "  token URL:       %s\n", emu.TokenURL())
			fmt.Fprintf(e.stdout, "  PDS base URL:    %s\n", emu.PDSBaseURL())
			if *sandbox {
				fmt.Fprintf(e.stdout, "  sandbox PDS URL: %s%s (no authentication)\n", base, emulator.PDSSandboxBasePath)
			}
			fmt.Fprintf(e.stdout, "  hello-world URL: %s%s\n", base, emulator.HelloWorldPath)
			if len(apps) == 0 {
				fmt.Fprintln(e.stdout, "  no apps registered: every token request fails with row 19 (use --apps or --app-key)")
			}
			for _, f := range faults {
				fmt.Fprintf(e.stdout, "  fault: %s\n", describeFault(f))
			}
			for _, a := range emu.Apps() {
				jwksURL := a.JWKSURL
				if jwksURL == "" {
					jwksURL = "(none)"
				}
				fmt.Fprintf(e.stdout, "  app %q: api key %s, JWKS URL %s, status %s, scopes %s\n",
					a.Name, textsafe.Escape(a.APIKey), textsafe.Escape(jwksURL), textsafe.Escape(string(a.Status)), textsafe.Escape(strings.Join(a.Scopes, " ")))
			}
			err = listen.Serve(ctx, listen.NewServer(emu.Handler()), ln)
			fmt.Fprintln(e.stdout, "pkjwt emulator: stopped")
			return err
		},
	}
}
