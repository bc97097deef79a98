package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pkjwt/pkjwt/internal/httpx"
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

// printUsage prints c's help: its usage line, summary and detail, its
// subcommands, its flags (with the ones that may come from the
// environment or a config file), and its examples.
func printUsage(w io.Writer, fs *flag.FlagSet, c *command) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", strings.TrimSpace("pkjwt "+c.name+" "+c.args), c.summary)
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.detail))
	}
	if subs := subcommands(commands(), c.name); len(subs) > 0 {
		fmt.Fprintln(w, "\nCommands:")
		for _, s := range subs {
			fmt.Fprintf(w, "  %-16s %s\n", s.name, s.summary)
		}
	}
	fmt.Fprintln(w, "\nFlags:")
	printFlags(w, fs)
	defer printExamples(w, c)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if len(names) == 0 {
		return
	}
	hasConfig := fs.Lookup("config") != nil
	var rows []setting
	for _, s := range commandSettings(c.name) {
		if fs.Lookup(s.flag) != nil {
			rows = append(rows, s)
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "\nEvery flag is taken only from the command line.")
		return
	}
	if hasConfig {
		fmt.Fprintln(w, "\nConfiguration that may also come from an environment variable or, under the flag's")
		fmt.Fprintln(w, "name, from the --config YAML file (e.g. client-id: ...):")
	} else {
		fmt.Fprintln(w, "\nConfiguration that may also come from an environment variable:")
	}
	for _, s := range rows {
		fmt.Fprintf(w, "  --%-22s %s\n", s.flag, s.env)
	}
	fmt.Fprintln(w, "Every other flag is taken only from the command line: no variable or file can force")
	fmt.Fprintln(w, "an action, print a secret or weaken a check.")
	if hasConfig {
		fmt.Fprintln(w, "Precedence: flag, then environment, then config file, then profile defaults.")
	} else {
		fmt.Fprintln(w, "A flag wins over its variable.")
	}
}

