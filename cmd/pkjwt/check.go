package main

import (
	"context"
	"crypto"
	"crypto/rand"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/httpx"
	"github.com/pkjwt/pkjwt/internal/nhserr"
	"github.com/pkjwt/pkjwt/internal/textsafe"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// maxJWKSBody bounds a fetched JWKS.
const maxJWKSBody = 1 << 20

// nhsAssertionWindow is how far ahead of NHS's clock an exp may be.
const nhsAssertionWindow = 310 * time.Second

func cmdCheck() *command {
	return &command{
		name:    "check",
		args:    "[flags]",
		summary: "diagnose a configuration: keys, published JWKS, clock, token request",
		detail: `Checks, in this order, and prints one line per check (ok, warn or FAIL):
  keys     the keys load (--keys or --dir), which key signs (--kid pins one),
           its algorithm, size and age (warn past --max-age), pending keys and
           whether they are safe to activate (warn when --every says a
           rotation is due within the lead and no pending key is published),
           and whether the signing key took over less than the lead (65m)
           after its publication (warn, with the rollback command)
  config   the profile, token URL, client id and assertion audience
  jwks     with --jwks-url: the published JWKS is reachable, strict (no private
           members) and holds the signing key (same kid, same public key);
           warn when it publishes one public key under two kids, and say so
           when it holds the signing key under another kid (?kid-from=)
  clock    the token endpoint's Date header against this machine's clock, and
           whether an assertion signed now would be inside NHS's 310 s window
  token    a real token request (skip with --no-token); on an error, what
           NHS England's error text usually means and how to fix it
Exits 1 if any check failed.`,
		examples: `# Everything, the published JWKS included
pkjwt check --profile nhs-int --client-id "$API_KEY" --jwks-url https://app.example.org/.well-known/jwks.json

# Keys and configuration only, without a token request
pkjwt check --profile nhs-int --client-id "$API_KEY" --no-token`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			cf := addClientFlags(fs)
			jwksURL := fs.String("jwks-url", "", "the JWKS URL registered with the authorization server, to check")
			noToken := fs.Bool("no-token", false, "do not request a token")
			maxAge := fs.Duration("max-age", 365*24*time.Hour, "warn when the signing key is older than this (0: never)")
			every := fs.Duration("every", 0, "the rotation schedule ('keys rotate --every'): warn when no pending key is published a lead time before it is due")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			ck := &checker{w: e.stdout}
			ts, signer := ck.config(ctx, e, cf, maxAge, every)
			if ts == nil {
				return ck.result()
			}
			if *jwksURL != "" {
				ck.jwks(ctx, *jwksURL, signer, *cf.timeout)
			}
			ck.clock(ctx, ts, *cf.lifetime, *cf.timeout)
			if !*noToken {
				ck.token(ctx, ts)
			}
			return ck.result()
		},
	}
}

// noRedirects returns a client that reports a redirect instead of following
// it: a check must see what the URL itself answers.
func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// checker prints check results and counts failures.
type checker struct {
	w     io.Writer
	fails int
	// signer is the key that signs; otherKID, when set, is another kid
	// under which the published JWKS holds its public key.
	signer   *keys.Key
	otherKID string
}

// The checker's lines quote servers (a JWKS, a token error, a status
// line): each is passed through textsafe, which escapes control
// characters, so a server cannot clear the screen or fake a line.

// hint prints advice under the last result line.
func (c *checker) hint(h string) {
	fmt.Fprintf(c.w, "             hint: %s\n", textsafe.EscapeLines(h))
}

func (c *checker) ok(area, format string, a ...any) {
	fmt.Fprintf(c.w, "ok    %-6s %s\n", area, textsafe.EscapeLines(fmt.Sprintf(format, a...)))
}

func (c *checker) warn(area, format string, a ...any) {
	fmt.Fprintf(c.w, "warn  %-6s %s\n", area, textsafe.EscapeLines(fmt.Sprintf(format, a...)))
}

