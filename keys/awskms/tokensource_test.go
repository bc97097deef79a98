package awskms_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
)

// nhsEnv is the project's NHS emulator on 127.0.0.1 with one app whose
// JWKS (served by another loopback server) holds key's public half.
type nhsEnv struct {
	url        string
	apiKey     string
	tokenPosts atomic.Int64
	patientURL string
}

func newNHSEnv(t testing.TB, key *keys.Key) *nhsEnv {
	t.Helper()
	doc, err := jwks.Marshal([]*keys.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(jwksSrv.Close)

	env := &nhsEnv{apiKey: "kms-app-api-key"}
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	t.Cleanup(ts.Close)
	emu, err := emulator.New(emulator.Config{
		PublicURL: ts.URL,
		Apps: []emulator.App{{
			Name: "KMS app", APIKey: env.apiKey,
			JWKSURL: jwksSrv.URL + "/.well-known/jwks.json",
			Scopes:  []string{emulator.PDSScope},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := emu.Handler()
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/token") {
			env.tokenPosts.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	env.url = ts.URL
	env.patientURL = pkjwt.Local(ts.URL).APIBaseURL + "/Patient/9000000009"
	return env
}

// THE DONE-WHEN TEST: an access token from the NHS emulator, for a client
// assertion signed by a key that exists only in KMS (local-kms), and a PDS
// call with that token.
func TestTokenFromEmulatorWithKMSKey(t *testing.T) {
	t.Parallel()
	l := startLocalKMS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ref, _ := l.create(t, l.backend())

	signer, err := l.backend().Open(ctx, ref) // a fresh Open: only the ref carries over
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.New(signer, "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key.Ref = ref
	env := newNHSEnv(t, key)

	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(env.url), ClientID: env.apiKey, Keys: key})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.TokenContext(ctx)
	if err != nil {
		t.Fatalf("token with the KMS key: %v", err)
	}
	if tok.AccessToken == "" || pkjwt.Info(tok).KeyID != key.ID {
		t.Fatalf("token info %+v", pkjwt.Info(tok))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.patientURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := pkjwt.NewClient(ts).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PDS with the token: %s", resp.Status)
	}
	if n := env.tokenPosts.Load(); n != 1 {
		t.Fatalf("%d token requests, want 1 (the cached token serves the API call)", n)
	}
}

// A sign that fails (the key disabled in KMS) is an error of the token
// source, and no request, with no assertion, reaches the token endpoint.
func TestFailedKMSSignSendsNothing(t *testing.T) {
	t.Parallel()
	l := startLocalKMS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, signer := l.create(t, l.backend())
	key, err := keys.New(signer, "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	env := newNHSEnv(t, key)
	if _, err := l.client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(signer.KeyARN())}); err != nil {
		t.Fatal(err)
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(env.url), ClientID: env.apiKey, Keys: key})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.TokenContext(ctx)
	errorsIs(t, err, keys.ErrKeyDisabled)
	if n := env.tokenPosts.Load(); n != 0 {
		t.Fatalf("%d token requests after a failed sign, want 0", n)
	}
	if _, err := l.client.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(signer.KeyARN())}); err != nil {
		t.Fatal(err)
	}
	// The token source remembers a failure for a few seconds; a new one
	// shows the same key works once enabled.
	ts, err = pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(env.url), ClientID: env.apiKey, Keys: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.TokenContext(ctx); err != nil {
		t.Fatalf("enabled again: %v", err)
	}
	if n := env.tokenPosts.Load(); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}
}
