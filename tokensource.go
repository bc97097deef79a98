package pkjwt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/pkjwt/pkjwt/internal/coarse"
)

// TokenSource gets access tokens with the client credentials grant,
// authenticating with a private key JWT. It implements [oauth2.TokenSource]
// and is safe for concurrent use. Its tokens carry the server's response
// members (tok.Extra("scope"), tok.Extra("issued_at")) and what [Info]
// returns.
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
// Freshness follows the wall clock ([Config.Now]), read through a coarse
// clock that a timer refreshes every 250 ms while the source is in use: a
// cached read costs no clock read, and after a host or VM resumes from a
// pause no caller gets a token past its refresh time for more than about
// 250 ms. [TokenSource.SyncClock] makes it re-read the clock at once.
//
// Every attempt signs a new assertion with a new jti, because NHS England
// burns a jti before it checks anything else: re-sending an assertion fails.
type TokenSource struct {
	cfg   resolved
	clock *coarse.Clock // cfg.Now, read cheaply; decides freshness
	cur   atomic.Pointer[cacheEntry]
	group singleflight.Group
	// failed remembers the last failed fetch while no token is usable, so
	// that callers get its error for a moment instead of each sending a
	// new request.
	failed         atomic.Pointer[failure]
	lastInvalidate atomic.Int64 // unix nanoseconds of the last Invalidate
	obs            observerSet  // Config.Observer and those added by Observe
}

type failure struct {
	err   error
	until time.Time
}

// failureBackoff is how long a failed fetch's error is returned to new
// callers before the next fetch (plus up to half as much jitter).
const failureBackoff = 2 * time.Second

type cacheEntry struct {
	tok *oauth2.Token
	// refreshNs is the refresh time in Unix nanoseconds: the entry is
	// served without looking further while the coarse clock reads
	// before it. An entry that must go through TokenContext's slow path
	// on every call (a failed refresh waiting for retryAt) has dueAlways.
	refreshNs int64
	validTill time.Time // usable (expiry minus skew) before this
	retryAt   time.Time // after a failed refresh, do not try again before this
}

// dueAlways is the refreshNs of an entry that is always due.
const dueAlways = math.MinInt64

// fresh reports whether e may be served without looking further: the
// coarse clock (the wall clock, at most a tick old) is before its refresh
// time. It is two atomic loads and reads no clock.
func (e *cacheEntry) fresh(c *coarse.Clock) bool {
	return c.UnixNano() < e.refreshNs
}

// expirySkew is how long before its expiry a token stops being handed out.
const expirySkew = 10 * time.Second

// NewTokenSource validates cfg and returns a [TokenSource]. It makes no
// network call, but asks cfg.Keys for its signing key once, so that a key
// the profile refuses fails here.
func NewTokenSource(cfg Config) (*TokenSource, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	ts := &TokenSource{cfg: r, clock: coarse.New(r.Now)}
	ts.Observe(cfg.Observer)
	return ts, nil
}

// Config returns the configuration ts works with: the [Config] it was
// made with, with the defaults [NewTokenSource] filled in (Profile,
// TokenURL, Audience, Lifetime, MaxAttempts, HTTPClient, Now). Its Keys is
// the source's key source, whose SigningKey gives the key the next
// assertion will be signed with. Changing the copy changes nothing in ts.
func (ts *TokenSource) Config() Config {
	c := ts.cfg.Config
	c.TokenURL, c.Audience = ts.cfg.tokenURL, ts.cfg.audience
	c.Lifetime, c.MaxAttempts = ts.cfg.lifetime, ts.cfg.attempts
	c.Scopes = slices.Clone(c.Scopes)
	return c
}

// SyncClock makes the cache re-read the wall clock ([Config.Now]) now
// rather than at its next tick, at most 250 ms away. A program that learns
// of a resume from suspend, or a test that moves an injected clock
// forward, may call it; nothing else needs to.
func (ts *TokenSource) SyncClock() { ts.clock.Tick() }

// Token returns a valid token; it implements [oauth2.TokenSource].
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	return ts.TokenContext(context.Background())
}

// TokenContext returns a valid token, fetching one if the cache holds none
// that is fresh. ctx bounds the caller's wait; a fetch already under way
// for other callers is not cancelled when one caller gives up.
func (ts *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	e := ts.cur.Load()
	if e != nil && e.fresh(ts.clock) {
		if os := ts.obs.load(); os != nil {
			os.CacheHit()
		}
		return e.tok, nil
	}
	now := ts.cfg.Now()
	if e != nil && now.Before(e.validTill) {
		// Early refresh: the cached token is still good, so hand it out
		// at once and let one background flight replace it.
		if !now.Before(e.retryAt) {
			ts.startRefresh(ctx)
		}
		if os := ts.obs.load(); os != nil {
			os.CacheHit()
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
// next call fetches a new one; use it when an API rejects a token early
// (the client of [NewClient] does, after a 401). It drops at most one token
// per 30 seconds, and reports whether it dropped tok.
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
	if old != nil && old.fresh(ts.clock) {
		return old.tok, nil // another flight just refreshed it
	}
	if os := ts.obs.load(); os != nil && old != nil && ts.cfg.Now().Before(old.validTill) {
		os.BackgroundRefresh()
	}
	tok, info, err := ts.fetch(ctx)
	now := ts.cfg.Now()
	if err != nil {
		if old != nil && now.Before(old.validTill) {
			// A copy that is always due, so that every call comes back to
			// TokenContext's slow path, which respects retryAt.
			retry := &cacheEntry{tok: old.tok, refreshNs: dueAlways, validTill: old.validTill,
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
	ts.cur.Store(&cacheEntry{
		tok:       tok,
		refreshNs: info.Expiry.Add(-before).UnixNano(),
		validTill: info.Expiry.Add(-skew),
	})
	return tok, nil
}
