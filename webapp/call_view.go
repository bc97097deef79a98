// The view model of the System to System Call page: what it shows of the
// token, the assertion and the API response.

package webapp

import (
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/nhserr"
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
