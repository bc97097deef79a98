package webapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/httpx"
	"github.com/pkjwt/pkjwt/internal/nhserr"
	"github.com/pkjwt/pkjwt/internal/reqlog"
)

// callView is what the System to System Call page shows. It has no field
// for the access token, the assertion or any request header.
type callView struct {
	Title   string
	CallURL string
	// CallURLHTML is CallURL escaped, with line-break opportunities after
	// its slashes, so that a narrow page never breaks it inside the host.
	CallURLHTML template.HTML
	TokenURL    string
	Token       *tokenView
	// TokenFresh says the token was fetched for this call; false: it came
	// from the cache.
	TokenFresh bool
	// Assertion is the decoded header and claims of the assertion that got
	// the token, or that the token endpoint refused (never the signature).
	Assertion    *assertionView
	TokenErr     *tokenErrView
	Err          string
	TokenLatency time.Duration
	APILatency   time.Duration
	Called       bool
	Status       int
	StatusText   string
	RequestID    string
	ContentType  string
	Patient      *patientView
	Issues       []issueView
	Raw          string
	Truncated    bool
}

// tokenView is the token's metadata: everything but the token.
type tokenView struct {
	TokenType  string
	Scope      string
	IssuedAt   time.Time
	ReceivedAt time.Time
	Expiry     time.Time
	ExpiresIn  time.Duration
	Lifetime   time.Duration
	KeyID      string
}

// tokenErrView is a token endpoint error (RFC 6749 §5.2 plus NHS's
// message_id).
type tokenErrView struct {
	StatusCode  int
	Code        string
	Description string
	URI         string
	MessageID   string
	Body        string
	// Hint is advice for a known NHS England error (internal/nhserr).
	Hint string
}

// tokenErrViewOf shows te, with the advice for it if there is any.
func (a *App) tokenErrViewOf(te *pkjwt.TokenError) *tokenErrView {
	return &tokenErrView{StatusCode: te.StatusCode, Code: te.Code, Description: te.Description,
		URI: te.URI, MessageID: te.MessageID, Body: te.Body,
		Hint: nhserr.Hint(te.Code, te.Description, a.ts.Config().Audience)}
}

// patientView is a readable summary of a FHIR Patient.
type patientView struct {
	Name       string
	NHSNumber  string
	BirthDate  string
	Gender     string
	GPODSCode  string
	Address    string
	Deceased   string
	Restricted bool
}

// assertionView is an assertion's header and claims as rows, in the order
// NHS England's errors name them.
type assertionView struct {
	Header []memberView
	Claims []memberView
}

// memberView is one header member or claim.
type memberView struct {
	Name, Value string
}

// assertionViewOf shows s: the well-known members first, then any other
// in name order; iat, exp and nbf also as UTC times.
func assertionViewOf(s *pkjwt.AssertionSummary) *assertionView {
	if s == nil {
		return nil
	}
	return &assertionView{
		Header: members(s.Header, []string{"alg", "kid", "typ"}),
		Claims: members(s.Claims, []string{"iss", "sub", "aud", "jti", "iat", "exp", "nbf"}),
	}
}

func members(m map[string]any, first []string) []memberView {
	var out []memberView
	done := map[string]bool{}
	show := func(name string) {
		v, ok := m[name]
		if !ok || done[name] {
			return
		}
		done[name] = true
		text := fmt.Sprint(v)
		if b, err := json.Marshal(v); err == nil {
			if _, isString := v.(string); !isString {
				text = string(b)
			}
		}
		if f, ok := v.(float64); ok && (name == "iat" || name == "exp" || name == "nbf") {
			text = fmt.Sprintf("%.0f (%s)", f, time.Unix(int64(f), 0).UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		out = append(out, memberView{Name: name, Value: text})
	}
	for _, n := range first {
		show(n)
	}
	rest := make([]string, 0, len(m))
	for n := range m {
		rest = append(rest, n)
	}
	sort.Strings(rest)
	for _, n := range rest {
		show(n)
	}
	return out
}

// breakableURL escapes u for HTML and lets it break after each '/', '?'
// and '&' rather than anywhere.
func breakableURL(u string) template.HTML {
	var b strings.Builder
	for _, r := range u {
		b.WriteString(template.HTMLEscapeString(string(r)))
		if r == '/' || r == '?' || r == '&' {
			b.WriteString("<wbr>")
		}
	}
	return template.HTML(b.String())
}

// issueView is one OperationOutcome issue.
type issueView struct {
	Severity    string
	Code        string
	DetailCode  string
	Display     string
	Diagnostics string
}

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

// redact removes every secret from s.
func redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" && strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, "[access token removed]")
		}
	}
	return s
}

