// Flags that are configuration: the allow-list of settings, and where a
// value comes from (environment variable or --config file).

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pkjwt/pkjwt/internal/httpx"
)

// maxConfigFile bounds the size of a --config file.
const maxConfigFile = 1 << 20

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
