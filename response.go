package pkjwt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// flexInt decodes a JSON number or a string holding one: NHS England sends
// expires_in and issued_at as strings.
type flexInt struct {
	v   int64
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		fv, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if ferr != nil || fv < -1e15 || fv > 1e15 {
			return fmt.Errorf("not an integer: %.40q", s)
		}
		v = int64(fv)
	}
	f.v, f.set = v, true
	return nil
}

type tokenResponse struct {
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresIn   flexInt `json:"expires_in"`
	IssuedAt    flexInt `json:"issued_at"`
	Scope       string  `json:"scope"`
}

// defaultExpiresIn is assumed when a response has no expires_in.
const defaultExpiresIn = 5 * time.Minute

// maxExpiresIn caps a server's expires_in, so that a bogus value cannot pin
// a token in the cache for years.
const maxExpiresIn = 24 * time.Hour

// parseToken reads a 2xx token response. The token keeps every member of
// the response as the server sent it (oauth2.Token.Extra, as x/oauth2's
// own token sources do), plus the TokenInfo under infoKey.
func parseToken(body []byte, received time.Time) (*oauth2.Token, *TokenInfo, error) {
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, nil, fmt.Errorf("pkjwt: token response: %w: %w", ErrTokenResponse, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, fmt.Errorf("pkjwt: token response: %w: %w", ErrTokenResponse, err)
	}
	if tr.AccessToken == "" {
		return nil, nil, fmt.Errorf("pkjwt: token response has no access_token: %w", ErrTokenResponse)
	}
	if tr.TokenType == "" || !strings.EqualFold(tr.TokenType, "bearer") {
		return nil, nil, fmt.Errorf("pkjwt: token_type %.40q, want Bearer: %w", tr.TokenType, ErrTokenResponse)
	}
	life := defaultExpiresIn
	if tr.ExpiresIn.set {
		if tr.ExpiresIn.v <= 0 {
			return nil, nil, fmt.Errorf("pkjwt: expires_in %d: %w", tr.ExpiresIn.v, ErrTokenResponse)
		}
		life = min(time.Duration(tr.ExpiresIn.v)*time.Second, maxExpiresIn)
	}
	info := &TokenInfo{
		TokenType:  "Bearer",
		Scope:      tr.Scope,
		ReceivedAt: received,
		IssuedAt:   received,
		Expiry:     received.Add(life),
		ExpiresIn:  int64(life / time.Second),
	}
	if tr.IssuedAt.set && tr.IssuedAt.v > 0 {
		// NHS's issued_at is epoch milliseconds; accept seconds too.
		ms := tr.IssuedAt.v
		if ms < 1e11 {
			ms *= 1000
		}
		info.IssuedAt = time.UnixMilli(ms)
	}
	tok := &oauth2.Token{
		AccessToken: tr.AccessToken,
		TokenType:   "Bearer",
		Expiry:      info.Expiry,
		ExpiresIn:   info.ExpiresIn,
	}
	raw[infoKey] = info
	tok = tok.WithExtra(raw)
	return tok, info, nil
}

// parseTokenError reads a non-2xx token response into a TokenError that
// also answers errors.As for *oauth2.RetrieveError, with the same redacted
// values.
func parseTokenError(resp *http.Response, body []byte, assertion string) error {
	te := &TokenError{StatusCode: resp.StatusCode}
	defer func() { te.retrieve = te.retrieveError(resp, body, assertion) }()
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
		MessageID   string `json:"message_id"`
	}
	if (ct == "application/json" || strings.HasSuffix(ct, "+json") || bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))) &&
		json.Unmarshal(body, &e) == nil && e.Error != "" {
		te.Code, te.Description = redact(e.Error, assertion), redact(e.Description, assertion)
		te.URI, te.MessageID = redact(e.URI, assertion), redact(e.MessageID, assertion)
		return te
	}
	te.Body = redact(strings.TrimSpace(string(body)), assertion)
	return te
}

// redact removes any echo of the assertion from a server-supplied string
// and bounds its length before it reaches an error message.
func redact(s, assertion string) string {
	if assertion != "" {
		s = strings.ReplaceAll(s, assertion, "[client_assertion]")
	}
	return clip(s)
}

// clip bounds a server-supplied string before it reaches an error message.
func clip(s string) string {
	const max = 512
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
