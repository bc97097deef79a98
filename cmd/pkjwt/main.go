// Command pkjwt manages signing keys and JWKS for private key JWT client
// authentication, gets OAuth 2.0 access tokens with them, calls APIs, and
// runs the NHS England emulator, the sample web app and the demo.
//
// Run "pkjwt help" for the commands. The flags that are configuration (the
// profile, client id, URLs, key reference, log settings; one allow-list,
// shown in each command's --help) can also be set with an environment
// variable (e.g. PKJWT_CLIENT_ID) and, for commands with --config, in a YAML
// file; flags win over environment variables, which win over the file,
// which wins over the profile's defaults. Every other flag (--force,
// --insecure-key-permissions, --show-token, …) is taken only from the
// command line. Exit codes: 0 ok, 1 failure, 2 usage error: an unknown
// command or flag (with the nearest one), a bad flag value, a missing or
// conflicting flag, found before any work starts; a failure of the work
// itself (a key generation, a request, a file) is 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/pkjwt/pkjwt/internal/textsafe"
)

func main() {
	// The first Ctrl-C or SIGTERM cancels ctx: every command returns within
	// a second (long key work observes ctx) and writes nothing half-done.
	// Then the default comes back, so a second one ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// env is what a command may touch of the outside world.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one CLI command.
type command struct {
	name     string // "keys generate"
	args     string // "[flags] URL": every flag named, or [flags]
	summary  string // one line
	detail   string // paragraphs printed by --help
	examples string // commands that work as written (KID, URL: yours), each after a "# what it does" line
	run      func(ctx context.Context, e *env, c *command, args []string) error
}

// commands is the command table. Each command lives in its own file.
func commands() []*command {
	return []*command{
		cmdKeysGenerate(),
		cmdKeysList(),
		cmdKeysActivate(),
		cmdKeysImport(),
		cmdKeysExport(),
		cmdKeysRetire(),
		cmdKeysRemove(),
		cmdKeysRotate(),
		cmdJWKS(),
		cmdJWKSPublish(),
		cmdToken(),
		cmdCall(),
		cmdCheck(),
		cmdServe(),
		cmdDemo(),
		cmdEmulator(),
		cmdVersion(),
	}
}

// usageError makes the process exit with status 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// errHelp reports that help was printed: exit 0.
var errHelp = flag.ErrHelp

func run(ctx context.Context, e *env, args []string) int {
	cmds := commands()
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintln(e.stdout, versionInfo())
		return 0
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			if c, _ := find(cmds, args[1:]); c != nil {
				return run(ctx, e, append(strings.Fields(c.name), "--help"))
			}
		}
		printHelp(e.stdout, cmds, "")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, rest := find(cmds, args)
	if c != nil && hasGroup(cmds, c.name) && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		// "jwks publsh": a command with subcommands takes no argument.
		fmt.Fprintf(e.stderr, "pkjwt: unknown command %q%s\n\n", c.name+" "+rest[0], didYouMean(subcommandWords(cmds, c.name), rest[0], c.name+" "))
		printHelp(e.stderr, cmds, c.name)
		return 2
	}
	if c == nil {
		prefix := args[0]
		if hasGroup(cmds, prefix) {
			if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
				fmt.Fprintf(e.stderr, "pkjwt: unknown command %q%s\n\n", prefix+" "+args[1], didYouMean(subcommandWords(cmds, prefix), args[1], prefix+" "))
				printHelp(e.stderr, cmds, prefix)
				return 2
			}
			w, code := e.stderr, 2
			if len(args) > 1 && isHelpFlag(args[1]) {
				w, code = e.stdout, 0
			}
			printHelp(w, cmds, prefix)
			return code
		}
		fmt.Fprintf(e.stderr, "pkjwt: unknown command %q%s\nrun 'pkjwt help' for the commands\n", args[0], didYouMean(subcommandWords(cmds, ""), args[0], ""))
		return 2
	}
	err := c.run(ctx, e, c, rest)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "pkjwt %s: %s\nrun 'pkjwt %s --help' for usage\n", c.name, textsafe.EscapeLines(ue.msg), c.name)
		return 2
	default:
		// One prefix: the command's. The library's own "pkjwt: " goes.
		// An error may quote a server or a file (a key service's answer,
		// a config file): its control characters are escaped (textsafe),
		// its own line breaks kept.
		fmt.Fprintf(e.stderr, "pkjwt %s: %s\n", c.name, textsafe.EscapeLines(strings.TrimPrefix(err.Error(), "pkjwt: ")))
		var h *hintError
		if errors.As(err, &h) {
			fmt.Fprintf(e.stderr, "hint: %s\n", textsafe.EscapeLines(h.hint))
		}
		return 1
	}
}

