package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfigFile: a config file never panics the parser, and nothing it
// says can set --show-token or an unknown flag.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("client-id: a\ntoken_url: https://x/token\n"))
	f.Add([]byte("show-token: true\n"))
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
	})
}
