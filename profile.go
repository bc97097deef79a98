package pkjwt

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/keys"
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
	// ([keys.Generate]'s bits, [keys.DefaultRSABits] by default, decide).
	KeyBits int
	// RequestIDs makes [NewClient] send a fresh UUIDv4 X-Request-ID with
	// every API request, as NHS APIs require.
	RequestIDs bool
}

// nhsPDSPath is the PDS FHIR R4 API under an NHS England API platform
// host (docs/nhs-reference.md, "Environments").
const nhsPDSPath = "/personal-demographics/FHIR/R4"

// nhsProfile is an NHS England environment: RS512, RSA 4096 and at most 5
// minutes of assertion lifetime (docs/nhs-reference.md), the values of
// package keys' constants.
func nhsProfile(name, host string) Profile {
	return Profile{
		Name:        name,
		TokenURL:    "https://" + host + "/oauth2/token",
		APIBaseURL:  "https://" + host + nhsPDSPath,
		Algorithm:   keys.DefaultAlgorithm,
		MaxLifetime: keys.MaxAssertionLifetime,
		KeyBits:     keys.DefaultRSABits,
		RequestIDs:  true,
	}
}

// NHSSandbox is NHS England's open-access sandbox environment.
func NHSSandbox() Profile { return nhsProfile("nhs-sandbox", "sandbox.api.service.nhs.uk") }

// NHSInt is NHS England's integration test environment.
func NHSInt() Profile { return nhsProfile("nhs-int", "int.api.service.nhs.uk") }

// NHSProd is NHS England's production environment.
func NHSProd() Profile { return nhsProfile("nhs-prod", "api.service.nhs.uk") }

// defaultLocalURL is where the emulator listens by default.
const defaultLocalURL = "http://127.0.0.1:9000"

// Local is the pkjwt emulator at baseURL ("" = http://127.0.0.1:9000, where
// it listens by default): the NHS rules, served on loopback.
func Local(baseURL string) Profile {
	if baseURL == "" {
		baseURL = defaultLocalURL
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
	return Profile{Name: "generic", MaxLifetime: keys.MaxAssertionLifetime, KeyBits: keys.DefaultRSABits}
}

// profiles is the registry of named profiles: the one list
// LookupProfile reads.
func profiles() map[string]func() Profile {
	return map[string]func() Profile{
		"generic":     Generic,
		"local":       func() Profile { return Local("") },
		"nhs-int":     NHSInt,
		"nhs-prod":    NHSProd,
		"nhs-sandbox": NHSSandbox,
	}
}

// profileNames lists the names LookupProfile accepts, sorted.
func profileNames() []string {
	return slices.Sorted(maps.Keys(profiles()))
}

// LookupProfile returns the profile with the given name: "generic",
// "local" (the emulator at its default address), "nhs-int", "nhs-prod" or
// "nhs-sandbox"; "" means "generic".
func LookupProfile(name string) (Profile, error) {
	if name == "" {
		name = "generic"
	}
	if mk, ok := profiles()[name]; ok {
		return mk(), nil
	}
	return Profile{}, fmt.Errorf("pkjwt: unknown profile %q (known: %s): %w", name, strings.Join(profileNames(), ", "), ErrConfig)
}
