package pkjwt

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// Observer receives what a [TokenSource] does, for metrics or tracing
// without a dependency: pkjwt imports no metrics library. Set it in
// [Config.Observer], or add one to a running source with
// [TokenSource.Observe] (the web app's Prometheus metrics do that).
//
// Its methods are called synchronously, CacheHit on the path that serves a
// cached token: they must be quick (an atomic add) and must not call back
// into the token source. They never receive a token or an assertion.
//
// HTTP-level tracing fits beside it: wrap the transport of
// [Config.HTTPClient] with an instrumenting RoundTripper (OpenTelemetry's
// otelhttp.NewTransport, say) and token requests are traced; [NewClient]
// sends API requests through that same transport (below its token and
// retry layers), so each API attempt is traced too, or wrap the client
// NewClient returns to trace each call once, retries included:
//
//	hc := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)}
//	ts, _ := pkjwt.NewTokenSource(pkjwt.Config{ /* ... */ HTTPClient: hc})
//	client := pkjwt.NewClient(ts)
//	client.Transport = otelhttp.NewTransport(client.Transport)
//
// An instrumenting transport must not record request bodies or the
// Authorization header: token request bodies hold the assertion.
type Observer interface {
	// TokenRequest is called after every attempt of a token fetch: one
	// per assertion signed (a failure before sending counts too, with
	// outcome OutcomeNotSent).
	TokenRequest(TokenRequestEvent)
	// CacheHit is called when a caller gets the cached token without
	// waiting for a request (including during an early refresh).
	CacheHit()
	// BackgroundRefresh is called when a fetch starts while the cached
	// token is still valid (the early refresh of TokenSource's doc).
	BackgroundRefresh()
}

// TokenOutcome classifies a token request attempt; its values are short,
// fixed strings fit for a metric label.
type TokenOutcome string

// The outcomes of a token request attempt.
const (
	// OutcomeOK: a token was issued.
	OutcomeOK TokenOutcome = "ok"
	// OutcomeRejected: the server answered a 4xx other than 429 (a
	// TokenError: a bad assertion, an unknown client, an unknown kid...).
	OutcomeRejected TokenOutcome = "rejected"
	// OutcomeRateLimited: the server answered 429.
	OutcomeRateLimited TokenOutcome = "rate_limited"
	// OutcomeServerError: the server answered a 5xx, or another status
	// that is neither success nor a client error (a redirect).
	OutcomeServerError TokenOutcome = "server_error"
	// OutcomeNetworkError: no answer (connection refused or dropped, a
	// timeout, a cancelled context).
	OutcomeNetworkError TokenOutcome = "network_error"
	// OutcomeInvalidResponse: a 2xx whose body is not a usable token
	// response (ErrTokenResponse).
	OutcomeInvalidResponse TokenOutcome = "invalid_response"
	// OutcomeNotSent: nothing was sent: no signing key, a signing failure
	// (a remote key service's error), or an assertion hook's error.
	OutcomeNotSent TokenOutcome = "not_sent"
)

// TokenOutcomes lists every [TokenOutcome], so that a metric can start each
// of its series at zero.
func TokenOutcomes() []TokenOutcome {
	return []TokenOutcome{OutcomeOK, OutcomeRejected, OutcomeRateLimited, OutcomeServerError,
		OutcomeNetworkError, OutcomeInvalidResponse, OutcomeNotSent}
}

// TokenRequestEvent describes one token request attempt, as
// [Observer.TokenRequest] receives it. It holds no secret.
type TokenRequestEvent struct {
	// Outcome classifies the attempt.
	Outcome TokenOutcome
	// StatusCode is the HTTP status, 0 when there was no answer.
	StatusCode int
	// ErrorCode is the RFC 6749 error member of an error answer ("" when
	// none). It comes from the server: do not use it as a metric label
	// without bounding its values.
	ErrorCode string
	// Duration is the attempt's wall-clock time: signing the assertion,
	// the HTTP exchange and reading the answer.
	Duration time.Duration
	// KeyID is the kid of the key that signed the assertion (OutcomeOK
	// only).
	KeyID string
	// Expiry is the new token's expiry (OutcomeOK only).
	Expiry time.Time
	// Err is the attempt's error (nil for OutcomeOK), as the caller would
	// see it: its text never holds the assertion or a token.
	Err error
}

// observers is the set of observers of a TokenSource: Config.Observer and
// those added by Observe. It is replaced, never changed.
type observers []Observer

func (os observers) TokenRequest(ev TokenRequestEvent) {
	for _, o := range os {
		o.TokenRequest(ev)
	}
}

func (os observers) CacheHit() {
	for _, o := range os {
		o.CacheHit()
	}
}

func (os observers) BackgroundRefresh() {
	for _, o := range os {
		o.BackgroundRefresh()
	}
}

// observerSet holds a TokenSource's observers behind an atomic pointer, so
// that reading it on the hot path takes no lock.
type observerSet struct {
	p atomic.Pointer[observers]
}

// load returns the observers, or nil when there are none.
func (s *observerSet) load() observers {
	if p := s.p.Load(); p != nil {
		return *p
	}
	return nil
}

// add appends o, safely against concurrent adds.
func (s *observerSet) add(o Observer) {
	for {
		old := s.p.Load()
		var next observers
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, o)
		if s.p.CompareAndSwap(old, &next) {
			return
		}
	}
}

// Observe adds o to the source's observers (after [Config.Observer], if
// set): every later event goes to each of them. It is safe to call while
// the source is in use; a nil o is ignored.
func (ts *TokenSource) Observe(o Observer) {
	if o != nil {
		ts.obs.add(o)
	}
}

// CachedExpiry returns the expiry of the cached token and true, or the zero
// time and false when the cache holds none. It makes no request.
func (ts *TokenSource) CachedExpiry() (time.Time, bool) {
	e := ts.cur.Load()
	if e == nil {
		return time.Time{}, false
	}
	info := Info(e.tok)
	if info == nil {
		return e.tok.Expiry, !e.tok.Expiry.IsZero()
	}
	return info.Expiry, true
}

// observeAttempt reports one attempt of fetch to the observers.
func (ts *TokenSource) observeAttempt(start time.Time, info *TokenInfo, err error) {
	os := ts.obs.load()
	if os == nil {
		return
	}
	ev := TokenRequestEvent{Duration: time.Since(start), Err: err}
	if info != nil {
		ev.KeyID, ev.Expiry = info.KeyID, info.Expiry
	}
	var te *TokenError
	var ke *keyError
	switch {
	case err == nil:
		ev.Outcome, ev.StatusCode = OutcomeOK, http.StatusOK
	case errors.As(err, &te):
		ev.StatusCode, ev.ErrorCode = te.StatusCode, te.Code
		switch {
		case te.StatusCode == http.StatusTooManyRequests:
			ev.Outcome = OutcomeRateLimited
		case te.StatusCode/100 == 4:
			ev.Outcome = OutcomeRejected
		default:
			ev.Outcome = OutcomeServerError
		}
	case errors.As(err, &ke), errors.Is(err, ErrConfig):
		ev.Outcome = OutcomeNotSent
	case errors.Is(err, ErrTokenResponse):
		ev.Outcome = OutcomeInvalidResponse
	default:
		ev.Outcome = OutcomeNetworkError
	}
	os.TokenRequest(ev)
}
