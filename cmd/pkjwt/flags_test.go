package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile: a config file never panics the parser, and nothing it
// says can set --show-token, --insecure-key-permissions or an unknown flag.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("client-id: a\ntoken_url: https://x/token\n"))
	f.Add([]byte("show-token: true\n"))
	f.Add([]byte("insecure_key_permissions: true\n"))
	f.Add([]byte("dir: [a, b]\n"))
	f.Add([]byte("{{{"))
	f.Add([]byte("lifetime: 5\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		addClientFlags(fs)
		show := fs.Bool("show-token", false, "")
		allowed := map[string]string{}
		for _, s := range commandSettings("token") {
			allowed[s.flag] = s.env
		}
		_ = applyConfigFile(fs, path, map[string]bool{}, allowed)
		if *show {
			t.Fatal("a config file set --show-token")
		}
		if fs.Lookup(insecureFlag).Value.String() != "false" {
			t.Fatal("a config file set --insecure-key-permissions")
		}
	})
}

// TestSettingsAllowList: every entry of the allow-list names a flag that
// its commands have; a variable has one meaning (the same flag wherever
// it is read); and no flag that forces an action, prints a secret or
// weakens a check is on it.
func TestSettingsAllowList(t *testing.T) {
	byName := map[string]*command{}
	for _, c := range commands() {
		byName[c.name] = c
	}
	meaning := map[string]string{}
	for _, s := range settings() {
		if prev, ok := meaning[s.env]; ok && prev != s.flag {
			t.Errorf("%s is read by --%s and by --%s", s.env, prev, s.flag)
		}
		meaning[s.env] = s.flag
		for _, name := range s.cmds {
			c := byName[name]
			if c == nil {
				t.Errorf("%s: no command %q", s.env, name)
				continue
			}
			var out strings.Builder
			e := &env{stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }}
			if err := c.run(context.Background(), e, c, []string{"--help"}); !errors.Is(err, errHelp) {
				t.Errorf("%s --help: %v", name, err)
			}
			if !strings.Contains(out.String(), "  --"+s.flag+" ") && !strings.Contains(out.String(), "  --"+s.flag+"\n") {
				t.Errorf("%s: 'pkjwt %s' has no --%s", s.env, name, s.flag)
			}
			if !strings.Contains(out.String(), s.env) {
				t.Errorf("'pkjwt %s --help' does not show %s", name, s.env)
			}
		}
		switch s.flag {
		case "force", "show-token", "insecure-key-permissions", "lead", "grace", "dry-run", "no-token", "max-age", "refetch-unknown-kid", "sandbox":
			t.Errorf("--%s is on the allow-list", s.flag)
		}
	}
}
