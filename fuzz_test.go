package pkjwt

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzParseToken feeds arbitrary token endpoint bodies to the response
// parser: it must never panic, and whatever it accepts must be usable.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"a","expires_in":"599","token_type":"Bearer","issued_at":"1764300000000"}`,
		`{"access_token":"a","expires_in":3600,"token_type":"bearer","scope":"x y"}`,
		`{"access_token":"a","expires_in":1e300,"token_type":"Bearer"}`,
		`{"access_token":"a","expires_in":"-5","token_type":"Bearer"}`,
		`{"access_token":"","token_type":"Bearer"}`,
		`[]`, `null`, `{"expires_in":{}}`,
	} {
		f.Add([]byte(s))
	}
	received := time.Unix(1764300000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, info, err := parseToken(body, received)
		if err != nil {
			return
		}
		if tok.AccessToken == "" || tok.TokenType != "Bearer" {
			t.Fatalf("accepted a token without access_token or Bearer type: %+v", tok)
		}
		if !info.Expiry.After(received) || info.Expiry.Sub(received) > maxExpiresIn {
			t.Fatalf("expiry %v out of range", info.Expiry)
		}
		if Info(tok) != info {
			t.Fatal("Info lost")
		}
	})
}

// FuzzParseTokenError: error bodies never panic the parser, and an echoed
// assertion never survives into the error text.
func FuzzParseTokenError(f *testing.F) {
	f.Add([]byte(`{"error":"invalid_request","error_description":"x","message_id":"m"}`), "application/json", "eyJ.a.b")
	f.Add([]byte(`<html>eyJ.a.b</html>`), "text/html", "eyJ.a.b")
	f.Fuzz(func(t *testing.T, body []byte, ctype, assertion string) {
		if len(assertion) < 8 || strings.Trim(assertion, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			return // a compact JWS is base64url and dots
		}
		resp := &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {ctype}}}
		err := parseTokenError(resp, body, assertion)
		te, ok := err.(*TokenError)
		if !ok {
			t.Fatalf("%T", err)
		}
		for _, field := range []string{te.Code, te.Description, te.URI, te.MessageID, te.Body} {
			if strings.Contains(field, assertion) {
				t.Fatalf("assertion echoed in %q", field)
			}
		}
	})
}
