package pkjwt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/pkjwt/pkjwt/keys"

	"github.com/pkjwt/pkjwt/internal/httpx"
)

// TokenSource gets access tokens with the client credentials grant,
// authenticating with a private key JWT. It implements oauth2.TokenSource
// and is safe for concurrent use.
//
// Caching and refresh: a token is served from the cache until its refresh
// time, which is expiry minus RefreshBefore (default: a fifth of the token's
// lifetime, at most one minute; NHS's 599 s tokens refresh after 539 s). A
// cached token is read with one atomic load: no lock is held across the
// network. Between the refresh time and ten seconds before expiry, callers
// keep getting the cached token at once while a single background request
// fetches the next one; if it fails, the next try waits a few seconds. With
// no usable token in the cache, callers wait for one request, however many
// they are, and all get its result or its error.
//
// Every attempt signs a new assertion with a new jti, because NHS England
// burns a jti before it checks anything else: re-sending an assertion fails.
type TokenSource struct {
	cfg   resolved
	cur   atomic.Pointer[cacheEntry]
	group singleflight.Group
	// failed remembers the last failed fetch while no token is usable, so
	// that callers get its error for a moment instead of each sending a
	// new request.
	failed         atomic.Pointer[failure]
	lastInvalidate atomic.Int64 // unix nanoseconds of the last Invalidate
}

type failure struct {
	err   error
	until time.Time
}

// failureBackoff is how long a failed fetch's error is returned to new
// callers before the next fetch (plus up to half as much jitter).
const failureBackoff = 2 * time.Second

type cacheEntry struct {
	tok       *oauth2.Token
	refreshAt time.Time // serve from cache before this
	validTill time.Time // usable (expiry minus skew) before this
	retryAt   time.Time // after a failed refresh, do not try again before this

	// With the real clock, a timer sets stale at refreshAt, so that the
	// hot path reads no clock (time.Now costs more than everything else
	// on it). timed is false for entries that must consult the clock.
	timed bool
	stale atomic.Bool
}

// expirySkew is how long before its expiry a token stops being handed out.
const expirySkew = 10 * time.Second

// NewTokenSource validates cfg and returns a TokenSource. It makes no
// network call.
func NewTokenSource(cfg Config) (*TokenSource, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	return &TokenSource{cfg: r}, nil
}

// TokenURL returns the token endpoint the source posts to.
func (ts *TokenSource) TokenURL() string { return ts.cfg.tokenURL }

// Audience returns the aud claim the source puts in its assertions.
func (ts *TokenSource) Audience() string { return ts.cfg.audience }

// Profile returns the resolved profile.
func (ts *TokenSource) Profile() Profile { return ts.cfg.Profile }

// SigningKey returns the key the next assertion will be signed with, as
// Config.Keys gives it now.
func (ts *TokenSource) SigningKey() (*keys.Key, error) { return ts.cfg.Keys.SigningKey() }

// ClientID returns the client id.
func (ts *TokenSource) ClientID() string { return ts.cfg.ClientID }

// Token returns a valid token; it implements oauth2.TokenSource.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	return ts.TokenContext(context.Background())
}

// TokenContext returns a valid token, fetching one if the cache holds none
// that is fresh. ctx bounds the caller's wait; a fetch already under way
// for other callers is not cancelled when one caller gives up.
func (ts *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	e := ts.cur.Load()
	if e != nil && e.timed && !e.stale.Load() {
		return e.tok, nil
	}
	now := ts.cfg.Now()
	if e != nil && now.Before(e.refreshAt) {
		return e.tok, nil
	}
	if e != nil && now.Before(e.validTill) {
		// Early refresh: the cached token is still good, so hand it out
		// at once and let one background flight replace it.
		if !now.Before(e.retryAt) {
			ts.startRefresh(ctx)
		}
		return e.tok, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pkjwt: waiting for a token: %w", err)
	}
	if f := ts.failed.Load(); f != nil && now.Before(f.until) {
		return nil, f.err
	}
	select {
	case res := <-ts.startRefresh(ctx):
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*oauth2.Token), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("pkjwt: waiting for a token: %w", ctx.Err())
	}
}

// startRefresh joins the refresh under way or starts one. The refresh is
// not cancelled when the caller that started it gives up.
func (ts *TokenSource) startRefresh(ctx context.Context) <-chan singleflight.Result {
	return ts.group.DoChan("token", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultTimeout)
		defer cancel()
		return ts.refresh(fctx)
	})
}

// invalidateEvery is how often Invalidate may drop a token. An API that
// rejects every token (an app without the API's product, say) would
// otherwise cost a token request per API call and exhaust the token
// endpoint's quota.
const invalidateEvery = 30 * time.Second

// Invalidate drops tok from the cache if it is the cached token, so that the
// next call fetches a new one; use it when an API rejects a token early. It
// drops at most one token per 30 seconds, and reports whether it dropped
// tok.
func (ts *TokenSource) Invalidate(tok *oauth2.Token) bool {
	e := ts.cur.Load()
	if e == nil || e.tok != tok {
		return false
	}
	now := ts.cfg.Now().UnixNano()
	last := ts.lastInvalidate.Load()
	if last != 0 && now-last < int64(invalidateEvery) {
		return false
	}
	if !ts.lastInvalidate.CompareAndSwap(last, now) {
		return false
	}
	return ts.cur.CompareAndSwap(e, nil)
}

