package pkjwt

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/pkjwt/pkjwt/internal/httpx"
)

// ContextTokenSource is a token source that takes a context, as
// *TokenSource does.
type ContextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// invalidator is implemented by sources that can drop a rejected token.
type invalidator interface {
	Invalidate(tok *oauth2.Token) bool
}

// Transport is an http.RoundTripper that authorizes requests with a bearer
// token from Source.
//
// It refuses (with ErrUnsafeDestination) to send a token over plain http to
// a host that is not loopback, and to follow a redirect to another scheme or
// host with it.
//
// With RequestIDs set it gives every request that has none an X-Request-ID
// holding a new random UUIDv4, and keeps that same value when it retries the
// request, as NHS APIs require (they de-duplicate on it). An X-Correlation-ID
// set by the caller passes through unchanged.
//
// It retries a request at most MaxRetries times: once after a 401 (with a
// new token, if Source can invalidate the old one; TokenSource allows that
// once per 30 seconds, so an API that rejects every token does not cost a
// token request per call), and after a 503 or 429
// that carries a Retry-After of at most MaxRetryAfter, when the request has
// no body or can replay it (GetBody).
type Transport struct {
	// Source gives tokens.
	Source ContextTokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// RequestIDs adds X-Request-ID (see above).
	RequestIDs bool
	// MaxRetries bounds the retries of one request; 0 means 2, negative
	// means none.
	MaxRetries int
	// MaxRetryAfter is the longest Retry-After honoured; 0 means 10s.
	MaxRetryAfter time.Duration
}

// RequestIDHeader is the header NHS APIs de-duplicate requests on.
const RequestIDHeader = "X-Request-ID"

// RoundTrip implements http.RoundTripper. It does not modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		defer req.Body.Close() // a RoundTripper must close the body, even on errors
	}
	if t.Source == nil {
		return nil, fmt.Errorf("pkjwt: Transport has no token source: %w", ErrConfig)
	}
	if err := checkDestination(req); err != nil {
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	retries := t.MaxRetries
	if retries == 0 {
		retries = 2
	}
	maxWait := t.MaxRetryAfter
	if maxWait == 0 {
		maxWait = 10 * time.Second
	}
	requestID := req.Header.Get(RequestIDHeader)
	if t.RequestIDs && requestID == "" {
		id, err := uuid.NewRandom()
		if err != nil {
			return nil, fmt.Errorf("pkjwt: X-Request-ID: %w", err)
		}
		requestID = id.String()
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	refreshed := false
	for attempt := 0; ; attempt++ {
		tok, err := t.Source.TokenContext(req.Context())
		if err != nil {
			return nil, err
		}
		r2 := req.Clone(req.Context())
		if attempt > 0 && req.GetBody != nil {
			if r2.Body, err = req.GetBody(); err != nil {
				return nil, fmt.Errorf("pkjwt: replay request body: %w", err)
			}
		}
		tok.SetAuthHeader(r2)
		if requestID != "" {
			r2.Header.Set(RequestIDHeader, requestID)
		}
		resp, err := base.RoundTrip(r2)
		if err != nil || attempt >= retries || !replayable {
			return resp, err
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && !refreshed:
			inv, ok := t.Source.(invalidator)
			if !ok || !inv.Invalidate(tok) {
				return resp, nil
			}
			refreshed = true
			httpx.DrainClose(resp.Body)
		case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
			wait := httpx.RetryAfter(resp.Header, time.Now())
			if wait <= 0 || wait > maxWait {
				return resp, nil
			}
			httpx.DrainClose(resp.Body)
			tm := time.NewTimer(wait)
			select {
			case <-req.Context().Done():
				tm.Stop()
				return nil, fmt.Errorf("pkjwt: waiting to retry: %w", req.Context().Err())
			case <-tm.C:
			}
		default:
			return resp, nil
		}
	}
}

// checkDestination refuses to attach a token to a request that would carry
// it in clear text off this machine, or to a redirect that leaves the
// origin of the request the caller made.
func checkDestination(req *http.Request) error {
	u := req.URL
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
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

// NewClient returns an HTTP client whose requests carry a token from ts.
// Under a profile with RequestIDs (the NHS profiles) each request also gets
// an X-Request-ID. The client uses the transport of the token source's HTTP
// client and its timeout (DefaultTimeout if it has none). It follows
// redirects only within the origin of the request.
func NewClient(ts *TokenSource) *http.Client {
	base := ts.cfg.HTTPClient.Transport
	timeout := ts.cfg.HTTPClient.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{
		Transport:     &Transport{Source: ts, Base: base, RequestIDs: ts.cfg.Profile.RequestIDs},
		Timeout:       timeout,
		CheckRedirect: sameOriginRedirect,
	}
}
