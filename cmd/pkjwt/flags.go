package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// newFlags returns a flag set for c whose --help prints c's usage.
func newFlags(e *env, c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("pkjwt "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, flags and arguments in any order ("call URL
// --header …" as well as "call --header … URL"; everything after "--" is an
// argument), then fills the flags of the allow-list (settings) that the
// command line did not give from their environment variables, then from
// the --config file (if the command has one), remembering where each value
// came from (see origin). A variable set for a command-line-only flag is
// ignored with a warning. It returns errHelp after printing help, or a
// usage error. Afterwards fs.Args() holds the arguments.
func parseFlags(e *env, c *command, fs *flag.FlagSet, args []string) error {
	var positional []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(e.stdout, fs, c)
				return errHelp
			}
			return parseError(fs, err)
		}
		if fs.NArg() == 0 {
			break
		}
		consumed := len(rest) - fs.NArg()
		if consumed > 0 && rest[consumed-1] == "--" {
			positional = append(positional, fs.Args()...)
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if err := fs.Parse(append([]string{"--"}, positional...)); err != nil {
		return usagef("%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	allowed := map[string]string{} // flag -> variable
	reads := map[string]bool{}     // variables this command reads
	for _, s := range commandSettings(c.name) {
		if fs.Lookup(s.flag) != nil {
			allowed[s.flag] = s.env
			reads[s.env] = true
		}
	}
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if bad != nil {
			return
		}
		// A variable named after the flag that this command does not read.
		if plain := "PKJWT_" + envName(f.Name); !reads[plain] && e.getenv(plain) != "" {
			if v, ok := allowed[f.Name]; ok {
				fmt.Fprintf(e.stderr, "warning: %s is ignored: 'pkjwt %s --%s' reads %s\n", plain, c.name, f.Name, v)
			} else {
				fmt.Fprintf(e.stderr, "warning: %s is ignored: --%s is taken only from the command line\n", plain, f.Name)
			}
		}
		name, ok := allowed[f.Name]
		if !ok || set[f.Name] {
			return
		}
		if v := e.getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				bad = usagef("%s: %s", name, badValue(v, err))
				return
			}
			f.Value = &originValue{Value: f.Value, origin: name}
			set[f.Name] = true
		}
	})
	if bad != nil {
		return bad
	}
	if cf := fs.Lookup("config"); cf != nil && cf.Value.String() != "" {
		if err := applyConfigFile(fs, cf.Value.String(), set, allowed); err != nil {
			return err
		}
	}
	return nil
}

// parseError is the usage error for an error of fs.Parse, its flags
// written with two dashes; an unknown flag gets the nearest flag of fs
// ("--profle": did you mean --profile?).
func parseError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimPrefix(name, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		msg = "flag provided but not defined: --" + name
		if n := closest(names, name); n != "" {
			msg += "; did you mean --" + n + "?"
		}
		return usagef("%s", msg)
	}
	return usagef("%s", strings.Replace(msg, " for flag -", " for flag --", 1))
}

// badValue says why v is not a value of its flag, quoting v unless err
// already does ("parse error" alone does not say what was parsed).
func badValue(v string, err error) string {
	if strings.Contains(err.Error(), strconv.Quote(v)) {
		return err.Error()
	}
	return fmt.Sprintf("invalid value %q: %v", v, err)
}

// noArgs rejects positional arguments.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