func (c *checker) fail(area, format string, a ...any) {
	c.fails++
	fmt.Fprintf(c.w, "FAIL  %-6s %s\n", area, textsafe.EscapeLines(fmt.Sprintf(format, a...)))
}

func (c *checker) result() error {
	if c.fails > 0 {
		return fmt.Errorf("%d check(s) failed", c.fails)
	}
	return nil
}

// config checks the flags and keys and returns the token source and the
// signing key, or nil after reporting why not.
func (c *checker) config(ctx context.Context, e *env, cf *clientFlags, maxAge, every *time.Duration) (*pkjwt.TokenSource, *keys.Key) {
	if err := cf.applyConfigFrom(ctx); err != nil {
		c.fail("config", "%v", err)
		return nil, nil
	}
	p, err := cf.resolveProfile()
	if err != nil {
		c.fail("config", "%v", err)
		return nil, nil
	}
	rs, err := cf.openKeys(ctx, e)
	if err != nil {
		c.fail("keys", "%v", err)
		return nil, nil
	}
	ring := rs.Ring()
	where := cf.keysWhere()
	if ring.Len() == 0 {
		c.fail("keys", "%v", noKeys(where))
		return nil, nil
	}
	var signer *keys.Key
	if *cf.kid != "" {
		if signer, err = ring.Lookup(*cf.kid); err != nil {
			c.fail("keys", "--kid %s: no such key in %s", *cf.kid, where)
			return nil, nil
		}
		if signer.State != keys.StateActive {
			c.warn("keys", "--kid %s is %s, not active: it signs only because --kid pins it", signer.ID, signer.State)
		}
	} else if signer, err = ring.SigningKey(); err != nil {
		c.fail("keys", "%d key(s) in %s but none active: %v", ring.Len(), where, err)
		return nil, nil
	}
	now := time.Now()
	if signer.Ref != "" {
		if err := testSign(ctx, signer); err != nil {
			c.fail("keys", "the signing key %s lives in %s and cannot sign: %v", signer.ID, signer.Ref, err)
			return nil, nil
		}
		c.ok("keys", "the signing key %s signed a test digest in %s", signer.ID, signer.Ref)
	}
	c.ok("keys", "%d key(s) in %s; %s signs (%s, %d bits, %s old)", ring.Len(), where, signer.ID, signer.Algorithm, signer.Bits(), age(now.Sub(signer.Created)))
	if *maxAge > 0 && now.Sub(signer.Created) > *maxAge {
		c.warn("keys", "the signing key %s is %s old, older than --max-age %s: rotate it ('pkjwt keys rotate')", signer.ID, age(now.Sub(signer.Created)), *maxAge)
	}
	var pending *keys.Key
	for _, k := range ring.Keys() {
		if k.State == keys.StatePending {
			if pending == nil {
				pending = k
			}
			at, published := keydir.SafeToActivate(k, keydir.DefaultLead)
			switch {
			case !published:
				c.warn("keys", "%s is pending but was never published: run 'pkjwt jwks publish' (or serve the JWKS) before it can be activated", k.ID)
			case now.Before(at):
				c.ok("keys", "%s is pending: published %s ago, safe to activate from %s", k.ID, age(now.Sub(k.Published)), at.UTC().Format(time.RFC3339))
			default:
				c.ok("keys", "%s is pending and safe to activate ('pkjwt keys rotate' or 'pkjwt keys activate --kid %s')", k.ID, k.ID)
			}
		}
	}
	c.signer = signer
	c.publication(ring, signer, now, keyDirOf(where))
	if *every > 0 && pending == nil {
		since := signer.StateChanged
		if since.IsZero() {
			since = signer.Created
		}
		if due := since.Add(*every); now.After(due.Add(-keydir.DefaultLead)) {
			c.warn("keys", "the next rotation is due at %s (--every %s) and no pending key is published: one must be published %s before; run 'pkjwt keys rotate' and 'pkjwt jwks publish'", due.UTC().Format(time.RFC3339), *every, keydir.DefaultLead)
		}
	}
	if p.KeyBits > 0 && signer.Bits() < p.KeyBits && strings.HasPrefix(signer.Algorithm, "RS") {
		c.warn("keys", "the %s profile documents %d-bit keys; %s has %d", p.Name, p.KeyBits, signer.ID, signer.Bits())
	}
	ts, err := cf.tokenSourceWith(rs)
	if err != nil {
		c.fail("config", "%v", err)
		return nil, nil
	}
	tc := ts.Config()
	c.ok("config", "profile %s, token URL %s, client id %s", p.Name, tc.TokenURL, tc.ClientID)
	if tc.Audience != tc.TokenURL {
		c.warn("config", "aud %q differs from the token URL; NHS England requires them equal", tc.Audience)
	}
	return ts, signer
}

