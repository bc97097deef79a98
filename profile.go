package pkjwt

import (
	"fmt"
	"strings"
	"time"
)

// Profile holds the settings of one authorization server environment, so that
// callers name an environment instead of repeating URLs and algorithms.
type Profile struct {
	// Name is the profile's name, e.g. "nhs-int".
	Name string
	// TokenURL is the token endpoint; with the NHS profiles it is also the
	// exact string the assertion's aud claim must equal.
	TokenURL string
	// APIBaseURL is the base URL of the default API (PDS FHIR R4 for NHS).
	APIBaseURL string
	// Algorithm is the JWS algorithm the server requires ("" = any of the
	// algorithms pkjwt supports, chosen by the key).
	Algorithm string
	// MaxLifetime caps the assertion lifetime (exp - iat).
	MaxLifetime time.Duration
	// KeyBits is the RSA key size the environment documents; pkjwt check
	// warns about a smaller signing key. Key generation does not read it
	// (keys.Generate's bits, DefaultRSABits by default, decide).
	KeyBits int
	// RequestIDs makes NewClient send a fresh UUIDv4 X-Request-ID with
	// every API request, as NHS APIs require.
	RequestIDs bool
}

// NHS England API platform hosts (docs/nhs-reference.md, "Environments").
const (
	nhsPDSPath = "/personal-demographics/FHIR/R4"
)

func nhsProfile(name, host string) Profile {
	return Profile{
		Name:        name,
		TokenURL:    "https://" + host + "/oauth2/token",
		APIBaseURL:  "https://" + host + nhsPDSPath,
		Algorithm:   "RS512",
		MaxLifetime: 5 * time.Minute,
		KeyBits:     4096,
		RequestIDs:  true,
	}
}

// NHSSandbox is NHS England's open-access sandbox environment.
func NHSSandbox() Profile { return nhsProfile("nhs-sandbox", "sandbox.api.service.nhs.uk") }

// NHSInt is NHS England's integration test environment.
func NHSInt() Profile { return nhsProfile("nhs-int", "int.api.service.nhs.uk") }

// NHSProd is NHS England's production environment.
func NHSProd() Profile { return nhsProfile("nhs-prod", "api.service.nhs.uk") }

// DefaultLocalURL is where the emulator listens by default.
const DefaultLocalURL = "http://127.0.0.1:9000"

// Local is the pkjwt emulator at baseURL ("" = DefaultLocalURL): the NHS
// rules, served on loopback.
func Local(baseURL string) Profile {
	if baseURL == "" {
		baseURL = DefaultLocalURL
	}
	baseURL = strings.TrimRight(baseURL, "/")
	p := nhsProfile("local", "")
	p.TokenURL = baseURL + "/oauth2/token"
	p.APIBaseURL = baseURL + nhsPDSPath
	return p
}

// Generic is the profile for any standards-following authorization server:
// the caller sets the token URL; the algorithm follows the key.
func Generic() Profile {
	return Profile{Name: "generic", MaxLifetime: 5 * time.Minute, KeyBits: 4096}
}

// profileEntry is one named profile of the registry.
type profileEntry struct {
	name    string
	summary string
	make    func() Profile
}

// profiles is the registry of named profiles: the one list LookupProfile,
// ProfileNames and ProfileHelp read.
func profiles() []profileEntry {
	return []profileEntry{
		{"generic", "any standards-following server (set the token URL)", Generic},
		{"local", "the pkjwt emulator at " + DefaultLocalURL, func() Profile { return Local("") }},
		{"nhs-int", "NHS England integration test", NHSInt},
		{"nhs-prod", "NHS England production", NHSProd},
		{"nhs-sandbox", "NHS England open-access sandbox", NHSSandbox},
	}
}

// ProfileNames lists the names LookupProfile accepts, sorted.
func ProfileNames() []string {
	var n []string
	for _, p := range profiles() {
		n = append(n, p.name)
	}
	return n
}

// ProfileHelp describes the named profiles in one line, for a flag's help:
// "generic (any standards-following server ...), local (...), ...".
func ProfileHelp() string {
	var parts []string
	for _, p := range profiles() {
		parts = append(parts, p.name+" ("+p.summary+")")
	}
	return strings.Join(parts, ", ")
}

// LookupProfile returns the profile with the given name. "local" uses
// DefaultLocalURL; "" means "generic".
func LookupProfile(name string) (Profile, error) {
	if name == "" {
		name = "generic"
	}
	for _, p := range profiles() {
		if p.name == name {
			return p.make(), nil
		}
	}
	return Profile{}, fmt.Errorf("pkjwt: unknown profile %q (known: %s): %w", name, strings.Join(ProfileNames(), ", "), ErrConfig)
}
