package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/internal/testutil"
)

// helpSection returns the lines of the section of a --help output that
// starts with the line title ("Flags:"), up to the next blank line
// followed by an unindented line.
func helpSection(help, title string) []string {
	_, after, ok := strings.Cut(help, "\n"+title+"\n")
	if !ok {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(after, "\n") {
		if l != "" && !strings.HasPrefix(l, " ") {
			break
		}
		lines = append(lines, l)
	}
	return lines
}

// TestHelpSections: every command's --help has a usage line that names
// every flag or says [flags], a Flags section that shows each flag as
// --name PLACEHOLDER (never Go's "-profile value"), and an Examples
// section whose commands exist and use only flags the command has.
func TestHelpSections(t *testing.T) {
	flagLine := regexp.MustCompile(`^  (--[a-z][a-z0-9-]+|-[a-z])( \S.*)?$`)
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, nil, append(strings.Fields(c.name), "--help")...)
			if r.Code != 0 {
				t.Fatal(r)
			}
			usage, _, _ := strings.Cut(r.Stdout, "\n")
			if !strings.HasPrefix(usage, "Usage: pkjwt "+c.name) {
				t.Fatalf("first line %q", usage)
			}
			flags := helpSection(r.Stdout, "Flags:")
			var names []string
			for _, l := range flags {
				if l == "" || strings.HasPrefix(l, "      ") {
					continue
				}
				if l == "  -h, --help" {
					names = append(names, "h")
					continue
				}
				m := flagLine.FindStringSubmatch(l)
				if m == nil {
					t.Errorf("flag line %q is not '  --name PLACEHOLDER'", l)
					continue
				}
				if p := strings.TrimSpace(m[2]); p == strings.ToLower(p) && p != "" && !strings.Contains(p, "|") && !strings.HasPrefix(p, "--") {
					t.Errorf("flag line %q: the placeholder is a Go type, not a name", l)
				}
				names = append(names, strings.TrimLeft(m[1], "-"))
			}
			if len(names) == 0 || names[len(names)-1] != "h" {
				t.Fatalf("no Flags section ending with -h, --help:\n%s", r.Stdout)
			}
			names = names[:len(names)-1]
			if !strings.Contains(usage, "[flags]") {
				for _, n := range names {
					if !strings.Contains(usage, "--"+n) {
						t.Errorf("usage line %q neither names --%s nor says [flags]", usage, n)
					}
				}
			}
			examples := helpSection(r.Stdout, "Examples:")
			var ran int
			for _, l := range examples {
				l = strings.TrimSpace(l)
				if l == "" || strings.HasPrefix(l, "#") {
					continue
				}
				if !strings.HasPrefix(l, "pkjwt ") {
					t.Errorf("example %q is not a pkjwt command", l)
					continue
				}
				ran++
				words := strings.Fields(l)[1:]
				if words[0] == "--version" {
					continue
				}
				ec, _ := find(commands(), words)
				if ec == nil {
					t.Errorf("example %q: no such command", l)
					continue
				}
				if ec != c {
					continue // another command's ("then publish"): its own help checks it
				}
				for _, w := range words {
					if f, ok := strings.CutPrefix(w, "-"); ok {
						f = strings.TrimPrefix(f, "-")
						if f != "" && !strings.Contains(r.Stdout, "\n  --"+f+" ") && !strings.Contains(r.Stdout, "\n  --"+f+"\n") && !strings.Contains(r.Stdout, "\n  -"+f+"\n") {
							t.Errorf("example %q gives %s, which 'pkjwt %s' does not have", l, w, c.name)
						}
					}
				}
			}
			if ran == 0 {
				t.Errorf("no Examples section with a command:\n%s", r.Stdout)
			}
		})
	}
	t.Run("placeholders", func(t *testing.T) {
		for cmd, want := range map[string][]string{
			"token":         {"\n  --profile NAME\n", "\n  --token-url URL\n", "\n  --lifetime DURATION\n", "\n  --keys REF\n", "\n  --config FILE\n", "\n  --show-token\n"},
			"keys generate": {"\n  --bits N\n", "\n  --state active|pending\n", "\n  --dir DIR\n"},
			"call":          {"\n  --header 'NAME: VALUE'\n", "\n  -i\n"},
		} {
			r := runCLI(t, nil, append(strings.Fields(cmd), "--help")...)
			for _, w := range want {
				if !strings.Contains(r.Stdout, w) {
					t.Errorf("'pkjwt %s --help' lacks %q:\n%s", cmd, strings.TrimSpace(w), r.Stdout)
				}
			}
			if strings.Contains(r.Stdout, " value\n") || strings.Contains(r.Stdout, " string\n") {
				t.Errorf("'pkjwt %s --help' shows a Go type as a placeholder:\n%s", cmd, r.Stdout)
			}
		}
	})
}

// TestGroupHelp: the help of a group or of a command with subcommands
// lists them.
func TestGroupHelp(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"jwks", "--help"}, 0, []string{"Usage: pkjwt jwks", "Commands:", "jwks publish"}},
		{[]string{"keys", "--help"}, 0, []string{"keys generate", "keys list", "keys activate", "keys import", "keys export", "keys retire", "keys remove", "keys rotate"}},
		{[]string{"help", "jwks"}, 0, []string{"jwks publish"}},
		{[]string{"keys"}, 2, []string{"keys generate", "keys rotate"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			out := r.Stdout + r.Stderr
			if r.Code != tc.code {
				t.Fatalf("exit %d, want %d: %v", r.Code, tc.code, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q: %v", w, r)
				}
			}
			if tc.args[0] == "keys" && strings.Contains(out, "  token ") {
				t.Errorf("the keys group lists other commands: %v", r)
			}
		})
	}
}

