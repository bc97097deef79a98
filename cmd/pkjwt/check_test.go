package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

func TestCheckCommand(t *testing.T) {
	dir, kid := keyDir(t)
	ring, err := keydir.Dir{Path: dir}.LoadRing()
	if err != nil {
		t.Fatal(err)
	}
	good, _ := jwks.NewHandler(ring.Keys())
	other, _ := keys.Generate("RS512", 2048)
	otherJWKS, _ := jwks.NewHandler([]*keys.Key{other})
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	leaky, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: priv, KeyID: kid, Algorithm: "RS512", Use: "sig"}}})
	mux := http.NewServeMux()
	mux.Handle("/good.json", good)
	mux.Handle("/other.json", otherJWKS)
	mux.HandleFunc("/leaky.json", func(w http.ResponseWriter, r *http.Request) { w.Write(leaky) })
	jwksSrv := httptest.NewServer(mux)
	defer jwksSrv.Close()

	emu, err := emulator.New(emulator.Config{Apps: []emulator.App{{
		Name: "check", APIKey: "check-app", JWKSURL: jwksSrv.URL + "/good.json", Scopes: []string{emulator.PDSScope},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()
	// A token endpoint whose clock is ten minutes ahead of ours.
	future := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(10*time.Minute).UTC().Format(http.TimeFormat))
	}))
	defer future.Close()

	base := []string{"check", "--profile", "local", "--dir", dir}
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"all good", []string{"--token-url", emuSrv.URL + "/oauth2/token", "--client-id", "check-app", "--jwks-url", jwksSrv.URL + "/good.json"}, 0,
			[]string{"ok    keys", "ok    config", "ok    jwks   " + jwksSrv.URL + "/good.json holds the signing key " + kid, "ok    clock", "ok    token  got a Bearer token"}},
		{"unknown client id", []string{"--token-url", emuSrv.URL + "/oauth2/token", "--client-id", "nobody"}, 1,
			[]string{"FAIL  token  HTTP 401 invalid_request: Invalid 'iss'/'sub' claims in client_assertion JWT", "hint: the client id is not the API key"}},
		{"JWKS without the signing key", []string{"--token-url", emuSrv.URL + "/oauth2/token", "--client-id", "check-app", "--jwks-url", jwksSrv.URL + "/other.json", "--no-token"}, 1,
			[]string{"FAIL  jwks", "has no key " + kid}},
		{"JWKS with a private key", []string{"--token-url", emuSrv.URL + "/oauth2/token", "--client-id", "check-app", "--jwks-url", jwksSrv.URL + "/leaky.json", "--no-token"}, 1,
			[]string{"publishes the PRIVATE key", "but not this key"}},
		{"JWKS URL without a path", []string{"--token-url", emuSrv.URL + "/oauth2/token", "--client-id", "check-app", "--jwks-url", jwksSrv.URL, "--no-token"}, 1,
			[]string{"has no path"}},
		{"clock behind the server", []string{"--token-url", future.URL + "/oauth2/token", "--client-id", "check-app", "--no-token"}, 1,
			[]string{"FAIL  clock  this clock is 10m0s behind", "JWT has expired"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, append(base, tc.args...)...)
			if r.Code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.Code, tc.wantCode, r.Stdout, r.Stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.Stdout)
				}
			}
		})
	}
}
