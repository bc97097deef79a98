package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
)

// clientFlags are the flags of every command that gets a token.
type clientFlags struct {
	config   *string
	profile  *string
	tokenURL *string
	clientID *string
	dir      *string
	kid      *string
	audience *string
	lifetime *time.Duration
	apiURL   *string
	timeout  *time.Duration
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	return &clientFlags{
		config:   fs.String("config", "", "YAML file of flag values (keys are flag names)"),
		profile:  fs.String("profile", "generic", "environment: nhs-sandbox, nhs-int, nhs-prod, local (the emulator), generic"),
		tokenURL: fs.String("token-url", "", "token endpoint (default: the profile's)"),
		clientID: fs.String("client-id", "", "client id: iss and sub of the assertion (NHS: the app's API key)"),
		dir:      dirFlag(fs),
		kid:      fs.String("kid", "", "sign with this key (default: the newest active key in --dir)"),
		audience: fs.String("audience", "", "aud claim (default: the token URL, exactly)"),
		lifetime: fs.Duration("lifetime", pkjwt.DefaultLifetime, "assertion lifetime (exp - iat)"),
		apiURL:   fs.String("api-url", "", "API base URL that relative call URLs resolve against (default: the profile's)"),
		timeout:  fs.Duration("timeout", pkjwt.DefaultTimeout, "timeout of each HTTP exchange"),
	}
}

// resolveProfile resolves --profile; "local" takes the API base from
// --token-url's origin.
func (cf *clientFlags) resolveProfile() (pkjwt.Profile, error) {
	p, err := pkjwt.LookupProfile(*cf.profile)
	if err != nil {
		return p, usagef("%v", err)
	}
	if p.Name == "local" && *cf.tokenURL != "" {
		// The emulator serves the token endpoint and the API on one origin.
		u, err := url.Parse(*cf.tokenURL)
		if err != nil || u.Host == "" {
			return p, usagef("--token-url %q is not an absolute URL", *cf.tokenURL)
		}
		p = pkjwt.Local(u.Scheme + "://" + u.Host)
	}
	if *cf.apiURL != "" {
		p.APIBaseURL = *cf.apiURL
	}
	return p, nil
}

// tokenSource builds the token source the flags describe, over the keys in
// --dir as they are now.
func (cf *clientFlags) tokenSource() (*pkjwt.TokenSource, error) {
	ring, err := openDir(*cf.dir).LoadRing()
	if err != nil {
		return nil, err
	}
	return cf.tokenSourceWith(ring)
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
		return nil, usagef("--timeout must be positive, not %s", *cf.timeout)
	}
	if *cf.tokenURL == "" && p.TokenURL == "" {
		return nil, usagef("--token-url is required with the %s profile", p.Name)
	}
	ring := rs.Ring()
	if ring.Len() == 0 {
		return nil, usagef("no keys in %s; create one with 'pkjwt keys generate --dir %s'", *cf.dir, *cf.dir)
	}
	src, ok := rs.(pkjwt.KeySource)
	if !ok {
		src = ring
	}
	if *cf.kid != "" {
		k, err := ring.Lookup(*cf.kid)
		if err != nil {
			return nil, usagef("--kid: %v", err)
		}
		src = k
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
		return nil, fmt.Errorf("%w", err)
	}
	return ts, nil
}
