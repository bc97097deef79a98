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

// contextTokenSource is a token source that takes a context, as
// [*TokenSource] does.
type contextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// Transport is an [http.RoundTripper] that authorizes requests with a
// bearer token from Source, and does nothing else: it neither retries nor
// waits (the client of [NewClient] puts a retry layer above it).
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
	// Source gives tokens: a [*TokenSource], or any [oauth2.TokenSource]
	// (one with a TokenContext(ctx) method, as *TokenSource has, gets the
	// request's context).
	Source oauth2.TokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// RequestIDs adds X-Request-ID (see above).
	RequestIDs bool
}

// requestIDHeader is the header NHS APIs de-duplicate requests on.
const requestIDHeader = "X-Request-ID"

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
	tok, err := sourceToken(req.Context(), t.Source)
	if err != nil {
		return fail(err)
	}
	r2 := req.Clone(req.Context())
	tok.SetAuthHeader(r2)
	if t.RequestIDs && r2.Header.Get(requestIDHeader) == "" {
		id, err := uuid.NewRandom()
		if err != nil {
			return fail(fmt.Errorf("pkjwt: X-Request-ID: %w", err))
		}
		r2.Header.Set(requestIDHeader, id.String())
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r2) // closes the body
}

// sourceToken gets a token from src, with ctx when src takes one.
func sourceToken(ctx context.Context, src oauth2.TokenSource) (*oauth2.Token, error) {
	if cs, ok := src.(contextTokenSource); ok {
		return cs.TokenContext(ctx)
	}
	return src.Token()
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
type ClientOption func(*retryTransport)

// WithRetries sets the retry layer's bounds: at most maxRetries retries of
// one request (0 or less: none, so that the caller sees every 401, 429
// and 503 as it comes), and a Retry-After of at most maxWait honoured (0:
// 10 s).
func WithRetries(maxRetries int, maxWait time.Duration) ClientOption {
	return func(rt *retryTransport) {
		rt.maxRetries = maxRetries
		if maxRetries <= 0 {
			rt.maxRetries = -1
		}
		rt.maxRetryAfter = maxWait
	}
}

// NewClient returns an HTTP client whose requests carry a token from ts,
// through a [Transport] under a retry layer. By default (see
// [WithRetries]) it retries a request at most twice, honouring a
// Retry-After of up to 10 s:
//
//   - after a 401, once, with a new token: it drops the rejected token
//     ([TokenSource.Invalidate]: at most once per 30 seconds, so an API
//     that rejects every token does not cost a token request per call)
//     and sends the request again, whatever its method, when its body can
//     be replayed. When no new token can be had, the client returns the
//     401 response, and [RefreshError] of it gives the fetch's error;
//   - after a 429 or 503 with a Retry-After within the bound, waiting that
//     long, when the request is idempotent (GET, HEAD, OPTIONS, TRACE, PUT,
//     DELETE, or any method with an Idempotency-Key or X-Idempotency-Key
//     header).
//
// A request with a body is retried only if it can replay it (GetBody,
// which http.NewRequest sets for in-memory bodies). Under a profile with
// RequestIDs (the NHS profiles) each request also gets an X-Request-ID,
// the same on its retries, so that NHS APIs de-duplicate them. The client
// uses the transport of the token source's HTTP client and its timeout
// ([DefaultTimeout] if it has none). It follows redirects only within the
// origin of the request.
func NewClient(ts *TokenSource, opts ...ClientOption) *http.Client {
	base := ts.cfg.HTTPClient.Transport
	timeout := ts.cfg.HTTPClient.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	rt := &retryTransport{
		base:   &Transport{Source: ts, Base: base, RequestIDs: ts.cfg.Profile.RequestIDs},
		source: ts,
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
