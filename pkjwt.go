// Package pkjwt gets OAuth 2.0 access tokens with the client credentials
// grant and private key JWT client authentication (RFC 7523, OpenID Connect
// "private_key_jwt"), as NHS England's API platform ("signed JWT
// authentication") and any standards-following authorization server expect.
//
// A [Config] names the server (a [Profile]: [NHSInt], [NHSProd],
// [NHSSandbox], [Local] for the emulator, [Generic] with a token URL), the
// client id and the signing keys ([Config.Keys]: a [*keys.Key], a
// [*keys.Ring], or a [*keys.DirSource] that follows key rotation on disk).
// [NewTokenSource] turns it into a [TokenSource]; create it once and share
// it. A TokenSource signs a fresh, short-lived client assertion for every
// token request, caches the access token and refreshes it before it
// expires; it implements [oauth2.TokenSource], and its tokens keep the
// server's response members ([oauth2.Token.Extra]) beside what [Info]
// returns. [NewClient] returns an [*http.Client] whose [Transport] adds the
// token (and, for NHS APIs, an X-Request-ID) to every request, under a
// retry layer that retries idempotent requests after 429 and 503 and any
// replayable request once after a 401 with a new token.
//
// A token endpoint's error is a [*TokenError], which also matches
// [*oauth2.RetrieveError] with [errors.As]. [Config.ModifyAssertion] adds
// header members and claims to the assertion; [Config.CertificateThumbprint]
// adds x5t#S256. An [Observer] sees every token request, for metrics.
//
// Keys come from package [github.com/pkjwt/pkjwt/keys]; their public halves
// are published with package [github.com/pkjwt/pkjwt/jwks].
package pkjwt

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pkjwt/pkjwt/keys"

	"github.com/pkjwt/pkjwt/internal/loopback"
)

// KeySource gives the key that signs the next assertion. [*keys.Key],
// [*keys.Ring] and [*keys.DirSource] implement it; a source may change its
// answer over time (key rotation: a ring signs with its active key, a
// DirSource follows its directory), and the token source asks for every
// assertion.
type KeySource interface {
	SigningKey() (*keys.Key, error)
}

// Config configures a [TokenSource]; [NewTokenSource] checks it and fills
// in its defaults.
type Config struct {
	// Profile supplies defaults (token URL, algorithm, lifetime cap,
	// request ids). The zero Profile behaves as [Generic].
	Profile Profile
	// ClientID is the client identifier: iss and sub of the assertion.
	// Under the NHS profiles this is the application's API key.
	ClientID string
	// TokenURL is the token endpoint; "" means Profile.TokenURL.
	TokenURL string
	// Audience is the assertion's aud; "" means TokenURL, exactly.
	Audience string
	// Keys gives the signing key.
	Keys KeySource
	// Lifetime is the assertion lifetime; 0 means [DefaultLifetime]. It
	// may not exceed Profile.MaxLifetime.
	Lifetime time.Duration
	// Scopes, if any, are sent space-separated as the scope parameter.
	// NHS England takes no scope parameter; leave it empty there.
	Scopes []string
	// HTTPClient sends the token requests; nil means a client with a
	// [DefaultTimeout] timeout.
	HTTPClient *http.Client
	// RefreshBefore is how long before expiry the token is refreshed;
	// 0 means the rule documented on [TokenSource].
	RefreshBefore time.Duration
	// MaxAttempts bounds the attempts of one token fetch (each attempt
	// signs a new assertion); 0 means 3.
	MaxAttempts int
	// Now is the wall clock; nil means time.Now. The token cache reads it
	// through a coarse clock re-read every 250 ms (see [TokenSource]),
	// so after moving an injected clock call [TokenSource.SyncClock] or
	// allow a tick before expecting the cache to notice.
	Now func() time.Time
	// ModifyAssertion, when set, is called before every assertion is
	// signed, with the key that will sign it; it may add header members
	// and claims to x (a scope, a longer aud list under another name, a
	// tenant). It cannot change the members pkjwt sets: a reserved name
	// (see [Assertion.Header], [Assertion.Claims]) fails the token request
	// with [ErrConfig]. An error it returns fails the token request.
	ModifyAssertion func(key *keys.Key, x *AssertionExtras) error
	// CertificateThumbprint adds the x5t#S256 header member (the SHA-256
	// thumbprint of the key's certificate, RFC 7515 §4.1.8) when the
	// signing key carries a certificate ([keys.Key.Certificate], e.g. from
	// a PFX); a key without one is signed without it.
	CertificateThumbprint bool
	// Observer, when set, receives every token request, cache hit and
	// background refresh (see [Observer]); nil reports nothing.
	Observer Observer
}