// hintError is an error with advice on how to fix it, printed on a
// "hint:" line after the error.
type hintError struct {
	err  error
	hint string
}

func (h *hintError) Error() string { return h.err.Error() }
func (h *hintError) Unwrap() error { return h.err }

// withHint attaches advice to err.
func withHint(err error, hint string) error { return &hintError{err: err, hint: hint} }

func isHelpFlag(s string) bool { return s == "-h" || s == "--help" || s == "-help" }

// find returns the command named by the longest prefix of args.
func find(cmds []*command, args []string) (*command, []string) {
	var best *command
	n := 0
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(words) > len(args) || len(words) <= n {
			continue
		}
		match := true
		for i, w := range words {
			if args[i] != w {
				match = false
				break
			}
		}
		if match {
			best, n = c, len(words)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[n:]
}

func hasGroup(cmds []*command, prefix string) bool {
	for _, c := range cmds {
		if strings.HasPrefix(c.name, prefix+" ") {
			return true
		}
	}
	return false
}

// printHelp prints the commands, or those of group ("keys": keys generate,
// keys list, …; "jwks": jwks and jwks publish).
func printHelp(w io.Writer, cmds []*command, group string) {
	if group == "" {
		fmt.Fprintln(w, "pkjwt: private key JWT client authentication (RFC 7523) for OAuth 2.0 client credentials")
		fmt.Fprintln(w, "\nUsage: pkjwt <command> [flags] [args]\n\nCommands:")
	} else {
		fmt.Fprintf(w, "Usage: pkjwt %s <command> [flags] [args]\n\nCommands:\n", group)
	}
	sorted := append([]*command(nil), cmds...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		if group != "" && c.name != group && !strings.HasPrefix(c.name, group+" ") {
			continue
		}
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'pkjwt <command> --help' for a command's flags and examples, and which flags")
	fmt.Fprintln(w, "(configuration only) can also come from an environment variable such as PKJWT_CLIENT_ID.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 failure, 2 usage error.")
}

// subcommands returns the commands one word below name, sorted: for
// "jwks", jwks publish.
func subcommands(cmds []*command, name string) []*command {
	var out []*command
	for _, c := range cmds {
		if rest, ok := strings.CutPrefix(c.name, name+" "); ok && !strings.Contains(rest, " ") {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// subcommandWords returns the words that may follow prefix in a command
// name: for "", every command's first word; for "keys", generate, list, ….
func subcommandWords(cmds []*command, prefix string) []string {
	var words []string
	for _, c := range cmds {
		rest := c.name
		if prefix != "" {
			var ok bool
			if rest, ok = strings.CutPrefix(c.name, prefix+" "); !ok {
				continue
			}
		}
		words = append(words, strings.Fields(rest)[0])
	}
	return words
}

// didYouMean returns "; did you mean 'PREFIXword'?" for the word of words
// closest to typed (a typo: at most two edits, or a prefix of one word
// alone), else "".
func didYouMean(words []string, typed, prefix string) string {
	if w := closest(words, typed); w != "" {
		return fmt.Sprintf("; did you mean '%s%s'?", prefix, w)
	}
	return ""
}

// closest returns the word of words that typed is most likely a typo of:
// the nearest by edit distance (a swap of two neighbours counts as one
// edit) within 2 edits and less than half typed's length, or else the one
// word typed is a prefix of (3 letters at least); "" when there is none.
func closest(words []string, typed string) string {
	best, bestD := "", 3
	var prefixed []string
	for _, w := range words {
		if w == typed {
			continue
		}
		if d := editDistance(typed, w); d < bestD && 2*d < len(typed) {
			best, bestD = w, d
		}
		if len(typed) >= 3 && strings.HasPrefix(w, typed) && !slices.Contains(prefixed, w) {
			prefixed = append(prefixed, w)
		}
	}
	if best == "" && len(prefixed) == 1 {
		best = prefixed[0]
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
