package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxConfigFile bounds the size of a --config file.
const maxConfigFile = 1 << 20

// newFlags returns a flag set for c whose --help prints c's usage.
func newFlags(e *env, c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("pkjwt "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func printUsage(w io.Writer, fs *flag.FlagSet, c *command) {
	fmt.Fprintf(w, "Usage: pkjwt %s %s\n\n%s\n", c.name, c.args, c.summary)
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.detail))
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if len(names) > 0 {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintf(w, "\nEach flag can also be set with PKJWT_<FLAG> (e.g. PKJWT_%s)", envName(names[0]))
		switch {
		case fs.Lookup("config") != nil:
			fmt.Fprint(w, " or as a key of the --config YAML file (e.g. client-id: ...)")
			fmt.Fprintln(w, ".\nPrecedence: flag, then environment, then config file, then profile defaults.")
		default:
			fmt.Fprintln(w, "; a flag wins over its variable.")
		}
	}
}

func envName(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, flags and arguments in any order ("call URL
// --header …" as well as "call --header … URL"; everything after "--" is an
// argument), then fills every flag not given on the command line from
// PKJWT_<FLAG>, then from the --config file (if the command has one). It
// returns errHelp after printing help, or a usage error. Afterwards
// fs.Args() holds the arguments.
func parseFlags(e *env, c *command, fs *flag.FlagSet, args []string) error {
	var positional []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(e.stdout, fs, c)
				return errHelp
			}
			return usagef("%v", err)
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

	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || bad != nil {
			return
		}
		if commandLineOnly(f.Name) {
			if e.getenv("PKJWT_"+envName(f.Name)) != "" {
				fmt.Fprintf(e.stderr, "warning: PKJWT_%s is ignored: --%s is taken only from the command line\n", envName(f.Name), f.Name)
			}
			return
		}
		name := "PKJWT_" + envName(f.Name)
		if v := e.getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				bad = usagef("environment variable %s: %v", name, err)
				return
			}
			set[f.Name] = true
		}
	})
	if bad != nil {
		return bad
	}
	if cf := fs.Lookup("config"); cf != nil && cf.Value.String() != "" {
		if err := applyConfigFile(fs, cf.Value.String(), set); err != nil {
			return err
		}
	}
	return nil
}

// applyConfigFile sets flags not yet set from a YAML map of flag names
// (dashes or underscores) to scalar values.
func applyConfigFile(fs *flag.FlagSet, path string, set map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return usagef("config file: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return fmt.Errorf("read config file %s: %w", path, err)
	}
	if len(data) > maxConfigFile {
		return usagef("config file %s is larger than %d bytes", path, maxConfigFile)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return usagef("config file %s: %v", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := strings.ReplaceAll(k, "_", "-")
		if name == "config" || fs.Lookup(name) == nil {
			return usagef("config file %s: unknown key %q", path, k)
		}
		if commandLineOnly(name) {
			return usagef("config file %s: %q may only be given on the command line", path, k)
		}
		if set[name] {
			continue
		}
		var v string
		switch x := m[k].(type) {
		case string:
			v = x
		case bool, int, float64:
			v = fmt.Sprint(x)
		case nil:
			continue
		default:
			return usagef("config file %s: key %q must be a single value", path, k)
		}
		if err := fs.Set(name, v); err != nil {
			return usagef("config file %s: key %q: %v", path, k, err)
		}
	}
	return nil
}

// commandLineOnly reports whether a flag may be set only on the command
// line: a shared config file or an exported variable must not quietly make
// a command print a secret.
func commandLineOnly(name string) bool { return name == "show-token" }

// noArgs rejects positional arguments.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