// jwks fetches the published JWKS and checks it holds the signing key.
func (c *checker) jwks(ctx context.Context, raw string, signer *keys.Key, timeout time.Duration) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		c.fail("jwks", "%q is not an absolute http(s) URL", raw)
		return
	}
	if u.Path == "" || u.Path == "/" {
		c.fail("jwks", "%s has no path: NHS England refuses such a JWKS URL (\"can't be reached\")", raw)
		return
	}
	if u.Scheme != "https" {
		c.warn("jwks", "%s is not https: NHS England fetches JWKS over https with public CAs", raw)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		c.fail("jwks", "%v", err)
		return
	}
	resp, err := noRedirects().Do(req)
	if err != nil {
		c.fail("jwks", "fetch %s: %v", raw, err)
		return
	}
	defer httpx.DrainClose(resp.Body)
	body, err := httpx.ReadBounded(resp.Body, maxJWKSBody)
	if err != nil {
		c.fail("jwks", "fetch %s: %v", raw, err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		c.fail("jwks", "%s answered %s (NHS England: \"The JWKS endpoint, for your client_assertion can't be reached\")", raw, resp.Status)
		return
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		c.fail("jwks", "%s is not a JWKS: %v", raw, err)
		return
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			c.fail("jwks", "%s publishes the PRIVATE key %q: remove it and replace the key at once", raw, k.KeyID)
		}
	}
	for _, d := range duplicateKeys(&set) {
		c.warn("jwks", "%s: %s; a client signs under one of them, so check which ('?kid-from=' of --keys, '--kid-from' of 'pkjwt keys import')", raw, d)
	}
	found := set.Key(signer.ID)
	if len(found) == 0 {
		if other := sameKeyOtherKID(&set, signer); other != "" {
			c.otherKID = other
			c.fail("jwks", "%s has no key %s (the signing key's kid) but holds the same public key under kid %s: the server will answer \"Invalid 'kid' header in client_assertion JWT - no matching public key\"", raw, signer.ID, other)
			c.hint(kidAdvice(signer, other))
			return
		}
		c.fail("jwks", "%s has no key %s (the signing key): the server will answer \"Invalid 'kid' header in client_assertion JWT - no matching public key\"; publish it and wait for the server's JWKS cache (NHS: 1 hour)", raw, signer.ID)
		return
	}
	same := false
	for _, k := range found {
		if eq, ok := k.Key.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(signer.Public()) {
			same = true
		}
		if k.Algorithm != "" && k.Algorithm != signer.Algorithm {
			c.warn("jwks", "%s: key %s says alg %s, the key signs %s", raw, k.KeyID, k.Algorithm, signer.Algorithm)
		}
	}
	if !same {
		c.fail("jwks", "%s has a key %s, but not this key: \"JWT signature verification failed\" would follow (regenerated key?)", raw, signer.ID)
		return
	}
	c.ok("jwks", "%s holds the signing key %s (%d key(s) published)", raw, signer.ID, len(set.Keys))
}

