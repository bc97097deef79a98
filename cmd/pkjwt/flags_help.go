// Help: the usage text of a command and its flags.

package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

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
