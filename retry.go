package pkjwt

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/internal/httpx"
)

// Retry defaults of [RetryTransport].
const (
	// DefaultMaxRetries bounds the retries of one request.
	DefaultMaxRetries = 2
	// DefaultMaxRetryAfter is the longest Retry-After honoured.
	DefaultMaxRetryAfter = 10 * time.Second
)

// RetryTransport is an opt-in [http.RoundTripper] that retries a request
// sent through Base (usually a [*Transport]), at most MaxRetries times:
//
//   - after a 401, once, with a new token: it drops the rejected token from
//     Source (when Source has an Invalidate method, as [*TokenSource] does;
//     TokenSource allows that once per 30 seconds, so an API that rejects
//     every token does not cost a token request per call), fetches a new
//     one, and sends the request again. A 401 means the server did not act
//     on the request, so any request whose body can be replayed is
//     retried. When the new token cannot be fetched, RoundTrip returns the
//     401 response, unread, and [RefreshError] of that response gives the
//     fetch error;
//   - after a 429 or 503 that carries a Retry-After of at most
//     MaxRetryAfter, waiting that long, when the request is idempotent (GET,
//     HEAD, OPTIONS, TRACE, PUT, DELETE, or any method with an
//     Idempotency-Key or X-Idempotency-Key header).
//
// A request with a body is retried only if it can replay it (GetBody,
// which http.NewRequest sets for in-memory bodies). A retry carries the
// X-Request-ID the first attempt was sent with (the one [Transport] gave
// it), so that NHS APIs de-duplicate it. Every other response, and every
// error of Base, is returned as it is.
type RetryTransport struct {
	// Base sends each attempt; nil is an error.
	Base http.RoundTripper
	// Source gives the token Base sends; the 401 rule needs it. nil means
	// Base's Source when Base is a *Transport; with neither, a 401 is
	// returned as it is.
	Source ContextTokenSource
	// MaxRetries bounds the retries of one request; 0 means
	// DefaultMaxRetries, negative means none.
	MaxRetries int
	// MaxRetryAfter is the longest Retry-After honoured; 0 means
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// refreshErrorKey keys the token fetch error in a 401 response's request
// context.
type refreshErrorKey struct{}

// RefreshError returns the error of the token fetch that followed a 401,
// when [RetryTransport] returned the 401 response because it could not get
// a new token; otherwise nil.
func RefreshError(resp *http.Response) error {
	if resp == nil || resp.Request == nil {
		return nil
	}
	err, _ := resp.Request.Context().Value(refreshErrorKey{}).(error)
	return err
}

// idempotent reports whether req may be sent twice with the effect of
// once, by net/http's rule.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, k1 := req.Header["Idempotency-Key"]
	_, k2 := req.Header["X-Idempotency-Key"]
	return k1 || k2
}

// RoundTrip implements http.RoundTripper. It does not modify req.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Base == nil {
		if req.Body != nil && req.Body != http.NoBody {
			req.Body.Close()
		}
		return nil, fmt.Errorf("pkjwt: RetryTransport has no Base: %w", ErrConfig)
	}
	retries := t.MaxRetries
	if retries == 0 {
		retries = DefaultMaxRetries
	}
	maxWait := t.MaxRetryAfter
	if maxWait == 0 {
		maxWait = DefaultMaxRetryAfter
	}
	src := t.Source
	if tr, ok := t.Base.(*Transport); ok && src == nil {
		src = tr.Source
	}
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	requestID := req.Header.Get(RequestIDHeader)
	refreshed := false
	for attempt := 0; ; attempt++ {
		r2 := req
		if attempt > 0 {
			r2 = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("pkjwt: replay request body: %w", err)
				}
				r2.Body = body
			}
			if requestID != "" {
				r2.Header.Set(RequestIDHeader, requestID)
			}
		}
		resp, err := t.Base.RoundTrip(r2)
		if err != nil || attempt >= retries || !replayable {
			return resp, err
		}
		if attempt == 0 && requestID == "" && resp.Request != nil {
			requestID = resp.Request.Header.Get(RequestIDHeader) // the one Transport gave
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && !refreshed:
			retry, ferr := renewToken(ctx, src, resp)
			if ferr != nil {
				return withRefreshError(resp, ferr), nil
			}
			if !retry {
				return resp, nil
			}
			refreshed = true
			httpx.DrainClose(resp.Body)
		case (resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests) && idempotent(req):
			wait := httpx.RetryAfter(resp.Header, time.Now())
			if wait <= 0 || wait > maxWait {
				return resp, nil
			}
			httpx.DrainClose(resp.Body)
			tm := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				tm.Stop()
				return nil, fmt.Errorf("pkjwt: waiting to retry: %w", ctx.Err())
			case <-tm.C:
			}
		default:
			return resp, nil
		}
	}
}

// renewToken handles a 401: it drops the token the rejected request
// carried, if src still caches it and may drop it, and fetches the next
// one. retry is false when no new token is to be had without a fetch the
// source refuses (Invalidate's rate limit); err is the fetch's error.
func renewToken(ctx context.Context, src ContextTokenSource, resp *http.Response) (retry bool, err error) {
	inv, ok := src.(invalidator)
	if !ok || resp.Request == nil {
		return false, nil
	}
	sent := bearer(resp.Request)
	cur, err := src.TokenContext(ctx)
	if err != nil {
		return false, err
	}
	if cur.AccessToken != sent {
		return true, nil // another request already replaced it
	}
	if !inv.Invalidate(cur) {
		return false, nil
	}
	if _, err := src.TokenContext(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// bearer returns the bearer token of a request's Authorization header.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// withRefreshError returns resp with err reachable through RefreshError.
func withRefreshError(resp *http.Response, err error) *http.Response {
	resp.Request = resp.Request.WithContext(context.WithValue(resp.Request.Context(), refreshErrorKey{}, err))
	return resp
}