// TestDidYouMean: a mistyped command, subcommand or flag is a usage error
// (exit 2) that names the nearest one; a word near nothing gets no guess.
func TestDidYouMean(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" for no suggestion
	}{
		{[]string{"tokne"}, "did you mean 'token'?"},
		{[]string{"toke"}, "did you mean 'token'?"},
		{[]string{"kyes", "list"}, "did you mean 'keys'?"},
		{[]string{"keys", "genrate"}, "did you mean 'keys generate'?"},
		{[]string{"jwks", "publsh"}, "did you mean 'jwks publish'?"},
		{[]string{"token", "--profle", "local"}, "did you mean --profile?"},
		{[]string{"keys", "list", "--jsno"}, "did you mean --json?"},
		{[]string{"keys", "rotate", "-dryrun"}, "did you mean --dry-run?"},
		{[]string{"frobnicate"}, ""},
		{[]string{"keys", "list", "--frobnicate"}, ""},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			if r.Code != 2 {
				t.Fatalf("exit %d, want 2: %v", r.Code, r)
			}
			if tc.want == "" {
				if strings.Contains(r.Stderr, "did you mean") {
					t.Fatalf("a guess for a word near nothing: %q", r.Stderr)
				}
				return
			}
			if !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("stderr %q lacks %q", r.Stderr, tc.want)
			}
		})
	}
}

// TestExitCodes: a bad flag value is a usage error (2), found before any
// work; a failure of the work is 1.
func TestExitCodes(t *testing.T) {
	file := t.TempDir() + "/file"
	if r := runCLI(t, nil, "version"); r.Code != 0 {
		t.Fatal(r)
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"keys", "generate", "--bits", "1000"}, 2, "--bits 1000: an RSA key has at least 2048 bits"},
		{[]string{"keys", "generate", "--bits", "99999"}, 2, "at most 16384"},
		{[]string{"keys", "generate", "--bits", "many"}, 2, `invalid value "many" for flag --bits`},
		{[]string{"keys", "generate", "--alg", "HS256"}, 2, "unsupported signing algorithm"},
		{[]string{"keys", "rotate", "--bits", "1000", "--dry-run"}, 2, "--bits 1000"},
		{[]string{"keys", "rotate", "--alg", "none", "--dry-run"}, 2, "unsupported signing algorithm"},
		{[]string{"keys", "generate", "--alg", "ES256", "--dir", file + "/keys"}, 1, "pkjwt keys generate: "},
		{[]string{"jwks", "--dir", t.TempDir()}, 1, "holds no key"},
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			if r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("exit %d, want %d and %q: %v", r.Code, tc.code, tc.want, r)
			}
			if usage := strings.Contains(r.Stderr, "--help' for usage"); usage != (tc.code == 2) {
				t.Errorf("the pointer to --help on a usage error only: %q", r.Stderr)
			}
		})
	}
}

// TestExamplesRun runs, in order and as written, the examples of the
// commands that work on a key directory alone, in an empty working
// directory: each must appear in its command's --help and exit 0.
func TestExamplesRun(t *testing.T) {
	wd := t.TempDir()
	steps := []string{
		"pkjwt keys generate",
		"pkjwt keys generate --dir es-keys --alg ES256",
		"pkjwt keys list",
		"pkjwt keys list --json",
		"pkjwt jwks",
		"pkjwt jwks publish --to file:public/jwks.json --dry-run",
		"pkjwt jwks publish --to file:public/jwks.json",
		"pkjwt keys rotate --dry-run",
		"pkjwt version",
		"pkjwt --version",
	}
	for _, step := range steps {
		args := strings.Fields(step)[1:]
		helpOf := args
		if c, _ := find(commands(), args); c != nil {
			helpOf = strings.Fields(c.name)
		} else {
			helpOf = []string{"version"}
		}
		help := runCLI(t, nil, append(helpOf, "--help")...)
		if !strings.Contains(strings.Join(helpSection(help.Stdout, "Examples:"), "\n"), "  "+step+"\n") {
			t.Errorf("%q is not an example of 'pkjwt %s':\n%s", step, strings.Join(helpOf, " "), help.Stdout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, pkjwtBin(t), args...)
		cmd.Dir, cmd.Env = wd, testutil.CLIEnv()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\n%s", step, err, out.String())
		}
	}
}

// TestClosest: the guess behind "did you mean".
func TestClosest(t *testing.T) {
	words := []string{"token", "call", "check", "keys", "jwks", "serve", "demo", "emulator", "version", "profile", "api-url"}
	cases := []struct{ typed, want string }{
		{"tokne", "token"},  // a swap is one edit
		{"tken", "token"},   // a deletion
		{"tokens", "token"}, // an insertion
		{"chek", "check"},
		{"emu", "emulator"}, // the one word it begins
		{"profle", "profile"},
		{"api-ulr", "api-url"},
		{"ke", ""},      // too short for a guess: two edits from many words
		{"token", ""},   // itself is no typo
		{"x", ""},       // one letter
		{"zzzzzz", ""},  // near nothing
		{"keysgen", ""}, // too far
	}
	for _, tc := range cases {
		if got := closest(words, tc.typed); got != tc.want {
			t.Errorf("closest(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}
