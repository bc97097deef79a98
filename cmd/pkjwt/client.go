package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/azurekv"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// clientFlags are the flags of every command that gets a token.
type clientFlags struct {
	config   *string
	profile  *string
	tokenURL *string
	clientID *string
	dir      *string
	keys     *string
	password passwordFlags
	kid      *string
	audience *string
	lifetime *time.Duration
	apiURL   *string
	timeout  *time.Duration
	// configFrom is --config-from: a Key Vault to read settings from.
	configFrom *string
	// azure are options for the Azure Key Vault backend (tests pass the
	// SDK's fake servers here); nil in production.
	azure []azurekv.Option
	// fromVault records that --config-from has been applied.
	fromVault bool
	// fs is the flag set the flags belong to.
	fs *flag.FlagSet
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	return &clientFlags{
		fs:         fs,
		config:     fs.String("config", "", "YAML file of flag values (keys are flag names)"),
		profile:    profileFlag(fs),
		tokenURL:   fs.String("token-url", "", "token endpoint (default: the profile's)"),
		clientID:   fs.String("client-id", "", "client id: iss and sub of the assertion (NHS: the app's API key)"),
		dir:        dirFlag(fs),
		keys:       fs.String("keys", "", keysFlagHelp),
		password:   newPasswordFlags(fs, "--keys pfx:"),
		kid:        fs.String("kid", "", "sign with this key (default: the active key in --dir)"),
		audience:   fs.String("audience", "", "aud claim (default: the token URL, exactly)"),
		lifetime:   fs.Duration("lifetime", pkjwt.DefaultLifetime, "assertion lifetime (exp - iat)"),
		apiURL:     fs.String("api-url", "", "API base URL that relative call URLs resolve against (default: the profile's)"),
		timeout:    fs.Duration("timeout", pkjwt.DefaultTimeout, "timeout of each HTTP exchange"),
		configFrom: fs.String("config-from", "", "azurekv://VAULT: read the client id, token URL, API URL and key (a base64 PFX) from Key Vault secrets named as the original .NET sample names them (OIDC--ClientId, OIDC--TokenEndpoint, APIGetUri, JWT--PubPrivateKeyBase64) or pkjwt-client-id, pkjwt-token-url, pkjwt-api-url, pkjwt-key-pfx; flags, environment and --config win"),
	}
}

// pinKey is --kid: a key source that signs with k and whose ring (what
// the web app publishes) is still that of rs. A *keydir.DirSource keeps its
// methods (the web app records first publications through MarkPublished).
func pinKey(rs keys.RingSource, k *keys.Key) pkjwt.KeySource {
	if ds, ok := rs.(*keydir.DirSource); ok {
		return pinnedDir{ds, k}
	}
	return pinnedRing{rs, k}
}

// pinnedRing is the ring of a RingSource, signing with one of its keys.
type pinnedRing struct {
	keys.RingSource
	key *keys.Key
}

func (p pinnedRing) SigningKey() (*keys.Key, error) { return p.key, nil }

// pinnedDir is a *keydir.DirSource signing with one of its keys.
type pinnedDir struct {
	*keydir.DirSource
	key *keys.Key
}

func (p pinnedDir) SigningKey() (*keys.Key, error) { return p.key, nil }

// profileNames are the names --profile accepts: those of
// pkjwt.LookupProfile (TestProfileNames keeps the two lists equal).
func profileNames() []string {
	return []string{"generic", "local", "nhs-int", "nhs-prod", "nhs-sandbox"}
}

// profileValue is --profile: a profile name, checked when it is set, so
// that a bad value is traced to where it came from (the flag, PKJWT_PROFILE
// or the config file).
type profileValue struct{ name *string }

func (p profileValue) String() string {
	if p.name == nil {
		return ""
	}
	return *p.name
}

func (p profileValue) Set(v string) error {
	if _, err := pkjwt.LookupProfile(v); err != nil {
		return fmt.Errorf("unknown profile %q (known: %s)", v, strings.Join(profileNames(), ", "))
	}
	*p.name = v
	return nil
}

// profileFlag registers --profile.
func profileFlag(fs *flag.FlagSet) *string {
	name := "generic"
	fs.Var(profileValue{&name}, "profile", "environment: "+strings.Join(profileNames(), ", ")+" (local: the emulator)")
	return &name
}

// resolveProfile resolves --profile; "local" takes the API base from
// --token-url's origin.
func (cf *clientFlags) resolveProfile() (pkjwt.Profile, error) {
	p, err := pkjwt.LookupProfile(*cf.profile)
	if err != nil {
		return p, usagef("%s: %v", cf.origin("profile"), err)
	}
	if p.Name == "local" && *cf.tokenURL != "" {
		// The emulator serves the token endpoint and the API on one origin.
		u, err := url.Parse(*cf.tokenURL)
		if err != nil || u.Host == "" {
			return p, usagef("%s: %q is not an absolute URL", cf.origin("token-url"), *cf.tokenURL)
		}
		p = pkjwt.Local(u.Scheme + "://" + u.Host)
	}
	if *cf.apiURL != "" {
		p.APIBaseURL = *cf.apiURL
	}
	return p, nil
}

