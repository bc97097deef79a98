package emulator_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
)

// TestClientAgainstEmulator: the project's own client (pkjwt.NewTokenSource
// and pkjwt.NewClient) gets a token from the emulator and reads patient
// 9000000009, over real HTTP on 127.0.0.1. The emulator judges the client
// with its own go-jose based verification; nothing is shared.
func TestClientAgainstEmulator(t *testing.T) {
	k, err := keys.Generate("RS512", 2048) // 4096 in production; 2048 keeps the test fast
	if err != nil {
		t.Fatal(err)
	}
	ring := keys.NewRing(k)
	jh, err := jwks.NewHandler(ring.Keys())
	if err != nil {
		t.Fatal(err)
	}
	jwksSrv := httptest.NewServer(jh)
	defer jwksSrv.Close()

	var tokenRequests, pdsRequests atomic.Int64
	emu := httptest.NewUnstartedServer(nil)
	emu.Start()
	defer emu.Close()
	srv, err := emulator.New(emulator.Config{PublicURL: emu.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AddApp(emulator.App{Name: "client test", APIKey: "client-test-key",
		JWKSURL: jwksSrv.URL + jwks.Path, Scopes: []string{emulator.PDSScope}}); err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	emu.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == emulator.TokenPath {
			tokenRequests.Add(1)
		} else {
			pdsRequests.Add(1)
		}
		h.ServeHTTP(w, r)
	})

	profile := pkjwt.Local(emu.URL)
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: profile, ClientID: "client-test-key", Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	if ts.Config().TokenURL != srv.TokenURL() {
		t.Fatalf("client token URL %q, emulator advertises %q", ts.Config().TokenURL, srv.TokenURL())
	}
	tok, err := ts.TokenContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token %+v", tok)
	}
	if d := time.Until(tok.Expiry); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("token expires in %v, want about 599 s", d)
	}

	client := pkjwt.NewClient(ts)
	for i := 0; i < 3; i++ {
		resp, err := client.Get(profile.APIBaseURL + "/Patient/9000000009")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Name         []struct {
				Family string `json:"family"`
			} `json:"name"`
		}
		if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if p.ResourceType != "Patient" || p.ID != "9000000009" || p.Name[0].Family != "Smith" {
			t.Errorf("patient %s", body)
		}
		if resp.Header.Get("X-Request-ID") == "" {
			t.Error("client sent no X-Request-ID (PDS requires one)")
		}
	}
	if n := tokenRequests.Load(); n != 1 {
		t.Errorf("%d token requests, want 1 (the token is cached)", n)
	}
	if n := pdsRequests.Load(); n != 3 {
		t.Errorf("%d PDS requests, want 3", n)
	}

	// An unknown client id gets NHS row 19, surfaced as a *pkjwt.TokenError.
	bad, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: profile, ClientID: "unknown-key", Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.TokenContext(t.Context())
	var te *pkjwt.TokenError
	if !errors.As(err, &te) {
		t.Fatalf("error %v is not a *pkjwt.TokenError", err)
	}
	if te.StatusCode != 401 || te.Code != "invalid_request" ||
		te.Description != "Invalid 'iss'/'sub' claims in client_assertion JWT" || te.MessageID == "" {
		t.Errorf("TokenError %+v", te)
	}
}