// refresh runs inside the single flight.
func (ts *TokenSource) refresh(ctx context.Context) (*oauth2.Token, error) {
	old := ts.cur.Load()
	now := ts.cfg.Now()
	if old != nil && now.Before(old.refreshAt) {
		return old.tok, nil // another flight just refreshed it
	}
	tok, info, err := ts.fetch(ctx)
	now = ts.cfg.Now()
	if err != nil {
		if old != nil && now.Before(old.validTill) {
			retry := &cacheEntry{tok: old.tok, refreshAt: old.refreshAt, validTill: old.validTill,
				retryAt: now.Add(5*time.Second + rand.N(5*time.Second))}
			ts.cur.CompareAndSwap(old, retry)
			return old.tok, nil
		}
		ts.failed.Store(&failure{err: err, until: now.Add(failureBackoff + rand.N(failureBackoff/2))})
		return nil, err
	}
	ts.failed.Store(nil)
	lifetime := info.Expiry.Sub(info.ReceivedAt)
	// The token stops being handed out skew before its expiry, and is
	// refreshed before in the background; both are clamped so that a
	// short-lived token or a large RefreshBefore cannot make every call
	// fetch.
	skew := min(expirySkew, lifetime/4)
	before := ts.cfg.RefreshBefore
	if before == 0 {
		before = min(lifetime/5, time.Minute)
	}
	before = max(min(before, lifetime/2), skew)
	e := &cacheEntry{
		tok:       tok,
		refreshAt: info.Expiry.Add(-before),
		validTill: info.Expiry.Add(-skew),
		timed:     ts.cfg.realClock,
	}
	if e.timed {
		// The timer runs on the monotonic clock. Should the host sleep
		// past the refresh time, the token may be served late; an API
		// then answers 401 and Transport fetches a new token.
		time.AfterFunc(e.refreshAt.Sub(now), func() { e.stale.Store(true) })
	}
	ts.cur.Store(e)
	return tok, nil
}

