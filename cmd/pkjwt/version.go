package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// versionInfo describes the binary from its build information: the module
// version (set by 'go install …@vX'), the VCS revision and time it was built
// from (set by 'go build' in a checkout), and the Go version.
func versionInfo() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "pkjwt (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	s := "pkjwt " + v
	var rev, at, modified string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			at = kv.Value
		case "vcs.modified":
			modified = kv.Value
		}
	}
	if rev != "" {
		s += " revision " + rev
		if modified == "true" {
			s += "+modified"
		}
	}
	if at != "" {
		s += " (" + at + ")"
	}
	return s + " " + bi.GoVersion
}

func cmdVersion() *command {
	return &command{
		name:    "version",
		args:    "",
		summary: "print the version, VCS revision and Go version of this binary",
		detail:  "Also printed by 'pkjwt --version'. Quote it when you report a problem.",
		examples: `pkjwt version
pkjwt --version`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, versionInfo())
			return nil
		},
	}
}
