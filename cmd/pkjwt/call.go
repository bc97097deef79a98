package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/httpx"
	"github.com/pkjwt/pkjwt/internal/textsafe"
)

// maxCallBody bounds how much of an API response "pkjwt call" reads.
const maxCallBody = 8 << 20

func cmdCall() *command {
	return &command{
		name:    "call",
		args:    "[flags] URL",
		summary: "GET a URL with an access token and print the status and body",
		detail: `Gets a token as 'pkjwt token' does, then sends GET URL with Authorization:
Bearer and, under the NHS profiles, a fresh X-Request-ID. A relative URL such
as Patient/9000000009 resolves against the profile's API base (--api-url).
Prints the HTTP status line and the request's X-Request-ID (and the response's
X-Request-ID and X-Correlation-ID, which NHS England's support asks for) on
stderr and the body on stdout; with -i (--include) the status line and the
response headers go on stdout before the body, as with curl -i. Flags may come
before or after the URL. Exits 1 when the status is not 2xx.`,
		examples: `# The synthetic patient 9000000009 from PDS on NHS INT
pkjwt call --profile nhs-int --client-id "$API_KEY" Patient/9000000009

# The same with the status line and headers, as curl -i
pkjwt call -i --profile nhs-int --client-id "$API_KEY" Patient/9000000009`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			cf := addClientFlags(fs)
			var headers headerList
			fs.Var(&headers, "header", "extra request header 'Name: value' (repeatable)")
			var include bool
			fs.BoolVar(&include, "include", false, "print the status line and response headers on stdout before the body (like curl -i)")
			fs.BoolVar(&include, "i", false, "short for --include")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if fs.NArg() != 1 {
				return usagef("want exactly one URL")
			}
			if err := cf.applyConfigFrom(ctx); err != nil {
				return err
			}
			p, err := cf.resolveProfile()
			if err != nil {
				return err
			}
			target, err := resolveURL(p.APIBaseURL, fs.Arg(0))
			if err != nil {
				return usagef("%v", err)
			}
			ts, err := cf.tokenSource(ctx, e)
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			if err != nil {
				return usagef("%v", err)
			}
			for _, h := range headers {
				name, value, _ := strings.Cut(h, ":")
				req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
			}
			req.Header.Set("Accept", "application/fhir+json, application/json;q=0.9, */*;q=0.1")
			before, err := ts.TokenContext(ctx)
			if err != nil {
				return explainTokenError(err, ts)
			}
			resp, err := pkjwt.NewClient(ts).Do(req)
			if err != nil {
				return explainTokenError(err, ts)
			}
			defer httpx.DrainClose(resp.Body)
			fmt.Fprintf(e.stderr, "%s %s\n", resp.Proto, textsafe.Escape(resp.Status))
			for _, id := range requestIDs(resp) {
				fmt.Fprintln(e.stderr, id)
			}
			body, err := httpx.ReadBounded(resp.Body, maxCallBody)
			if err != nil {
				return err
			}
			// An API that echoes request headers must not put the token on
			// the terminal: remove the token used, and a newer one if a
			// 401 made the client fetch it.
			tokens := []string{before.AccessToken}
			if after, err := ts.TokenContext(ctx); err == nil {
				tokens = append(tokens, after.AccessToken)
			}
			for _, tok := range tokens {
				body = redactToken(body, tok)
			}
			if include {
				var head bytes.Buffer
				fmt.Fprintf(&head, "%s %s\r\n", resp.Proto, resp.Status)
				resp.Header.Write(&head)
				head.WriteString("\r\n")
				h := head.Bytes()
				for _, tok := range tokens {
					h = redactToken(h, tok)
				}
				e.stdout.Write(terminalText(e.stdout, h))
			}
			e.stdout.Write(terminalText(e.stdout, body))
			if len(body) > 0 && body[len(body)-1] != '\n' {
				io.WriteString(e.stdout, "\n")
			}
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("API answered %s", textsafe.Escape(resp.Status))
			}
			return nil
		},
	}
}

// terminalText returns b as it may be written to w: unchanged to a pipe or
// a file, so that the API's bytes arrive as they were sent, and with
// control characters escaped (textsafe.EscapeLines) to a terminal, where
// a hostile answer could otherwise clear the screen or set the clipboard.
func terminalText(w io.Writer, b []byte) []byte {
	f, ok := w.(*os.File)
	if !ok {
		return b
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return b
	}
	return []byte(textsafe.EscapeLines(string(b)))
}

// requestIDs lists the request ids of an exchange, for a support ticket:
// the X-Request-ID pkjwt sent, and the X-Request-ID and X-Correlation-ID
// the API answered with.
func requestIDs(resp *http.Response) []string {
	var ids []string
	if resp.Request != nil {
		if id := resp.Request.Header.Get("X-Request-ID"); id != "" {
			ids = append(ids, "X-Request-ID (sent): "+id)
		}
	}
	for _, name := range []string{"X-Request-ID", "X-Correlation-ID"} {
		if id := resp.Header.Get(name); id != "" {
			ids = append(ids, name+" (answered): "+textsafe.Escape(id))
		}
	}
	return ids
}

// redactToken replaces every occurrence of tok in body.
func redactToken(body []byte, tok string) []byte {
	if tok == "" {
		return body
	}
	return bytes.ReplaceAll(body, []byte(tok), []byte("[access token removed]"))
}

// resolveURL resolves a relative ref against base ("" base: ref must be absolute).
func resolveURL(base, ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("URL %q: %w", ref, err)
	}
	if u.IsAbs() {
		return u.String(), nil
	}
	if base == "" {
		return "", fmt.Errorf("URL %q is relative and the profile has no API base (give --api-url or a full URL)", ref)
	}
	b, err := url.Parse(strings.TrimRight(base, "/") + "/")
	if err != nil {
		return "", fmt.Errorf("API base %q: %w", base, err)
	}
	return b.ResolveReference(&url.URL{Path: strings.TrimPrefix(u.Path, "/"), RawQuery: u.RawQuery}).String(), nil
}

// headerList is a repeatable --header flag.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, ", ") }

func (h *headerList) Set(v string) error {
	name, _, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q must be 'Name: value'", v)
	}
	if strings.EqualFold(strings.TrimSpace(name), "Authorization") {
		return fmt.Errorf("the Authorization header is set by pkjwt")
	}
	*h = append(*h, v)
	return nil
}