// DefaultTimeout bounds one token fetch, retries included, and is the
// timeout of the default HTTP client.
const DefaultTimeout = 30 * time.Second

// maxTokenResponse bounds the bytes read of a token endpoint response.
const maxTokenResponse = 1 << 20

// resolved is a validated Config with every default filled in.
type resolved struct {
	Config
	tokenURL string
	audience string
	lifetime time.Duration
	attempts int
	// tokenClient is HTTPClient with redirects refused.
	tokenClient *http.Client
}

func (c Config) resolve() (resolved, error) {
	r := resolved{Config: c}
	if r.Profile.Name == "" {
		r.Profile = Generic()
	}
	if c.ClientID == "" {
		return r, fmt.Errorf("pkjwt: client id is required: %w", ErrConfig)
	}
	if c.Keys == nil {
		return r, fmt.Errorf("pkjwt: a signing key is required: %w", ErrConfig)
	}
	r.tokenURL = c.TokenURL
	if r.tokenURL == "" {
		r.tokenURL = r.Profile.TokenURL
	}
	if r.tokenURL == "" {
		return r, fmt.Errorf("pkjwt: token URL is required (or choose a profile): %w", ErrConfig)
	}
	if err := checkURL(r.tokenURL); err != nil {
		return r, err
	}
	r.audience = c.Audience
	if r.audience == "" {
		r.audience = r.tokenURL
	}
	r.lifetime = c.Lifetime
	if r.lifetime == 0 {
		r.lifetime = DefaultLifetime
	}
	if r.lifetime < 10*time.Second {
		return r, fmt.Errorf("pkjwt: assertion lifetime %s is shorter than 10s: %w", r.lifetime, ErrConfig)
	}
	if max := r.Profile.MaxLifetime; max > 0 && r.lifetime > max {
		return r, fmt.Errorf("pkjwt: assertion lifetime %s exceeds the %s profile's %s: %w", r.lifetime, r.Profile.Name, max, ErrConfig)
	}
	r.attempts = c.MaxAttempts
	if r.attempts <= 0 {
		r.attempts = 3
	}
	if r.HTTPClient == nil {
		r.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	// A token endpoint that redirects would make net/http re-post the
	// assertion (307/308) to wherever it points: never follow. The
	// caller's client is copied, not changed.
	hc := *r.HTTPClient
	hc.CheckRedirect = refuseRedirect
	r.tokenClient = &hc
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.RefreshBefore < 0 {
		return r, fmt.Errorf("pkjwt: negative RefreshBefore: %w", ErrConfig)
	}
	// Check the current key now, so that a wrong key fails at start-up
	// rather than at the first request.
	k, err := c.Keys.SigningKey()
	if err != nil {
		return r, fmt.Errorf("pkjwt: signing key: %w", err)
	}
	if err := r.checkKey(k); err != nil {
		return r, err
	}
	return r, nil
}

func (r *resolved) checkKey(k *keys.Key) error {
	if alg := r.Profile.Algorithm; alg != "" && k.Algorithm != alg {
		return fmt.Errorf("pkjwt: key %s signs %s but the %s profile requires %s: %w", k.ID, k.Algorithm, r.Profile.Name, alg, ErrConfig)
	}
	if err := keys.CheckAlgorithm(k.Public(), k.Algorithm); err != nil {
		return fmt.Errorf("pkjwt: key %s: %w", k.ID, err)
	}
	return nil
}

// checkURL accepts https URLs, and http only to a loopback host (the
// emulator, tests): an assertion must not cross a network in clear text.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("pkjwt: token URL %q: %w: %w", raw, ErrConfig, err)
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("pkjwt: token URL %q must be an absolute URL without user info or fragment: %w", raw, ErrConfig)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopback.Host(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("pkjwt: token URL %q uses plain http to a non-loopback host: %w", raw, ErrConfig)
	}
	return fmt.Errorf("pkjwt: token URL %q: scheme must be https: %w", raw, ErrConfig)
}

// refuseRedirect makes an http.Client return a redirect response as it is.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
