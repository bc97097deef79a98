package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/textsafe"
)

// tokenOutput is what "pkjwt token" prints.
type tokenOutput struct {
	TokenType   string    `json:"token_type"`
	ExpiresIn   int64     `json:"expires_in"`
	ExpiresAt   time.Time `json:"expires_at"`
	IssuedAt    time.Time `json:"issued_at"`
	Scope       string    `json:"scope"`
	KeyID       string    `json:"kid"`
	TokenURL    string    `json:"token_url"`
	AccessToken string    `json:"access_token,omitempty"`
}

func cmdToken() *command {
	return &command{
		name:    "token",
		args:    "[flags]",
		summary: "get an access token and print its metadata as JSON",
		detail: `Signs a client assertion with the newest active key in DIR, posts it to the
token endpoint with the client credentials grant, and prints token_type,
expires_in, expires_at, issued_at, scope and the kid that signed. The access
token itself is printed only with --show-token. On an error response it prints
the server's error, error_description and message_id and exits 1.`,
		examples: `# NHS INT, with the app's API key as client id and the key in ./.pkjwt/keys
pkjwt token --profile nhs-int --client-id "$API_KEY"

# The emulator ('pkjwt emulator --app-key my-app --app-jwks-url URL')
pkjwt token --profile local --client-id my-app

# With the .NET sample's PFX instead of a key directory
pkjwt token --profile nhs-int --client-id "$API_KEY" --keys pfx:client.pfx --password-file pfx.pass`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			cf := addClientFlags(fs)
			show := fs.Bool("show-token", false, "also print the access token (a secret: keep it out of logs; command line only, never from env or config)")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			ts, err := cf.tokenSource(ctx, e)
			if err != nil {
				return err
			}
			tok, err := ts.TokenContext(ctx)
			if err != nil {
				return explainTokenError(err, ts)
			}
			info := pkjwt.Info(tok)
			out := tokenOutput{TokenType: info.TokenType, ExpiresIn: info.ExpiresIn, ExpiresAt: info.Expiry.UTC(),
				IssuedAt: info.IssuedAt.UTC(), Scope: info.Scope, KeyID: info.KeyID, TokenURL: ts.Config().TokenURL}
			if *show {
				out.AccessToken = tok.AccessToken
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
}

// explainTokenError turns a token error into the text the CLI prints: the
// server's error members, a hint for NHS England's errors (the table
// 'pkjwt check' uses), and a pointer to 'pkjwt check'.
func explainTokenError(err error, ts *pkjwt.TokenSource) error {
	var te *pkjwt.TokenError
	if !errors.As(err, &te) {
		if h := connectionHint(err, ts); h != "" {
			return withHint(err, h)
		}
		return withHint(err, "run 'pkjwt check' with the same flags to diagnose the keys, the clock and the token endpoint")
	}
	msg := fmt.Sprintf("token endpoint answered HTTP %d", te.StatusCode)
	// The server's text is escaped (textsafe): it must not clear the
	// screen, add a line or set the clipboard.
	if te.Code != "" {
		msg += fmt.Sprintf("\n  error: %s", textsafe.Escape(te.Code))
	}
	if te.Description != "" {
		msg += fmt.Sprintf("\n  error_description: %s", textsafe.Escape(te.Description))
	}
	if te.MessageID != "" {
		msg += fmt.Sprintf("\n  message_id: %s", textsafe.Escape(te.MessageID))
	}
	h := hint(te, ts)
	if te.Code == "" && te.Body != "" {
		msg += "\n  body: " + bodySummary(te.Body)
		if looksLikeHTML(te.Body) {
			h = fmt.Sprintf("%s answered a web page, not an OAuth token endpoint: check --token-url (NHS England: https://<environment host>/oauth2/token)", ts.Config().TokenURL)
		}
	}
	if h == "" {
		h = "run 'pkjwt check' with the same flags to diagnose the keys, the published JWKS, the clock and the request"
	} else {
		h += "\n(run 'pkjwt check' with the same flags for a full diagnosis)"
	}
	return withHint(errors.New(msg), h)
}

// looksLikeHTML reports whether body is an HTML page.
func looksLikeHTML(body string) bool {
	l := strings.ToLower(body)
	return strings.Contains(l, "<html") || strings.Contains(l, "<!doctype html") || strings.Contains(l, "<body")
}

// bodySummary is a one-line excerpt of a response body: its <title> for a
// web page, else the text with white space folded, at most 160 characters,
// with control characters escaped.
func bodySummary(body string) string {
	if i := strings.Index(strings.ToLower(body), "<title>"); i >= 0 {
		rest := body[i+len("<title>"):]
		if j := strings.Index(strings.ToLower(rest), "</title>"); j >= 0 {
			return "a web page titled " + strconv.Quote(strings.Join(strings.Fields(rest[:j]), " "))
		}
	}
	s := strings.Join(strings.Fields(body), " ")
	if len(s) > 160 {
		s = strings.ToValidUTF8(s[:160], "") + "…"
	}
	return textsafe.Escape(s)
}