// fetch makes up to MaxAttempts token requests, each with a new assertion.
func (ts *TokenSource) fetch(ctx context.Context) (*oauth2.Token, *TokenInfo, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var tok *oauth2.Token
		var info *TokenInfo
		var wait time.Duration
		tok, info, wait, err = ts.attempt(ctx)
		if err == nil {
			return tok, info, nil
		}
		if attempt >= ts.cfg.attempts || ctx.Err() != nil || !retryable(err) {
			return nil, nil, err
		}
		backoff := time.Duration(attempt) * 500 * time.Millisecond
		backoff += rand.N(backoff / 2)
		wait = max(wait, backoff)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

func retryable(err error) bool {
	var te *TokenError
	if errors.As(err, &te) {
		return te.Retryable()
	}
	if errors.Is(err, ErrConfig) || errors.Is(err, ErrTokenResponse) {
		return false
	}
	var ke *keyError
	return !errors.As(err, &ke) // transport errors (timeouts too) are retryable; key errors are not
}

type keyError struct{ err error }

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// attempt makes one token request. wait is the server's Retry-After.
func (ts *TokenSource) attempt(ctx context.Context) (*oauth2.Token, *TokenInfo, time.Duration, error) {
	key, err := ts.cfg.Keys.SigningKey()
	if err != nil {
		return nil, nil, 0, &keyError{fmt.Errorf("pkjwt: signing key: %w", err)}
	}
	if err := ts.cfg.checkKey(key); err != nil {
		return nil, nil, 0, &keyError{err}
	}
	assertion, err := Assertion{
		ClientID: ts.cfg.ClientID,
		Audience: ts.cfg.audience,
		IssuedAt: ts.cfg.Now(),
		Lifetime: ts.cfg.lifetime,
	}.Sign(key)
	if err != nil {
		return nil, nil, 0, &keyError{err}
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {AssertionType},
		"client_assertion":      {assertion},
	}
	if len(ts.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(ts.cfg.Scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.cfg.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("pkjwt: token request: %w: %w", ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := ts.cfg.tokenClient.Do(req)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("pkjwt: token request to %s: %w", ts.cfg.tokenURL, err)
	}
	defer httpx.DrainClose(resp.Body)
	body, err := httpx.ReadBounded(resp.Body, maxTokenResponse)
	if err != nil {
		if resp.StatusCode/100 == 2 {
			return nil, nil, 0, fmt.Errorf("pkjwt: token response: %w: %w", ErrTokenResponse, err)
		}
		return nil, nil, 0, &TokenError{StatusCode: resp.StatusCode, Body: "(body over the size limit)"}
	}
	received := ts.cfg.Now()
	if resp.StatusCode/100 != 2 {
		return nil, nil, httpx.RetryAfter(resp.Header, received), parseTokenError(resp, body, assertion)
	}
	tok, info, err := parseToken(body, received)
	if err != nil {
		return nil, nil, 0, err
	}
	info.KeyID = key.ID
	return tok, info, 0, nil
}

// flexInt decodes a JSON number or a string holding one: NHS England sends
// expires_in and issued_at as strings.
type flexInt struct {
	v   int64
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		fv, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if ferr != nil || fv < -1e15 || fv > 1e15 {
			return fmt.Errorf("not an integer: %.40q", s)
		}
		v = int64(fv)
	}
	f.v, f.set = v, true
	return nil
}

type tokenResponse struct {
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresIn   flexInt `json:"expires_in"`
	IssuedAt    flexInt `json:"issued_at"`
	Scope       string  `json:"scope"`
}

// defaultExpiresIn is assumed when a response has no expires_in.
const defaultExpiresIn = 5 * time.Minute

// maxExpiresIn caps a server's expires_in, so that a bogus value cannot pin
// a token in the cache for years.
const maxExpiresIn = 24 * time.Hour

func parseToken(body []byte, received time.Time) (*oauth2.Token, *TokenInfo, error) {
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, nil, fmt.Errorf("pkjwt: token response: %w: %w", ErrTokenResponse, err)
	}
	if tr.AccessToken == "" {
		return nil, nil, fmt.Errorf("pkjwt: token response has no access_token: %w", ErrTokenResponse)
	}
	if tr.TokenType == "" || !strings.EqualFold(tr.TokenType, "bearer") {
		return nil, nil, fmt.Errorf("pkjwt: token_type %.40q, want Bearer: %w", tr.TokenType, ErrTokenResponse)
	}
	life := defaultExpiresIn
	if tr.ExpiresIn.set {
		if tr.ExpiresIn.v <= 0 {
			return nil, nil, fmt.Errorf("pkjwt: expires_in %d: %w", tr.ExpiresIn.v, ErrTokenResponse)
		}
		life = min(time.Duration(tr.ExpiresIn.v)*time.Second, maxExpiresIn)
	}
	info := &TokenInfo{
		TokenType:  "Bearer",
		Scope:      tr.Scope,
		ReceivedAt: received,
		IssuedAt:   received,
		Expiry:     received.Add(life),
		ExpiresIn:  int64(life / time.Second),
	}
	if tr.IssuedAt.set && tr.IssuedAt.v > 0 {
		// NHS's issued_at is epoch milliseconds; accept seconds too.
		ms := tr.IssuedAt.v
		if ms < 1e11 {
			ms *= 1000
		}
		info.IssuedAt = time.UnixMilli(ms)
	}
	tok := &oauth2.Token{
		AccessToken: tr.AccessToken,
		TokenType:   "Bearer",
		Expiry:      info.Expiry,
		ExpiresIn:   info.ExpiresIn,
	}
	tok = tok.WithExtra(map[string]any{infoKey: info})
	return tok, info, nil
}

func parseTokenError(resp *http.Response, body []byte, assertion string) error {
	te := &TokenError{StatusCode: resp.StatusCode}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
		MessageID   string `json:"message_id"`
	}
	if (ct == "application/json" || strings.HasSuffix(ct, "+json") || bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))) &&
		json.Unmarshal(body, &e) == nil && e.Error != "" {
		te.Code, te.Description = redact(e.Error, assertion), redact(e.Description, assertion)
		te.URI, te.MessageID = redact(e.URI, assertion), redact(e.MessageID, assertion)
		return te
	}
	te.Body = redact(strings.TrimSpace(string(body)), assertion)
	return te
}

// redact removes any echo of the assertion from a server-supplied string
// and bounds its length before it reaches an error message.
func redact(s, assertion string) string {
	if assertion != "" {
		s = strings.ReplaceAll(s, assertion, "[client_assertion]")
	}
	return clip(s)
}

// clip bounds a server-supplied string before it reaches an error message.
func clip(s string) string {
	const max = 512
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// infoKey is the oauth2.Token extra under which TokenInfo is kept.
const infoKey = "pkjwt.info"

// TokenInfo is what may be shown about a token: everything but the token.
type TokenInfo struct {
	// TokenType is "Bearer".
	TokenType string `json:"token_type"`
	// Scope is the scope the server granted, if it said.
	Scope string `json:"scope,omitempty"`
	// ExpiresIn is the lifetime the server gave, in seconds.
	ExpiresIn int64 `json:"expires_in"`
	// IssuedAt is the server's issued_at, or ReceivedAt.
	IssuedAt time.Time `json:"issued_at"`
	// ReceivedAt is when the response arrived.
	ReceivedAt time.Time `json:"received_at"`
	// Expiry is ReceivedAt + ExpiresIn.
	Expiry time.Time `json:"expires_at"`
	// KeyID is the kid of the key that signed the assertion.
	KeyID string `json:"kid"`
}

// Info returns the TokenInfo of a token from a TokenSource, or nil for a
// token from elsewhere.
func Info(tok *oauth2.Token) *TokenInfo {
	if tok == nil {
		return nil
	}
	i, _ := tok.Extra(infoKey).(*TokenInfo)
	return i
}
