package webapp

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/httpx"
	"github.com/pkjwt/pkjwt/internal/reqlog"
)

func (a *App) serveCall(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// A page on another site must not make a visitor's browser spend the
	// app's tokens and API quota: browsers say where a request comes from.
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		a.serveError(w, r, http.StatusForbidden, "The System to System Call cannot be started from another site.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.callTimeout)
	defer cancel()
	v := a.call(ctx)
	status := http.StatusOK
	if v.TokenErr != nil || v.Err != "" || (v.Called && v.Status/100 != 2) {
		status = http.StatusBadGateway
	}
	a.render(w, r, status, "call", v)
}

// call gets a token, calls the API and builds the page. Everything shown
// that came from outside passes through redact with the token, as a second
// line of defence: an API that echoed the token must not put it on a page.
func (a *App) call(ctx context.Context) callView {
	v := callView{Title: "System to System Call", CallURL: a.callURL, CallURLHTML: breakableURL(a.callURL), TokenURL: a.ts.Config().TokenURL}
	t0 := time.Now()
	tok, err := a.ts.TokenContext(ctx)
	v.TokenLatency = time.Since(t0)
	if err != nil {
		var te *pkjwt.TokenError
		if errors.As(err, &te) {
			v.TokenErr = a.tokenErrViewOf(te)
			v.Assertion = assertionViewOf(te.Assertion)
			a.log.Warn("token request failed", "status", te.StatusCode, "error", te.Code,
				"error_description", te.Description, "message_id", te.MessageID)
		} else {
			v.Err = err.Error()
			a.log.Warn("token request failed", "error", err.Error())
		}
		return v
	}
	secret := tok.AccessToken
	if info := pkjwt.Info(tok); info != nil {
		v.Token = &tokenView{TokenType: info.TokenType, Scope: info.Scope, IssuedAt: info.IssuedAt,
			ReceivedAt: info.ReceivedAt, Expiry: info.Expiry, ExpiresIn: info.Expiry.Sub(a.now()),
			Lifetime: time.Duration(info.ExpiresIn) * time.Second, KeyID: info.KeyID}
		v.TokenFresh = !info.ReceivedAt.Before(t0)
		v.Assertion = assertionViewOf(info.Assertion)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.callURL, nil)
	if err != nil {
		v.Err = redact(err.Error(), secret)
		return v
	}
	req.Header.Set("Accept", "application/fhir+json, application/json;q=0.9")
	t1 := time.Now()
	resp, err := a.client.Do(req)
	// The token fetched above may not be the one the API saw: after a 401
	// the retry layer invalidates it, fetches a new one and retries, and a
	// 503/429 retry takes whatever the cache then holds. Redact every token
	// that may have been sent: the first, the one the request that got the
	// response carried (the responses to earlier attempts are discarded),
	// and the one cached now.
	secrets := []string{secret}
	if resp != nil && resp.Request != nil {
		secrets = append(secrets, httpx.Bearer(resp.Request))
	}
	// When the refresh after a 401 failed, the 401 comes back with the
	// fetch's error: no new token exists, so do not fetch again.
	refreshErr := pkjwt.RefreshError(resp)
	var fetchErr *pkjwt.TokenError
	if refreshErr == nil && !errors.As(err, &fetchErr) {
		if cur, cerr := a.ts.TokenContext(ctx); cerr == nil && cur != nil {
			secrets = append(secrets, cur.AccessToken)
		}
	}
	var te *pkjwt.TokenError
	if errors.As(refreshErr, &te) {
		v.TokenErr = a.tokenErrViewOf(te)
		v.Assertion = assertionViewOf(te.Assertion)
	}
	if err != nil {
		v.APILatency = time.Since(t1)
		if errors.As(err, &te) { // no token could be had for the call
			v.TokenErr = a.tokenErrViewOf(te)
			v.Assertion = assertionViewOf(te.Assertion)
		} else {
			v.Err = redact(err.Error(), secrets...)
		}
		a.log.Warn("API request failed", "url", a.callURL, "error", redact(err.Error(), secrets...))
		return v
	}
	defer httpx.DrainClose(resp.Body)
	body, rerr := httpx.ReadBounded(resp.Body, maxAPIBody)
	v.APILatency = time.Since(t1)
	v.Called = true
	v.Status = resp.StatusCode
	v.StatusText = http.StatusText(resp.StatusCode)
	v.RequestID = redact(resp.Header.Get(reqlog.RequestIDHeader), secrets...)
	v.ContentType = redact(resp.Header.Get("Content-Type"), secrets...)
	if rerr != nil {
		v.Truncated = true
	}
	v.Patient, v.Issues = summarize(body)
	if v.Patient != nil {
		redactPatient(v.Patient, secrets...)
	}
	for i := range v.Issues {
		redactIssue(&v.Issues[i], secrets...)
	}
	v.Raw = redact(pretty(body), secrets...)
	sentID := ""
	if resp.Request != nil {
		sentID = resp.Request.Header.Get(reqlog.RequestIDHeader)
	}
	a.log.Info("system-to-system call", "url", a.callURL, "api_status", resp.StatusCode,
		"token_ms", v.TokenLatency.Milliseconds(), "api_ms", v.APILatency.Milliseconds(), "kid", kidOf(v.Token),
		"token_cached", !v.TokenFresh, "x_request_id", sentID, "x_correlation_id", resp.Header.Get("X-Correlation-ID"))
	return v
}

func kidOf(t *tokenView) string {
	if t == nil {
		return ""
	}
	return t.KeyID
}