// applyConfigFrom fills the settings no flag, variable or config file gave
// from the Key Vault --config-from names. The sample's key secret
// (JWT--PubPrivateKeyBase64) keeps the kid the sample published, the
// certificate's SHA-1 thumbprint in hex.
func (cf *clientFlags) applyConfigFrom(ctx context.Context) error {
	if *cf.configFrom == "" || cf.fromVault {
		return nil
	}
	cf.fromVault = true
	if !strings.HasPrefix(*cf.configFrom, azurekv.Scheme+"://") {
		return usagef("%s: %q: want azurekv://VAULT", cf.origin("config-from"), *cf.configFrom)
	}
	vc, err := azurekv.New(cf.azure...).LoadConfig(ctx, *cf.configFrom)
	if err != nil {
		return fmt.Errorf("--config-from %s: %w", *cf.configFrom, err)
	}
	fill := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	fill(cf.clientID, vc.ClientID)
	fill(cf.tokenURL, vc.TokenURL)
	fill(cf.apiURL, vc.APIURL)
	if vc.PFXSecret != "" && *cf.keys == "" && *cf.dir == keydir.DefaultDir {
		ref := vc.PFXSecret
		if vc.Sources["key"] == sampleKeySecret {
			ref += "?kid-from=x509-sha1-hex"
		}
		*cf.keys = ref
	}
	return nil
}

// sampleKeySecret is the Key Vault secret the original .NET sample keeps
// its PFX in.
const sampleKeySecret = "JWT--PubPrivateKeyBase64"

// origin says where the value of the flag name came from: "--name",
// "PKJWT_NAME" or "config file PATH (key name)".
func (cf *clientFlags) origin(name string) string { return origin(cf.fs, name) }

// configErrorOrigin names, as "ORIGIN: ", where the value came from that a
// configuration error of pkjwt.NewTokenSource is about ("" when it is about
// no single value).
func (cf *clientFlags) configErrorOrigin(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "lifetime"):
		return cf.origin("lifetime") + ": "
	case strings.Contains(msg, "token URL") && *cf.tokenURL != "":
		return cf.origin("token-url") + ": "
	case strings.Contains(msg, "profile"):
		return cf.origin("profile") + ": "
	}
	return ""
}

// tokenSource builds the token source the flags describe, over the keys
// --keys or --dir names, as they are now.
func (cf *clientFlags) tokenSource(ctx context.Context, e *env) (*pkjwt.TokenSource, error) {
	rs, err := cf.openKeys(ctx, e)
	if err != nil {
		return nil, err
	}
	return cf.tokenSourceWith(rs)
}

// keyReloadInterval is how often serve and demo look for key changes.
const keyReloadInterval = 10 * time.Second

// tokenSourceWith builds the token source the flags describe over keys from
// rs (a fixed ring, or a source that follows the key directory).
func (cf *clientFlags) tokenSourceWith(rs keys.RingSource) (*pkjwt.TokenSource, error) {
	p, err := cf.resolveProfile()
	if err != nil {
		return nil, err
	}
	if *cf.clientID == "" {
		return nil, usagef("--client-id is required (or PKJWT_CLIENT_ID)")
	}
	if *cf.timeout <= 0 {
		return nil, usagef("%s: must be positive, not %s", cf.origin("timeout"), *cf.timeout)
	}
	if *cf.tokenURL == "" && p.TokenURL == "" {
		return nil, usagef("--token-url is required with the %s profile", p.Name)
	}
	ring := rs.Ring()
	if ring.Len() == 0 {
		return nil, noKeys(cf.keysWhere())
	}
	src, ok := rs.(pkjwt.KeySource)
	if !ok {
		src = ring
	}
	if *cf.kid != "" {
		k, err := ring.Lookup(*cf.kid)
		if err != nil {
			return nil, usagef("%s: %v", cf.origin("kid"), err)
		}
		src = pinKey(rs, k)
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile:    p,
		ClientID:   *cf.clientID,
		TokenURL:   *cf.tokenURL,
		Audience:   *cf.audience,
		Keys:       src,
		Lifetime:   *cf.lifetime,
		HTTPClient: &http.Client{Timeout: *cf.timeout},
	})
	if err != nil {
		if errors.Is(err, pkjwt.ErrConfig) {
			return nil, usagef("%s%s", cf.configErrorOrigin(err), strings.TrimPrefix(err.Error(), "pkjwt: "))
		}
		return nil, err
	}
	return ts, nil
}
