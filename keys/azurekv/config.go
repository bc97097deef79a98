package azurekv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrBadSetting is returned by [Backend.LoadConfig] for a setting secret
// whose value is empty, too long or holds control characters.
var ErrBadSetting = errors.New("azurekv: bad setting in Key Vault")

// Config is the client configuration [Backend.LoadConfig] found in a vault.
// A field is empty when no secret gave it; the caller may take it from a
// flag.
type Config struct {
	// Vault is the vault the settings came from, as given to LoadConfig.
	Vault string
	// ClientID is the client id (NHS England: the app's API key).
	ClientID string
	// TokenURL is the token endpoint.
	TokenURL string
	// APIURL is the API URL the sample calls (its APIGetUri).
	APIURL string
	// PFXSecret is the reference (azurekv://VAULT/secrets/NAME) of the
	// secret holding the base64 PFX key; open it with [Backend.OpenSecret].
	PFXSecret string
	// Sources maps each setting found ("client-id", "token-url", "api-url",
	// "key") to the name of the secret it came from.
	Sources map[string]string
}

// The settings LoadConfig reads, the keys of Config.Sources.
const (
	settingClientID = "client-id"
	settingTokenURL = "token-url"
	settingAPIURL   = "api-url"
	settingKey      = "key"
)

// setting is one configuration value and the Key Vault secrets it may come
// from, tried in order; the first secret that exists wins.
type setting struct {
	// Name is settingClientID, settingTokenURL, settingAPIURL or settingKey.
	Name string
	// Secrets are the secret names tried, pkjwt's own name first, then the
	// original .NET sample's (whose Key Vault configuration provider maps
	// "--" in a secret name to ":" in a setting name).
	Secrets []string
}

// settingsTable returns the table LoadConfig follows (its documentation
// shows it).
func settingsTable() []setting {
	return []setting{
		{settingClientID, []string{"pkjwt-client-id", "OIDC--ClientId", "OIDCLocal--ClientId"}},
		{settingTokenURL, []string{"pkjwt-token-url", "OIDC--TokenEndpoint", "OIDCLocal--TokenEndpoint"}},
		{settingAPIURL, []string{"pkjwt-api-url", "APIGetUri"}},
		{settingKey, []string{"pkjwt-key-pfx", "JWT--PubPrivateKeyBase64"}},
	}
}

// maxSettingLength bounds a text setting (a client id or a URL).
const maxSettingLength = 4096

// LoadConfig reads the client configuration from the secrets of vault
// ("VAULT", "HOST" or "azurekv://VAULT"), with b's credential and client
// options. Each setting comes from the first of its secrets that exists,
// pkjwt's own name first, then the original .NET sample's:
//
//	client-id  pkjwt-client-id, OIDC--ClientId, OIDCLocal--ClientId
//	token-url  pkjwt-token-url, OIDC--TokenEndpoint, OIDCLocal--TokenEndpoint
//	api-url    pkjwt-api-url, APIGetUri
//	key        pkjwt-key-pfx, JWT--PubPrivateKeyBase64
//
// A setting with none of its secrets in the vault is left empty, not an
// error. A vault that does not exist, credentials that may not read it, or
// a disabled setting secret are errors (test with errors.Is against
// [keys.ErrNotFound], [keys.ErrPermissionDenied], [keys.ErrKeyDisabled]);
// a text value that is empty, over 4 KiB or holds a control character is
// [ErrBadSetting]. The key secret is read to check that it exists but not
// decoded; [Config].PFXSecret names it.
func (b *Backend) LoadConfig(ctx context.Context, vault string) (Config, error) {
	v, err := parseVault(vault)
	if err != nil {
		return Config{}, err
	}
	settings := settingsTable()
	type found struct {
		secret, value string
		err           error
	}
	results := make([]found, len(settings))
	var wg sync.WaitGroup
	for i, s := range settings {
		wg.Go(func() {
			for _, name := range s.Secrets {
				r := vaultRef{Vault: v, Kind: kindSecret, Name: name}
				value, _, err := b.getSecret(ctx, r)
				var kvErr *vaultError
				if errors.As(err, &kvErr) && kvErr.StatusCode == 404 {
					continue // this secret is not in the vault: try the next name
				}
				if err != nil {
					results[i] = found{err: fmt.Errorf("azurekv: setting %s: %w", s.Name, err)}
					return
				}
				if s.Name != settingKey {
					value = strings.TrimSpace(value)
					if err := checkSetting(value); err != nil {
						results[i] = found{err: fmt.Errorf("%w: secret %s: %v", ErrBadSetting, name, err)}
						return
					}
				} else if strings.TrimSpace(value) == "" {
					results[i] = found{err: fmt.Errorf("%w: secret %s is empty", ErrBadSetting, name)}
					return
				}
				results[i] = found{secret: name, value: value}
				return
			}
		})
	}
	wg.Wait()
	cfg := Config{Vault: v, Sources: map[string]string{}}
	for i, s := range settings {
		res := results[i]
		if res.err != nil {
			return Config{}, res.err
		}
		if res.secret == "" {
			continue
		}
		cfg.Sources[s.Name] = res.secret
		switch s.Name {
		case settingClientID:
			cfg.ClientID = res.value
		case settingTokenURL:
			cfg.TokenURL = res.value
		case settingAPIURL:
			cfg.APIURL = res.value
		case settingKey:
			cfg.PFXSecret = vaultRef{Vault: v, Kind: kindSecret, Name: res.secret}.String()
		}
	}
	return cfg, nil
}

// checkSetting accepts a non-empty, bounded, single-line text value.
func checkSetting(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	if len(v) > maxSettingLength {
		return fmt.Errorf("value is %d bytes, at most %d allowed", len(v), maxSettingLength)
	}
	for _, r := range v {
		if r < ' ' || r == 0x7f {
			return errors.New("value holds control characters")
		}
	}
	return nil
}
