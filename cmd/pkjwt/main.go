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
// command line. Exit codes: 0 ok, 1 failure, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
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
	name    string // "keys generate"
	args    string // "[flags] URL"
	summary string // one line
	detail  string // paragraphs printed by --help
	run     func(ctx context.Context, e *env, c *command, args []string) error
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
	if c == nil {
		prefix := args[0]
		if hasGroup(cmds, prefix) {
			if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
				fmt.Fprintf(e.stderr, "pkjwt: unknown command %q\n\n", prefix+" "+args[1])
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
		fmt.Fprintf(e.stderr, "pkjwt: unknown command %q; run 'pkjwt help'\n", args[0])
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

func printHelp(w io.Writer, cmds []*command, group string) {
	fmt.Fprintln(w, "pkjwt: private key JWT client authentication (RFC 7523) for OAuth 2.0 client credentials")
	fmt.Fprintln(w, "\nUsage: pkjwt <command> [flags] [args]\n\nCommands:")
	sorted := append([]*command(nil), cmds...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		if group != "" && !strings.HasPrefix(c.name, group+" ") {
			continue
		}
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'pkjwt <command> --help' for a command's flags, and which of them (configuration")
	fmt.Fprintln(w, "only) can also come from an environment variable such as PKJWT_CLIENT_ID.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 failure, 2 usage error.")
}
