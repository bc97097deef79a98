package interop_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/webapp"
)

// privateKeyJWTClient is the admin API body registering a client that
// authenticates with RFC 7523 assertions signed with alg, whose public keys
// Hydra fetches from jwksURL.
func privateKeyJWTClient(id, alg, jwksURL string) map[string]any {
	return map[string]any{
		"client_id":                       id,
		"client_name":                     "pkjwt interop " + id,
		"grant_types":                     []string{"client_credentials"},
		"response_types":                  []string{"token"},
		"token_endpoint_auth_method":      "private_key_jwt",
		"token_endpoint_auth_signing_alg": alg,
		"jwks_uri":                        jwksURL,
	}
}

// register creates the client through Hydra's admin API and checks what
// Hydra stored.
func register(t *testing.T, hy *testutil.Hydra, client map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := hy.CreateClient(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"client_id", "token_endpoint_auth_method", "token_endpoint_auth_signing_alg", "jwks_uri"} {
		if got[k] != client[k] {
			t.Fatalf("Hydra registered %s = %v, want %v", k, got[k], client[k])
		}
	}
}

// introspection is what Hydra's admin API says of an access token.
type introspection struct {
	Active    bool   `json:"active"`
	ClientID  string `json:"client_id"`
	TokenUse  string `json:"token_use"`
	ExpiresAt int64  `json:"exp"`
}

// introspect asks Hydra's admin API (RFC 7662) about an access token, so
// that a test knows the token is one Hydra issued and still honours.
func introspect(t *testing.T, hy *testutil.Hydra, token string) introspection {
	t.Helper()
	resp, err := hy.Client.PostForm(hy.AdminURL+"/admin/oauth2/introspect", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect: %s: %s", resp.Status, b)
	}
	var in introspection
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatalf("introspect: %v", err)
	}
	return in
}

// TestHydraClientCredentials gets a token from ORY Hydra with an RSA-4096
// RS512 key (NHS England's key and algorithm) through pkjwt.TokenSource
// under the Generic profile: Hydra fetches the key from the pkjwt web app's
// JWKS (served in-process on loopback), verifies the assertion and issues a
// token that its introspection endpoint says is active for this client.
// Then the same client is refused when the assertion breaks one of Hydra's
// rules, so the success above is Hydra verifying, not Hydra waving through.
func TestHydraClientCredentials(t *testing.T) {
	key, err := keys.Generate("RS512", 4096)
	if err != nil {
		t.Fatal(err)
	}
	ring := keys.NewRing(key)

	// The web app's address first: its JWKS URL is registered at Hydra
	// before the web app (which needs the token source) is made.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	jwksURL := "http://" + ln.Addr().String() + jwks.Path
	hy := testutil.StartHydra(t, testutil.HydraOptions{})

	const clientID = "pkjwt-interop"
	newSource := func(t *testing.T, cfg pkjwt.Config) *pkjwt.TokenSource {
		t.Helper()
		cfg.Profile = pkjwt.Generic()
		cfg.TokenURL = hy.TokenURL
		if cfg.ClientID == "" {
			cfg.ClientID = clientID
		}
		if cfg.Keys == nil {
			cfg.Keys = ring
		}
		cfg.HTTPClient = hy.Client
		ts, err := pkjwt.NewTokenSource(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	ts := newSource(t, pkjwt.Config{})
	// Hydra has no API for the System to System Call; only the JWKS is used.
	app, err := webapp.New(webapp.Config{TokenSource: ts, CallURL: hy.PublicURL + "/health/alive"})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewUnstartedServer(app.Handler())
	web.Listener.Close()
	web.Listener = ln
	web.Start()
	defer web.Close()

	register(t, hy, privateKeyJWTClient(clientID, "RS512", jwksURL))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := ts.TokenContext(ctx)
	if err != nil {
		t.Fatalf("token from Hydra: %v\nHydra's log:\n%s", err, hy.Log())
	}
	if !strings.EqualFold(tok.TokenType, "bearer") || tok.AccessToken == "" {
		t.Fatalf("token type %q, %d-byte access token", tok.TokenType, len(tok.AccessToken))
	}
	if info := pkjwt.Info(tok); info == nil || info.KeyID != key.ID {
		t.Fatalf("token info %+v, want the assertion signed by %s", info, key.ID)
	}
	if in := introspect(t, hy, tok.AccessToken); !in.Active || in.ClientID != clientID || in.TokenUse != "access_token" {
		t.Fatalf("Hydra's introspection: %+v, want an active access token of %s", in, clientID)
	}
	// The token source caches: a second call sends no request and returns
	// the same token.
	again, err := ts.TokenContext(ctx)
	if err != nil || again.AccessToken != tok.AccessToken {
		t.Fatalf("second call: err %v, same token %v", err, err == nil && again.AccessToken == tok.AccessToken)
	}

	// A client registered for RS256 refuses our RS512 assertion (Hydra
	// takes the alg the client registered; NHS takes RS512 only).
	register(t, hy, privateKeyJWTClient(clientID+"-rs256", "RS256", jwksURL))
	stranger, err := keys.Generate("RS512", 2048)
	if err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name   string
		cfg    pkjwt.Config
		status int
		code   string
		desc   string // in Hydra's error_description
	}{
		// Hydra compares aud with the token URL its issuer gives; the
		// assertion's aud must be that URL (here the http form of it).
		{"aud not Hydra's token URL", pkjwt.Config{Audience: strings.Replace(hy.TokenURL, "https://", "http://", 1)},
			401, "invalid_client", "Claim 'audience' from 'client_assertion' must match"},
		{"alg other than the client's", pkjwt.Config{ClientID: clientID + "-rs256"},
			401, "invalid_client", "enforces signing algorithm 'RS256'"},
		// NHS answers an unknown kid with 401 invalid_request; Hydra with
		// 400 invalid_request, after fetching the JWKS again.
		{"key not in the client's JWKS", pkjwt.Config{Keys: keys.NewRing(stranger)},
			400, "invalid_request", "kid '" + stranger.ID + "', which could not be found"},
		{"unknown client", pkjwt.Config{ClientID: "no-such-client"},
			401, "invalid_client", ""},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.MaxAttempts = 1
			ts := newSource(t, tc.cfg)
			tok, err := ts.TokenContext(ctx)
			if err == nil {
				t.Fatalf("Hydra issued a token (%d bytes)", len(tok.AccessToken))
			}
			var te *pkjwt.TokenError
			if !errors.As(err, &te) {
				t.Fatalf("want a *pkjwt.TokenError, got %v", err)
			}
			if te.StatusCode != tc.status || te.Code != tc.code || !strings.Contains(te.Description, tc.desc) {
				t.Fatalf("Hydra answered %d %s %q, want %d %s with %q", te.StatusCode, te.Code, te.Description, tc.status, tc.code, tc.desc)
			}
			t.Logf("Hydra: %d %s: %s", te.StatusCode, te.Code, te.Description)
		})
	}
}