// printExamples prints c's examples, indented.
func printExamples(w io.Writer, c *command) {
	if c.examples == "" {
		return
	}
	fmt.Fprintln(w, "\nExamples:")
	for _, l := range strings.Split(strings.TrimSpace(c.examples), "\n") {
		if l == "" {
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// envName is a flag name as the tail of a variable name: upper case,
// dashes as underscores.
func envName(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// setting is a flag that is configuration: it may come from an environment
// variable and, for a command with --config, from the config file.
type setting struct {
	flag string   // the flag's name
	env  string   // the variable it reads
	cmds []string // the commands whose flag it is
}

// settings is the one allow-list of the flags that may come from the
// environment or a config file. Every flag it does not name is taken only
// from the command line: --force, --insecure-key-permissions, --show-token,
// --lead, --grace, --dry-run, a --kid that names the key a keys command
// acts on, and everything else that acts, prints a secret or weakens a
// check. A variable has one meaning: where commands give a flag name
// different meanings (--addr of serve, emulator and demo; --dir of demo)
// each reads its own variable.
func settings() []setting {
	one := func(cmd string) []string { return []string{cmd} }
	clientCommands := []string{"token", "call", "check", "serve"}
	dirCommands := append([]string{"keys generate", "keys list", "keys activate", "keys import", "keys export",
		"keys retire", "keys remove", "keys rotate", "jwks", "jwks publish"}, clientCommands...)
	logCommands := []string{"serve", "emulator", "demo"}
	return []setting{
		{"config", "PKJWT_CONFIG", clientCommands},
		{"profile", "PKJWT_PROFILE", clientCommands},
		{"token-url", "PKJWT_TOKEN_URL", clientCommands},
		{"client-id", "PKJWT_CLIENT_ID", clientCommands},
		{"api-url", "PKJWT_API_URL", clientCommands},
		{"config-from", "PKJWT_CONFIG_FROM", clientCommands},
		{"dir", "PKJWT_DIR", dirCommands},
		{"keys", "PKJWT_KEYS", clientCommands},
		{"password-file", "PKJWT_PASSWORD_FILE", clientCommands},
		{"password-env", "PKJWT_PASSWORD_ENV", clientCommands},
		{"kid", "PKJWT_KID", clientCommands},
		{"audience", "PKJWT_AUDIENCE", clientCommands},
		{"lifetime", "PKJWT_LIFETIME", clientCommands},
		{"timeout", "PKJWT_TIMEOUT", clientCommands},
		{"jwks-url", "PKJWT_JWKS_URL", one("check")},
		{"every", "PKJWT_EVERY", []string{"check", "keys rotate"}},
		{"addr", "PKJWT_ADDR", one("serve")},
		{"public-url", "PKJWT_PUBLIC_URL", one("serve")},
		{"call-url", "PKJWT_CALL_URL", one("serve")},
		{"key-reload", "PKJWT_KEY_RELOAD", one("serve")},
		{"log-format", "PKJWT_LOG_FORMAT", logCommands},
		{"log-level", "PKJWT_LOG_LEVEL", logCommands},
		{"to", "PKJWT_PUBLISH_TO", one("jwks publish")},
		{"cache-control", "PKJWT_PUBLISH_CACHE_CONTROL", one("jwks publish")},
		{"addr", "PKJWT_EMULATOR_ADDR", one("emulator")},
		{"public-url", "PKJWT_EMULATOR_PUBLIC_URL", one("emulator")},
		{"apps", "PKJWT_EMULATOR_APPS", one("emulator")},
		{"addr", "PKJWT_DEMO_ADDR", one("demo")},
		{"emulator-addr", "PKJWT_DEMO_EMULATOR_ADDR", one("demo")},
		{"dir", "PKJWT_DEMO_DIR", one("demo")},
	}
}

// commandSettings returns the settings of the command named cmd.
func commandSettings(cmd string) []setting {
	var out []setting
	for _, s := range settings() {
		for _, c := range s.cmds {
			if c == cmd {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// originValue is the value of a flag set from the environment or a config
// file; it remembers which, for error messages.
type originValue struct {
	flag.Value
	origin string
}

// IsBoolFlag keeps a boolean flag boolean.
func (o *originValue) IsBoolFlag() bool {
	b, ok := o.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// origin says where the value of the flag name came from, for an error
// about it: "--name" (the command line or the default),
// "PKJWT_NAME" or "config file PATH (key name)".
func origin(fs *flag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil {
		if o, ok := f.Value.(*originValue); ok {
			return o.origin
		}
	}
	return "--" + name
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

// applyConfigFile sets flags not yet set from a YAML map of flag names
// (dashes or underscores) to scalar values. A key must be a flag of the
// allow-list (allowed, flag -> variable); a command-line-only flag is a
// usage error that names the file.
func applyConfigFile(fs *flag.FlagSet, path string, set map[string]bool, allowed map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return usagef("config file: %v", err)
	}
	defer f.Close()
	data, err := httpx.ReadBounded(f, maxConfigFile)
	if errors.Is(err, httpx.ErrTooLarge) {
		return usagef("config file %s is larger than %d bytes", path, maxConfigFile)
	}
	if err != nil {
		return fmt.Errorf("read config file %s: %w", path, err)
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
		fl := fs.Lookup(name)
		if name == "config" || fl == nil {
			return usagef("config file %s: unknown key %q", path, k)
		}
		if _, ok := allowed[name]; !ok {
			return usagef("config file %s: %q may only be given on the command line (--%s)", path, k, name)
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
			return usagef("config file %s: key %q: %s", path, k, badValue(v, err))
		}
		fl.Value = &originValue{Value: fl.Value, origin: fmt.Sprintf("config file %s (key %s)", path, k)}
	}
	return nil
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

// printFlags prints the flags of fs, sorted, as "--name PLACEHOLDER" (a
// one-letter flag as "-i") with the usage indented below, wrapped to fit 80
// columns, and then -h, --help. The placeholder is the usage's backquoted
// word (flag.UnquoteUsage's convention: "from this `FILE`" shows "--x
// FILE"), else a name for the flag (see placeholder).
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		if !strings.Contains(f.Usage, "`") {
			name = placeholder(f.Name, name)
		}
		line := "  --" + f.Name
		if len(f.Name) == 1 {
			line = "  -" + f.Name
		}
		if name != "" {
			line += " " + name
		}
		fmt.Fprintln(w, line)
		if !zeroDefault(f, name) {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		for _, l := range strings.Split(usage, "\n") {
			for _, wl := range wrap(l, 72) {
				fmt.Fprintf(w, "      %s\n", wl)
			}
		}
	})
	fmt.Fprintln(w, "  -h, --help\n      show this help")
}

// wrap breaks s into lines of at most width bytes at spaces (a longer word
// stays whole).
func wrap(s string, width int) []string {
	var lines []string
	for len(s) > width {
		i := strings.LastIndex(s[:width+1], " ")
		if i <= 0 {
			i = strings.Index(s, " ")
			if i < 0 {
				break
			}
		}
		lines = append(lines, s[:i])
		s = strings.TrimLeft(s[i:], " ")
	}
	return append(lines, s)
}

// placeholder names the value of the flag called flagName, whose type
// flag.UnquoteUsage calls typeName: none for a boolean flag, N for a
// number, DURATION for a duration, for a string the flag's last word
// upper-cased (--token-url URL, --dir DIR) unless it names something else
// than the value (--profile NAME, --config FILE).
func placeholder(flagName, typeName string) string {
	switch typeName {
	case "":
		return ""
	case "int", "uint":
		return "N"
	case "float":
		return "X"
	case "duration":
		return "DURATION"
	}
	// The flags whose last word does not name their value.
	switch flagName {
	case "audience":
		return "AUD"
	case "apps", "config", "out", "pem", "pfx":
		return "FILE"
	case "cache-control":
		return "VALUE"
	case "config-from", "to":
		return "URL"
	case "format":
		return "jwk|pem"
	case "header":
		return "'NAME: VALUE'"
	case "keys", "new-key":
		return "REF"
	case "kid-from":
		return "METHOD"
	case "log-format":
		return "text|json"
	case "password-env", "profile":
		return "NAME"
	case "state":
		return "active|pending"
	}
	words := strings.Split(flagName, "-")
	return strings.ToUpper(words[len(words)-1])
}

// zeroDefault reports whether f's default goes without saying: empty,
// false, zero.
func zeroDefault(f *flag.Flag, placeholder string) bool {
	switch f.DefValue {
	case "", "0", "0s", "[]":
		return true
	case "false":
		return placeholder == ""
	}
	return false
}
