package pkjwt_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
)

// TestAssertionHook: header members and claims added by ModifyAssertion
// reach the independent verifying endpoint, signed; reserved names and a
// failing hook stop the request before anything is sent.
func TestAssertionHook(t *testing.T) {
	cases := []struct {
		name       string
		hook       func(*keys.Key, *pkjwt.AssertionExtras) error
		wantHeader map[string]any
		wantClaims map[string]any
		wantErr    error // nil: the token request succeeds
	}{
		{
			name: "claims and a header member",
			hook: func(k *keys.Key, x *pkjwt.AssertionExtras) error {
				x.Claims["scope"] = "patient/*.read"
				x.Claims["tenant"] = map[string]any{"id": 7}
				x.Header["x-env"] = "int"
				return nil
			},
			wantHeader: map[string]any{"x-env": "int"},
			wantClaims: map[string]any{"scope": "patient/*.read", "tenant": map[string]any{"id": 7}},
		},
		{
			name: "the hook sees the signing key",
			hook: func(k *keys.Key, x *pkjwt.AssertionExtras) error {
				x.Claims["signed_by"] = k.ID
				return nil
			},
			wantClaims: map[string]any{"signed_by": testKey().ID},
		},
		{name: "nothing added", hook: func(*keys.Key, *pkjwt.AssertionExtras) error { return nil }},
	}
	for _, claim := range pkjwt.ReservedClaims() {
		cases = append(cases, struct {
			name       string
			hook       func(*keys.Key, *pkjwt.AssertionExtras) error
			wantHeader map[string]any
			wantClaims map[string]any
			wantErr    error
		}{
			name:    "claim " + claim + " refused",
			hook:    func(_ *keys.Key, x *pkjwt.AssertionExtras) error { x.Claims[claim] = "evil"; return nil },
			wantErr: pkjwt.ErrConfig,
		})
	}
	for _, h := range pkjwt.ReservedHeaders() {
		cases = append(cases, struct {
			name       string
			hook       func(*keys.Key, *pkjwt.AssertionExtras) error
			wantHeader map[string]any
			wantClaims map[string]any
			wantErr    error
		}{
			name:    "header " + h + " refused",
			hook:    func(_ *keys.Key, x *pkjwt.AssertionExtras) error { x.Header[h] = "none"; return nil },
			wantErr: pkjwt.ErrConfig,
		})
	}
	hookFailed := errors.New("no tenant configured")
	cases = append(cases, struct {
		name       string
		hook       func(*keys.Key, *pkjwt.AssertionExtras) error
		wantHeader map[string]any
		wantClaims map[string]any
		wantErr    error
	}{name: "hook error", hook: func(*keys.Key, *pkjwt.AssertionExtras) error { return hookFailed }, wantErr: hookFailed})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTokenServer(t, testKey(), "c")
			srv.wantHeader, srv.wantClaims = tc.wantHeader, tc.wantClaims
			ts := newSource(t, srv, func(c *pkjwt.Config) { c.ModifyAssertion = tc.hook })
			tok, err := ts.Token()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				if n := srv.requests.Load(); n != 0 {
					t.Fatalf("%d token requests sent, want none (and no retry)", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "tok-1" {
				t.Fatalf("token %q", tok.AccessToken)
			}
			for _, s := range srv.assertions() {
				if s.Err != "" {
					t.Fatalf("endpoint rejected the assertion: %s", s.Err)
				}
			}
		})
	}
}

// TestCertificateThumbprint: with CertificateThumbprint, a key carrying a
// certificate signs with x5t#S256 = base64url(SHA-256(DER)); a key without
// one signs without it.
func TestCertificateThumbprint(t *testing.T) {
	withCert := *testKey()
	cert, err := keys.SelfSignedCertificate(withCert.Signer, "pkjwt test", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	withCert.Certificate = cert
	sum := sha256.Sum256(cert.Raw)
	want := base64.RawURLEncoding.EncodeToString(sum[:])

	t.Run("with a certificate", func(t *testing.T) {
		srv := newTokenServer(t, testKey(), "c")
		srv.wantHeader = map[string]any{"x5t#S256": want}
		ts := newSource(t, srv, func(c *pkjwt.Config) { c.Keys = &withCert; c.CertificateThumbprint = true })
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
		if got := srv.assertions()[0].Header["x5t#S256"]; got != want {
			t.Fatalf("x5t#S256 %v, want %s", got, want)
		}
	})
	t.Run("without a certificate", func(t *testing.T) {
		srv := newTokenServer(t, testKey(), "c")
		ts := newSource(t, srv, func(c *pkjwt.Config) { c.CertificateThumbprint = true })
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("option off", func(t *testing.T) {
		srv := newTokenServer(t, testKey(), "c")
		ts := newSource(t, srv, func(c *pkjwt.Config) { c.Keys = &withCert })
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the hook may not set it too", func(t *testing.T) {
		srv := newTokenServer(t, testKey(), "c")
		ts := newSource(t, srv, func(c *pkjwt.Config) {
			c.Keys = &withCert
			c.CertificateThumbprint = true
			c.ModifyAssertion = func(_ *keys.Key, x *pkjwt.AssertionExtras) error { x.Header["x5t#S256"] = "forged"; return nil }
		})
		if _, err := ts.Token(); !errors.Is(err, pkjwt.ErrConfig) {
			t.Fatalf("error %v, want ErrConfig", err)
		}
	})
}

// TestTokenKeepsServerMembers: the token's Extra gives the server's own
// response members, as x/oauth2's token sources do, beside Info.
func TestTokenKeepsServerMembers(t *testing.T) {
	srv := newTokenServer(t, testKey(), "c")
	issued := time.Now().UnixMilli()
	srv.reply = func(n int64, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":"599","token_type":"Bearer","issued_at":"%d","scope":"urn:nhsd:apim:app:level3:personal-demographics","refresh_count":"0","n":12}`, n, issued)
	}
	tok, err := newSource(t, srv, nil).Token()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		member string
		want   any
	}{
		{"scope", "urn:nhsd:apim:app:level3:personal-demographics"},
		{"issued_at", fmt.Sprint(issued)},
		{"expires_in", "599"},
		{"refresh_count", "0"},
		{"n", 12.0},
		{"absent", nil},
	}
	for _, tc := range cases {
		if got := tok.Extra(tc.member); got != tc.want {
			t.Errorf("Extra(%q) = %#v, want %#v", tc.member, got, tc.want)
		}
	}
	info := pkjwt.Info(tok)
	if info == nil || info.Scope != "urn:nhsd:apim:app:level3:personal-demographics" || info.IssuedAt.UnixMilli() != issued || info.KeyID != testKey().ID {
		t.Fatalf("Info %+v", info)
	}
}
