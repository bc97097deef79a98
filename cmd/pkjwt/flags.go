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
		if fs.Lookup("config") != nil {
			fmt.Fprint(w, " or as a key of the --config YAML file (e.g. client-id: ...)")
		}
		fmt.Fprintln(w, ".\nPrecedence: flag, then environment, then config file, then profile defaults.")
	}
}

func envName(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then fills every flag not given on the command
// line from PKJWT_<FLAG>, then from the --config file (if the command has
// one). It returns errHelp after printing help, or a usage error.
func parseFlags(e *env, c *command, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(e.stdout, fs, c)
			return errHelp
		}
		return usagef("%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || bad != nil || commandLineOnly(f.Name) {
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
