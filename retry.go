package pkjwt

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/pkjwt/pkjwt/internal/httpx"
)

// Retry defaults of the retry layer of [NewClient] (see [WithRetries]).
const (
	// defaultMaxRetries bounds the retries of one request.
	defaultMaxRetries = 2
	// defaultMaxRetryAfter is the longest Retry-After honoured.
	defaultMaxRetryAfter = 10 * time.Second
)

// retryTransport is the retry layer [NewClient] puts above a [*Transport];
// NewClient's doc says what it retries. A retry carries the X-Request-ID
// the first attempt was sent with (the one Transport gave it), so that NHS
// APIs de-duplicate it. Every other response, and every error of base, is
// returned as it is.
type retryTransport struct {
	// base sends each attempt.
	base http.RoundTripper
	// source gives the token base sends; the 401 rule needs it.
	source *TokenSource
	// maxRetries bounds the retries of one request; 0 means
	// defaultMaxRetries, negative means none.
	maxRetries int
	// maxRetryAfter is the longest Retry-After honoured; 0 means
	// defaultMaxRetryAfter.
	maxRetryAfter time.Duration
}

// refreshErrorKey keys the token fetch error in a 401 response's request
// context.
type refreshErrorKey struct{}

// RefreshError returns the error of the token fetch that followed a 401,
// when the client of [NewClient] returned the 401 response because it
// could not get a new token; otherwise nil.
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
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	retries := t.maxRetries
	if retries == 0 {
		retries = defaultMaxRetries
	}
	maxWait := t.maxRetryAfter
	if maxWait == 0 {
		maxWait = defaultMaxRetryAfter
	}
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	requestID := req.Header.Get(requestIDHeader)
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
				r2.Header.Set(requestIDHeader, requestID)
			}
		}
		resp, err := t.base.RoundTrip(r2)
		if err != nil || attempt >= retries || !replayable {
			return resp, err
		}
		if attempt == 0 && requestID == "" && resp.Request != nil {
			requestID = resp.Request.Header.Get(requestIDHeader) // the one Transport gave
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && !refreshed:
			retry, ferr := renewToken(ctx, t.source, resp)
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
func renewToken(ctx context.Context, src *TokenSource, resp *http.Response) (retry bool, err error) {
	if resp.Request == nil {
		return false, nil
	}
	sent := httpx.Bearer(resp.Request)
	cur, err := src.TokenContext(ctx)
	if err != nil {
		return false, err
	}
	if cur.AccessToken != sent {
		return true, nil // another request already replaced it
	}
	if !src.Invalidate(cur) {
		return false, nil
	}
	if _, err := src.TokenContext(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// withRefreshError returns resp with err reachable through RefreshError.
func withRefreshError(resp *http.Response, err error) *http.Response {
	resp.Request = resp.Request.WithContext(context.WithValue(resp.Request.Context(), refreshErrorKey{}, err))
	return resp
}