func redactPatient(p *patientView, secrets ...string) {
	for _, f := range []*string{&p.Name, &p.NHSNumber, &p.BirthDate, &p.Gender, &p.GPODSCode, &p.Address, &p.Deceased} {
		*f = redact(*f, secrets...)
	}
}

func redactIssue(is *issueView, secrets ...string) {
	for _, f := range []*string{&is.Severity, &is.Code, &is.DetailCode, &is.Display, &is.Diagnostics} {
		*f = redact(*f, secrets...)
	}
}

// pretty indents a JSON body, or returns the body as text if it is not JSON.
func pretty(body []byte) string {
	var b bytes.Buffer
	if json.Valid(body) && json.Indent(&b, body, "", "  ") == nil {
		return b.String()
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}

// fhirResource is the subset of FHIR Patient and OperationOutcome the page
// summarizes.
type fhirResource struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Security []struct {
			Code string `json:"code"`
		} `json:"security"`
	} `json:"meta"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
	Name []struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Prefix []string `json:"prefix"`
		Suffix []string `json:"suffix"`
	} `json:"name"`
	Gender              string `json:"gender"`
	BirthDate           string `json:"birthDate"`
	DeceasedDateTime    string `json:"deceasedDateTime"`
	GeneralPractitioner []struct {
		Identifier struct {
			Value string `json:"value"`
		} `json:"identifier"`
	} `json:"generalPractitioner"`
	Address []struct {
		Use        string   `json:"use"`
		Text       string   `json:"text"`
		Line       []string `json:"line"`
		PostalCode string   `json:"postalCode"`
	} `json:"address"`
	Issue []struct {
		Severity string `json:"severity"`
		Code     string `json:"code"`
		Details  struct {
			Coding []struct {
				Code    string `json:"code"`
				Display string `json:"display"`
			} `json:"coding"`
		} `json:"details"`
		Diagnostics string `json:"diagnostics"`
	} `json:"issue"`
}

// nhsNumberSystem is the FHIR identifier system of NHS numbers.
const nhsNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"

// summarize reads a FHIR Patient or OperationOutcome; anything else gives
// neither.
func summarize(body []byte) (*patientView, []issueView) {
	var res fhirResource
	if json.Unmarshal(body, &res) != nil {
		return nil, nil
	}
	switch res.ResourceType {
	case "Patient":
		p := &patientView{NHSNumber: res.ID, Gender: res.Gender, BirthDate: res.BirthDate, Deceased: res.DeceasedDateTime}
		for _, id := range res.Identifier {
			if id.System == nhsNumberSystem && id.Value != "" {
				p.NHSNumber = id.Value
				break
			}
		}
		for _, s := range res.Meta.Security {
			if s.Code == "R" {
				p.Restricted = true
			}
		}
		if len(res.Name) > 0 {
			n := res.Name[0]
			for _, c := range res.Name {
				if c.Use == "usual" {
					n = c
					break
				}
			}
			if n.Text != "" {
				p.Name = n.Text
			} else {
				parts := append(append(append([]string{}, n.Prefix...), n.Given...), n.Family)
				parts = append(parts, n.Suffix...)
				p.Name = strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
			}
		}
		if len(res.GeneralPractitioner) > 0 {
			p.GPODSCode = res.GeneralPractitioner[0].Identifier.Value
		}
		if len(res.Address) > 0 {
			ad := res.Address[0]
			for _, c := range res.Address {
				if c.Use == "home" {
					ad = c
					break
				}
			}
			if ad.Text != "" {
				p.Address = ad.Text
			} else {
				lines := append(append([]string{}, ad.Line...), ad.PostalCode)
				var kept []string
				for _, l := range lines {
					if strings.TrimSpace(l) != "" {
						kept = append(kept, l)
					}
				}
				p.Address = strings.Join(kept, ", ")
			}
		}
		return p, nil
	case "OperationOutcome":
		var out []issueView
		for _, is := range res.Issue {
			iv := issueView{Severity: is.Severity, Code: is.Code, Diagnostics: is.Diagnostics}
			if len(is.Details.Coding) > 0 {
				iv.DetailCode = is.Details.Coding[0].Code
				iv.Display = is.Details.Coding[0].Display
			}
			out = append(out, iv)
		}
		return nil, out
	}
	return nil, nil
}
