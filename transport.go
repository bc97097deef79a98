package pkjwt

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/pkjwt/pkjwt/internal/loopback"
)

// ContextTokenSource is a token source that takes a context, as
// [*TokenSource] does.
type ContextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// invalidator is implemented by sources that can drop a rejected token.
type invalidator interface {
	Invalidate(tok *oauth2.Token) bool
}

// Transport is an [http.RoundTripper] that authorizes requests with a
// bearer token from Source, and does nothing else: it neither retries nor
// waits (see [RetryTransport], which [NewClient] puts above it).
//
// It refuses (with [ErrUnsafeDestination]) to send a token over plain http
// to a host that is not loopback, and to follow a redirect to another
// scheme or host with it.
//
// With RequestIDs set it gives every request that has none an X-Request-ID
// holding a new random UUIDv4, as NHS APIs require (they de-duplicate on
// it); a request that already carries one (a retry, or the caller's own)
// keeps it. An X-Correlation-ID set by the caller passes through unchanged.
//
// When Source fails, RoundTrip returns its error and sends nothing.
type Transport struct {
	// Source gives tokens.
	Source ContextTokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// RequestIDs adds X-Request-ID (see above).
	RequestIDs bool
}

// RequestIDHeader is the header NHS APIs de-duplicate requests on.
const RequestIDHeader = "X-Request-ID"

// RoundTrip implements http.RoundTripper. It does not modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := req.Body != nil && req.Body != http.NoBody
	fail := func(err error) (*http.Response, error) {
		if closeBody {
			req.Body.Close() // a RoundTripper must close the body, even on errors
		}
		return nil, err
	}
	if t.Source == nil {
		return fail(fmt.Errorf("pkjwt: Transport has no token source: %w", ErrConfig))
	}
	if err := checkDestination(req); err != nil {
		return fail(err)
	}
	tok, err := t.Source.TokenContext(req.Context())
	if err != nil {
		return fail(err)
	}
	r2 := req.Clone(req.Context())
	tok.SetAuthHeader(r2)
	if t.RequestIDs && r2.Header.Get(RequestIDHeader) == "" {
		id, err := uuid.NewRandom()
		if err != nil {
			return fail(fmt.Errorf("pkjwt: X-Request-ID: %w", err))
		}
		r2.Header.Set(RequestIDHeader, id.String())
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r2) // closes the body
}

// checkDestination refuses to attach a token to a request that would carry
// it in clear text off this machine, or to a redirect that leaves the
// origin of the request the caller made.
func checkDestination(req *http.Request) error {
	u := req.URL
	if u.Scheme != "https" && (u.Scheme != "http" || !loopback.Host(u.Hostname())) {
		return fmt.Errorf("pkjwt: refusing to send the access token to %s://%s (https, or http to loopback only): %w", u.Scheme, u.Host, ErrUnsafeDestination)
	}
	if prev := req.Response; prev != nil && prev.Request != nil {
		from := prev.Request.URL
		if from.Scheme != u.Scheme || from.Host != u.Host {
			return fmt.Errorf("pkjwt: refusing to follow a redirect from %s://%s to %s://%s with the access token: %w", from.Scheme, from.Host, u.Scheme, u.Host, ErrUnsafeDestination)
		}
	}
	return nil
}

// sameOriginRedirect follows a redirect only to the same scheme and host:
// the token must not travel to another origin or drop to plain http.
func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("pkjwt: stopped after 10 redirects")
	}
	if first := via[0].URL; req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

// ClientOption changes what [NewClient] builds.
type ClientOption func(*RetryTransport)

// WithRetries sets the retry layer's bounds: at most maxRetries retries of
// one request (0 or less: none), and a Retry-After of at most maxWait
// honoured (0: DefaultMaxRetryAfter).
func WithRetries(maxRetries int, maxWait time.Duration) ClientOption {
	return func(rt *RetryTransport) {
		rt.MaxRetries = maxRetries
		if maxRetries <= 0 {
			rt.MaxRetries = -1
		}
		rt.MaxRetryAfter = maxWait
	}
}

// WithoutRetries makes NewClient's client send every request once: the
// caller sees every 401, 429 and 503 as it comes.
func WithoutRetries() ClientOption { return WithRetries(0, 0) }

// NewClient returns an HTTP client whose requests carry a token from ts: a
// [RetryTransport] (by default: at most 2 retries, Retry-After up to 10 s;
// see [WithRetries], [WithoutRetries]) over a [Transport]. Under a profile
// with RequestIDs (the NHS profiles) each request also gets an
// X-Request-ID, the same on its retries. The client uses the transport of
// the token source's HTTP client and its timeout (DefaultTimeout if it has
// none). It follows redirects only within the origin of the request.
func NewClient(ts *TokenSource, opts ...ClientOption) *http.Client {
	base := ts.cfg.HTTPClient.Transport
	timeout := ts.cfg.HTTPClient.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	rt := &RetryTransport{
		Base:   &Transport{Source: ts, Base: base, RequestIDs: ts.cfg.Profile.RequestIDs},
		Source: ts,
	}
	for _, o := range opts {
		o(rt)
	}
	return &http.Client{
		Transport:     rt,
		Timeout:       timeout,
		CheckRedirect: sameOriginRedirect,
	}
}
