package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// TestCheckWarnsYoungSigningKey: after a forced early activation, check
// warns that the signing key was published less than the lead ago and
// prints the rollback command; after the rollback it is quiet again.
func TestCheckWarnsYoungSigningKey(t *testing.T) {
	dir, flags := localEmulator(t) // its first key signs and is in the emulator's JWKS
	first := signingKID(t, dir)
	gen := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048", "--state", "pending")
	if gen.Code != 0 {
		t.Fatal(gen)
	}
	early := strings.TrimSpace(gen.Stdout)
	markPublished(t, dir, first, early)
	check := func() string {
		t.Helper()
		r := runCLI(t, nil, append([]string{"check", "--no-token"}, flags...)...)
		if r.Code != 0 {
			t.Fatalf("check: %v", r)
		}
		return r.Stdout
	}
	if out := check(); strings.Contains(out, "was first published") {
		t.Fatalf("check warned about the first key:\n%s", out)
	}
	if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", early, "--force"); r.Code != 0 {
		t.Fatal(r)
	}
	out := check()
	for _, want := range []string{
		"warn  keys   the signing key " + early + " was first published",
		"less than the 1h5m0s lead",
		"to roll back at once: pkjwt keys activate --dir " + dir + " --kid " + first,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check after a forced activation lacks %q:\n%s", want, out)
		}
	}
	// The printed command is the real rollback.
	if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", first); r.Code != 0 || !strings.Contains(r.Stderr, "rollback: ") {
		t.Fatalf("the rollback check printed: %v", r)
	}
	if out := check(); strings.Contains(out, "was first published") || strings.Contains(out, "roll back") {
		t.Fatalf("check after the rollback still warns:\n%s", out)
	}
}

// jwksDoc is a JWKS publishing pub under each of kids.
func jwksDoc(t *testing.T, k *keys.Key, kids ...string) []byte {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, kid := range kids {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: "RS512", Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckKeyUnderAnotherKID: a JWKS that holds the signing key under
// another kid makes the jwks check and the token's 401 "Invalid 'kid'"
// say so and name ?kid-from= (or ?kid= when no method gives that kid); a
// JWKS with one key under two kids is reported.
func TestCheckKeyUnderAnotherKID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048", "--kid", "my-kid"); r.Code != 0 {
		t.Fatal(r)
	}
	k, err := keydir.Dir{Path: dir}.Load("my-kid")
	if err != nil {
		t.Fatal(err)
	}
	thumb, err := keys.Thumbprint(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		kids     []string // the kids the published JWKS holds the key under
		wantCode int
		want     []string
	}{
		{"under its thumbprint", []string{thumb}, 1, []string{
			"FAIL  jwks", "holds the same public key under kid " + thumb,
			"FAIL  token  HTTP 401 invalid_request: Invalid 'kid' header",
			"hint: the published JWKS holds this public key under kid " + thumb + ", but the assertion names my-kid",
			"?kid-from=thumbprint", "--kid-from thumbprint",
		}},
		{"under a kid no method gives", []string{"legacy-1"}, 1, []string{
			"holds the same public key under kid legacy-1",
			"hint: the published JWKS holds this public key under kid legacy-1",
			"?kid=legacy-1",
		}},
		{"under two kids, one of them ours", []string{"my-kid", thumb}, 0, []string{
			"warn  jwks", "is published under 2 kids: my-kid, " + thumb,
			"ok    jwks", "ok    token",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			jwksURL := jwksServer(t, jwksDoc(t, k, tc.kids...)).URL + "/jwks.json"
			tokenURL := emulatorFor(t, "kid-app", jwksURL)
			r := runCLI(t, nil, "check", "--profile", "local", "--token-url", tokenURL, "--client-id", "kid-app", "--dir", dir, "--jwks-url", jwksURL)
			if r.Code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%v", r.Code, tc.wantCode, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.Stdout)
				}
			}
		})
	}
}

// closedURL is a token URL on a loopback port nothing listens on: it was
// bound to :0 and closed.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/oauth2/token"
}

// TestConnectionRefusedHint: a refused connection under --profile local
// points at the emulator and --token-url, in 'token' and in 'check'.
func TestConnectionRefusedHint(t *testing.T) {
	dir, _ := keyDir(t)
	url := closedURL(t)
	cases := []struct {
		name    string
		args    []string
		out     func(result) string
		want    []string
		notWant string
	}{
		{"token, local", []string{"token", "--profile", "local", "--token-url", url, "--client-id", "x", "--dir", dir},
			func(r result) string { return r.Stderr }, []string{"hint: nothing listens at " + url, "pkjwt emulator", "--token-url"}, ""},
		{"check, local", []string{"check", "--profile", "local", "--token-url", url, "--client-id", "x", "--dir", dir},
			func(r result) string { return r.Stdout }, []string{"FAIL  clock  token endpoint unreachable", "hint: nothing listens at " + url, "--token-url"}, ""},
		{"token, generic", []string{"token", "--token-url", url, "--client-id", "x", "--dir", dir},
			func(r result) string { return r.Stderr }, []string{"hint: nothing listens at " + url, "--token-url"}, "emulator"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			if r.Code != 1 {
				t.Fatalf("exit %d, want 1\n%v", r.Code, r)
			}
			out := tc.out(r)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%v", w, r)
				}
			}
			if tc.notWant != "" && strings.Contains(out, tc.notWant) {
				t.Errorf("output has %q:\n%v", tc.notWant, r)
			}
		})
	}
}
