package pkjwt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/pkjwt/pkjwt/keys"

	"github.com/pkjwt/pkjwt/internal/httpx"
)

// fetch makes up to MaxAttempts token requests, each with a new assertion.
func (ts *TokenSource) fetch(ctx context.Context) (*oauth2.Token, *TokenInfo, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var tok *oauth2.Token
		var info *TokenInfo
		var wait time.Duration
		start := time.Now()
		tok, info, wait, err = ts.attempt(ctx)
		ts.observeAttempt(start, info, err)
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
		return te.retryable()
	}
	if errors.Is(err, ErrConfig) || errors.Is(err, ErrTokenResponse) {
		return false
	}
	var ke *keyError
	return !errors.As(err, &ke) // transport errors (timeouts too) are retryable; key errors are not
}

// keyError marks a failure before anything was sent (the key, the
// assertion hook, signing): retrying cannot help.
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
	a := Assertion{
		ClientID: ts.cfg.ClientID,
		Audience: ts.cfg.audience,
		IssuedAt: ts.cfg.Now(),
		Lifetime: ts.cfg.lifetime,
	}
	if err := ts.cfg.extras(key, &a); err != nil {
		return nil, nil, 0, &keyError{err}
	}
	assertion, err := a.Sign(ctx, key)
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
		err := parseTokenError(resp, body, assertion)
		var te *TokenError
		if errors.As(err, &te) {
			te.Assertion = summarizeAssertion(assertion)
		}
		return nil, nil, httpx.RetryAfter(resp.Header, received), err
	}
	tok, info, err := parseToken(body, received)
	if err != nil {
		return nil, nil, 0, err
	}
	info.KeyID = key.ID
	info.Assertion = summarizeAssertion(assertion)
	return tok, info, 0, nil
}

// extras fills a's extra header members and claims: x5t#S256 when
// CertificateThumbprint is set and the key has a certificate, then what
// ModifyAssertion adds. Sign refuses reserved names.
func (r *resolved) extras(key *keys.Key, a *Assertion) error {
	if r.CertificateThumbprint && key.Certificate != nil {
		x5t, err := keys.KIDFrom(keys.KIDX5tS256, key.Public(), key.Certificate)
		if err != nil {
			return fmt.Errorf("pkjwt: x5t#S256 of key %s: %w", key.ID, err)
		}
		a.Header = map[string]any{keys.KIDX5tS256: x5t}
	}
	if r.ModifyAssertion == nil {
		return nil
	}
	x := &AssertionExtras{Header: map[string]any{}, Claims: map[string]any{}}
	if err := r.ModifyAssertion(key, x); err != nil {
		return fmt.Errorf("pkjwt: ModifyAssertion: %w", err)
	}
	for k, v := range x.Header {
		if _, dup := a.Header[k]; dup {
			return fmt.Errorf("pkjwt: ModifyAssertion set header member %q, which CertificateThumbprint sets: %w", k, ErrConfig)
		}
		if a.Header == nil {
			a.Header = map[string]any{}
		}
		a.Header[k] = v
	}
	a.Claims = x.Claims
	return nil
}