// clock compares this machine's clock with the token endpoint's Date.
func (c *checker) clock(ctx context.Context, ts *pkjwt.TokenSource, lifetime, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, ts.Config().TokenURL, nil)
	if err != nil {
		c.warn("clock", "%v", err)
		return
	}
	sent := time.Now()
	resp, err := noRedirects().Do(req)
	if err != nil {
		c.fail("clock", "token endpoint unreachable: %v", err)
		if h := connectionHint(err, ts); h != "" {
			c.hint(h)
		}
		return
	}
	httpx.DrainClose(resp.Body)
	local := sent.Add(time.Since(sent) / 2)
	server, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		c.warn("clock", "the token endpoint sent no usable Date header; cannot measure clock skew")
		return
	}
	skew := local.Truncate(time.Second).Sub(server) // > 0: this machine is ahead; both at 1 s resolution
	ahead := lifetime + skew                        // exp - server's now, for an assertion signed now
	switch {
	case ahead > nhsAssertionWindow:
		c.fail("clock", "this clock is %s ahead of the server's: an assertion's exp would be %s ahead of it, over NHS England's 310 s (\"more than 5 minutes in future\"); fix NTP or lower --lifetime", skew, ahead)
	case ahead <= 0:
		c.fail("clock", "this clock is %s behind the server's: assertions would arrive expired (\"JWT has expired\"); fix NTP", -skew)
	case skew > 30*time.Second || skew < -30*time.Second:
		c.warn("clock", "this clock differs from the server's by %s (Date has 1 s resolution); assertions still fit NHS England's window, but check NTP", skew)
	default:
		c.ok("clock", "%s from the server's clock (to the second of its Date header); an assertion would expire %s after the server's now (NHS allows up to 310 s)", absDur(skew), ahead)
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// token makes a real token request and explains an error.
func (c *checker) token(ctx context.Context, ts *pkjwt.TokenSource) {
	tok, err := ts.TokenContext(ctx)
	if err != nil {
		var te *pkjwt.TokenError
		if !errors.As(err, &te) {
			c.fail("token", "%v", err)
			if h := connectionHint(err, ts); h != "" {
				c.hint(h)
			}
			return
		}
		c.fail("token", "HTTP %d %s: %s (message_id %s)", te.StatusCode, textsafe.Escape(te.Code), textsafe.Escape(te.Description), textsafe.Escape(te.MessageID))
		h := hint(te, ts)
		if c.otherKID != "" && c.signer != nil && strings.Contains(te.Description, "Invalid 'kid'") {
			h = fmt.Sprintf("the published JWKS holds this public key under kid %s, but the assertion names %s: %s", c.otherKID, c.signer.ID, kidAdvice(c.signer, c.otherKID))
		}
		if h != "" {
			c.hint(h)
		}
		return
	}
	info := pkjwt.Info(tok)
	c.ok("token", "got a %s token expiring in %ds, assertion signed by %s", info.TokenType, info.ExpiresIn, info.KeyID)
}

// hint explains NHS England's token errors (docs/nhs-reference.md, "Token endpoint errors"; the table is internal/nhserr).
func hint(te *pkjwt.TokenError, ts *pkjwt.TokenSource) string {
	return nhserr.Hint(te.Code, te.Description, ts.Config().Audience)
}

// testSign has a remote key sign a digest of nothing in particular, the way
// an assertion would be signed, so that check finds a key service that
// refuses (disabled key, missing permission) before a token request does;
// ctx (Ctrl-C) reaches the key service.
func testSign(ctx context.Context, k *keys.Key) error {
	opts, err := keys.SignerOpts(k.Algorithm)
	if err != nil {
		return err
	}
	digest := opts.HashFunc().New()
	digest.Write([]byte("pkjwt check"))
	_, err = keys.SignContext(ctx, k.Signer, rand.Reader, digest.Sum(nil), opts)
	return err
}
