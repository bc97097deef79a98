package azurekv

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Scheme is the URL scheme of Azure Key Vault references, what
// [Backend.Scheme] returns.
const Scheme = "azurekv"

// ErrBadRef is returned, before any call to Key Vault, for a reference that
// is not a valid azurekv://VAULT/keys|secrets/NAME[/VERSION] URL (or
// azurekv://VAULT for [Backend.LoadConfig]), or not of the kind the method
// takes.
var ErrBadRef = errors.New("azurekv: bad reference")

// objectKind says what a reference names: a Key Vault key (which signs
// inside the vault) or a Key Vault secret (which holds a base64 PFX).
type objectKind string

// The kinds of object a reference may name.
const (
	kindKey    objectKind = "keys"
	kindSecret objectKind = "secrets"
)

// vaultRef is a parsed reference:
//
//	azurekv://VAULT/keys/NAME[/VERSION]      a key; Sign runs in the vault
//	azurekv://VAULT/secrets/NAME[/VERSION]   a secret holding a base64 PFX
//
// VAULT is a vault name ("myvault", meaning https://myvault.vault.azure.net/)
// or a full host name, recognised by its dot ("myvault.vault.azure.cn",
// "myhsm.managedhsm.azure.net"). The query, if any, is kept in Query; the
// backend ignores it (the CLI reads kid and kid-from from it).
type vaultRef struct {
	// Vault is the VAULT part as written.
	Vault string
	// Kind is kindKey or kindSecret.
	Kind objectKind
	// Name is the key or secret name.
	Name string
	// Version is the object version, or "" for the current version.
	Version string
	// Query holds the reference's query parameters (never nil after
	// parseRef).
	Query url.Values
}

// maxNameLength is Key Vault's limit on key and secret names.
const maxNameLength = 127

// parseRef parses an azurekv reference. A bare vault reference
// ("azurekv://VAULT") is refused here; LoadConfig takes those.
func parseRef(ref string) (vaultRef, error) {
	vault, rest, q, err := splitRef(ref)
	if err != nil {
		return vaultRef{}, err
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return vaultRef{}, fmt.Errorf("%w: %q: want azurekv://VAULT/keys/NAME[/VERSION] or azurekv://VAULT/secrets/NAME[/VERSION]", ErrBadRef, ref)
	}
	r := vaultRef{Vault: vault, Kind: objectKind(parts[0]), Name: parts[1], Query: q}
	if r.Kind != kindKey && r.Kind != kindSecret {
		return vaultRef{}, fmt.Errorf("%w: %q: the path must start with /keys/ or /secrets/", ErrBadRef, ref)
	}
	if err := checkName(r.Name); err != nil {
		return vaultRef{}, fmt.Errorf("%w: %q: %v", ErrBadRef, ref, err)
	}
	if len(parts) == 3 {
		r.Version = parts[2]
		if err := checkVersion(r.Version); err != nil {
			return vaultRef{}, fmt.Errorf("%w: %q: %v", ErrBadRef, ref, err)
		}
	}
	return r, nil
}

// String returns the reference in its canonical form, without the query.
func (r vaultRef) String() string {
	s := Scheme + "://" + r.Vault + "/" + string(r.Kind) + "/" + r.Name
	if r.Version != "" {
		s += "/" + r.Version
	}
	return s
}

// VaultURL returns the vault's base URL, e.g. "https://myvault.vault.azure.net/".
func (r vaultRef) VaultURL() string { return vaultURL(r.Vault) }

// splitRef checks the scheme and the vault of ref and returns the vault,
// the path without its leading slash, and the query.
func splitRef(ref string) (vault, path string, q url.Values, err error) {
	if len(ref) > 2048 {
		return "", "", nil, fmt.Errorf("%w: reference is %d bytes long", ErrBadRef, len(ref))
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: %v", ErrBadRef, err)
	}
	if u.Scheme != Scheme {
		return "", "", nil, fmt.Errorf("%w: %q: scheme must be %s://", ErrBadRef, ref, Scheme)
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return "", "", nil, fmt.Errorf("%w: %q: no user, fragment or opaque part allowed", ErrBadRef, ref)
	}
	if err := checkVault(u.Host); err != nil {
		return "", "", nil, fmt.Errorf("%w: %q: %v", ErrBadRef, ref, err)
	}
	q, err = url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: %q: query: %v", ErrBadRef, ref, err)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), q, nil
}

// parseVault accepts "VAULT", "HOST" or "azurekv://VAULT" (with an optional
// trailing slash) and returns the vault part.
func parseVault(s string) (string, error) {
	if strings.HasPrefix(s, Scheme+":") {
		vault, path, _, err := splitRef(s)
		if err != nil {
			return "", err
		}
		if path != "" {
			return "", fmt.Errorf("%w: %q: want azurekv://VAULT with no path", ErrBadRef, s)
		}
		return vault, nil
	}
	if err := checkVault(s); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadRef, s, err)
	}
	return s, nil
}

// vaultURL maps a vault name or host to its https base URL.
func vaultURL(vault string) string {
	if strings.Contains(vault, ".") {
		return "https://" + strings.ToLower(vault) + "/"
	}
	return "https://" + strings.ToLower(vault) + ".vault.azure.net/"
}

// checkVault accepts a vault name (3-24 letters, digits and hyphens,
// starting with a letter) or a DNS host name containing a dot.
func checkVault(v string) error {
	if v == "" {
		return errors.New("no vault")
	}
	if !strings.Contains(v, ".") {
		if len(v) < 3 || len(v) > 24 {
			return fmt.Errorf("vault name %q must be 3 to 24 characters", v)
		}
		if !isLetter(v[0]) {
			return fmt.Errorf("vault name %q must start with a letter", v)
		}
		for i := 0; i < len(v); i++ {
			if !isLetter(v[i]) && !isDigit(v[i]) && v[i] != '-' {
				return fmt.Errorf("vault name %q: only letters, digits and hyphens allowed", v)
			}
		}
		return nil
	}
	if len(v) > 253 {
		return fmt.Errorf("vault host %q is too long", v)
	}
	labels := strings.Split(v, ".")
	if tld := labels[len(labels)-1]; tld == "" || !isLetter(tld[0]) {
		return fmt.Errorf("vault host %q is not a DNS name (no IP literal allowed)", v)
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("vault host %q is not a DNS name", v)
		}
		for i := 0; i < len(label); i++ {
			if !isLetter(label[i]) && !isDigit(label[i]) && label[i] != '-' {
				return fmt.Errorf("vault host %q is not a DNS name (no port allowed)", v)
			}
		}
	}
	return nil
}

// checkName accepts a Key Vault object name: 1-127 letters, digits and
// hyphens.
func checkName(n string) error {
	if n == "" || len(n) > maxNameLength {
		return fmt.Errorf("name must be 1 to %d characters", maxNameLength)
	}
	for i := 0; i < len(n); i++ {
		if !isLetter(n[i]) && !isDigit(n[i]) && n[i] != '-' {
			return fmt.Errorf("name %q: only letters, digits and hyphens allowed", n)
		}
	}
	return nil
}

// checkVersion accepts an object version: 1-64 letters and digits (Key
// Vault uses 32 hex digits).
func checkVersion(v string) error {
	if v == "" || len(v) > 64 {
		return errors.New("version must be 1 to 64 characters")
	}
	for i := 0; i < len(v); i++ {
		if !isLetter(v[i]) && !isDigit(v[i]) {
			return fmt.Errorf("version %q: only letters and digits allowed", v)
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
