package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// PDSScope is the application-restricted (level 3) scope of the Personal
// Demographics Service; a token must carry it to read patients.
const PDSScope = "urn:nhsd:apim:app:level3:personal-demographics-service"

// level3Prefix is the prefix of every application-restricted scope; an app
// without one gets row 26 (unauthorized_client).
const level3Prefix = "urn:nhsd:apim:app:level3:"

// App statuses.
const (
	StatusApproved = "approved"
	StatusRevoked  = "revoked"
)

// App is a developer app registered with the emulator, the equivalent of an
// Apigee app on the NHS API platform.
type App struct {
	// Name is shown in logs and in rate-limit messages.
	Name string `json:"name" yaml:"name"`
	// APIKey is the client id: the assertion's iss and sub must equal it.
	APIKey string `json:"api_key" yaml:"api_key"`
	// JWKSURL is the app's jwks-resource-url; empty means no public key
	// registered (row 21).
	JWKSURL string `json:"jwks_url" yaml:"jwks_url"`
	// Status is "approved" (the default when empty) or "revoked".
	Status string `json:"status" yaml:"status"`
	// Scopes are the scopes a token of this app carries, e.g. PDSScope. An
	// app with no "urn:nhsd:apim:app:level3:" scope gets row 26.
	Scopes []string `json:"scopes" yaml:"scopes"`
	// CanOverrideTokenExpiry lets the app shorten its tokens with the form
	// field _access_token_expiry_ms (docs/nhs-reference.md, "Environments").
	CanOverrideTokenExpiry bool `json:"can_override_token_expiry" yaml:"can_override_token_expiry"`
}

// validate normalises and checks a.
func (a *App) validate() error {
	a.APIKey = strings.TrimSpace(a.APIKey)
	if a.APIKey == "" {
		return errors.New("emulator: app has no api_key")
	}
	if a.Name == "" {
		a.Name = a.APIKey
	}
	switch a.Status {
	case "":
		a.Status = StatusApproved
	case StatusApproved, StatusRevoked:
	default:
		return fmt.Errorf("emulator: app %q: status %q is neither %q nor %q", a.Name, a.Status, StatusApproved, StatusRevoked)
	}
	a.Scopes = append([]string(nil), a.Scopes...)
	return nil
}

// hasLevel3 reports whether the app has an application-restricted scope.
func (a *App) hasLevel3() bool {
	for _, s := range a.Scopes {
		if strings.HasPrefix(s, level3Prefix) && len(s) > len(level3Prefix) {
			return true
		}
	}
	return false
}

// appsFile is the document LoadApps reads: either {"apps": [...]} or a bare
// list of apps.
type appsFile struct {
	Apps []App `json:"apps" yaml:"apps"`
}

// LoadApps reads an apps file. Files ending in .json are JSON, anything else
// is YAML (YAML 1.2 is a superset of JSON, so a JSON file also loads). The
// document is either a list of apps or a mapping with the key "apps".
// Unknown fields are rejected so that a typo does not silently leave an app
// without its JWKS URL.
func LoadApps(path string) ([]App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("emulator: read apps file: %w", err)
	}
	apps, err := parseApps(data, strings.EqualFold(filepath.Ext(path), ".json"))
	if err != nil {
		return nil, fmt.Errorf("emulator: apps file %s: %w", path, err)
	}
	return apps, nil
}

func parseApps(data []byte, isJSON bool) ([]App, error) {
	var apps []App
	trimmed := bytes.TrimSpace(data)
	list := len(trimmed) > 0 && trimmed[0] == '['
	if isJSON {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var err error
		if list {
			err = dec.Decode(&apps)
		} else {
			var f appsFile
			err = dec.Decode(&f)
			apps = f.Apps
		}
		if err != nil {
			return nil, fmt.Errorf("decode JSON: %w", err)
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		var node yaml.Node
		if err := dec.Decode(&node); err != nil {
			return nil, fmt.Errorf("decode YAML: %w", err)
		}
		if len(node.Content) > 0 && node.Content[0].Kind == yaml.SequenceNode {
			if err := node.Decode(&apps); err != nil {
				return nil, fmt.Errorf("decode YAML: %w", err)
			}
		} else {
			var f appsFile
			// Node.Decode does not apply KnownFields; decode again strictly.
			dec2 := yaml.NewDecoder(bytes.NewReader(data))
			dec2.KnownFields(true)
			if err := dec2.Decode(&f); err != nil {
				return nil, fmt.Errorf("decode YAML: %w", err)
			}
			apps = f.Apps
		}
	}
	seen := make(map[string]bool, len(apps))
	for i := range apps {
		if err := apps[i].validate(); err != nil {
			return nil, fmt.Errorf("app %d: %w", i, err)
		}
		if seen[apps[i].APIKey] {
			return nil, fmt.Errorf("app %d: duplicate api_key", i)
		}
		seen[apps[i].APIKey] = true
	}
	return apps, nil
}

// appRegistry maps API keys to apps. It is safe for concurrent use.
type appRegistry struct {
	mu   sync.RWMutex
	apps map[string]App
}

func newAppRegistry() *appRegistry {
	return &appRegistry{apps: make(map[string]App)}
}

// add registers or replaces an app.
func (r *appRegistry) add(a App) error {
	if err := a.validate(); err != nil {
		return err
	}
	r.mu.Lock()
	r.apps[a.APIKey] = a
	r.mu.Unlock()
	return nil
}

// lookup returns a copy of the app with the given API key.
func (r *appRegistry) lookup(apiKey string) (App, bool) {
	r.mu.RLock()
	a, ok := r.apps[apiKey]
	r.mu.RUnlock()
	if ok {
		a.Scopes = append([]string(nil), a.Scopes...)
	}
	return a, ok
}

// list returns copies of all apps.
func (r *appRegistry) list() []App {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]App, 0, len(r.apps))
	for _, a := range r.apps {
		a.Scopes = append([]string(nil), a.Scopes...)
		out = append(out, a)
	}
	return out
}
