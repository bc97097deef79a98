package jwks_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
)

func TestCheckAcceptsMarshal(t *testing.T) {
	rk := goldenKey(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := keys.New(ec, "ES256", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, err := jwks.Marshal([]*keys.Key{rk, ek})
	if err != nil {
		t.Fatal(err)
	}
	kids, err := jwks.Check(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(kids) != 2 || kids[0] != rk.ID || kids[1] != ek.ID {
		t.Fatalf("kids %v, want [%s %s]", kids, rk.ID, ek.ID)
	}
}

// withMember returns the golden JWKS with one member of its key set to v
// (or removed when v is nil).
func withMember(t *testing.T, name string, v any) string {
	t.Helper()
	body, err := jwks.Marshal([]*keys.Key{goldenKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		delete(set.Keys[0], name)
	} else {
		set.Keys[0][name] = v
	}
	out, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestCheckRefuses(t *testing.T) {
	priv, err := keys.Generate("RS256", 2048)
	if err != nil {
		t.Fatal(err)
	}
	// A private JWK, as go-jose marshals it: has d, p, q, dp, dq, qi.
	privJWK, err := jose.JSONWebKey{Key: priv.Signer, KeyID: priv.ID, Algorithm: "RS256", Use: "sig"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	golden, err := jwks.Marshal([]*keys.Key{goldenKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	g := strings.TrimSpace(string(golden))
	firstKey := g[len(`{"keys":[`) : len(g)-len(`]}`)]
	cases := []struct {
		name string
		body string
		want error
	}{
		{"not JSON", "<html>hello</html>", jwks.ErrNotJWKS},
		{"empty", "", jwks.ErrNotJWKS},
		{"array", `[]`, jwks.ErrNotJWKS},
		{"no keys member", `{}`, jwks.ErrNotJWKS},
		{"keys not an array", `{"keys":{}}`, jwks.ErrNotJWKS},
		{"keys null", `{"keys":null}`, jwks.ErrNotJWKS},
		{"empty set", `{"keys":[]}`, jwks.ErrEmptySet},
		{"extra top-level member", `{"keys":[` + firstKey + `],"x":1}`, jwks.ErrNotJWKS},
		{"trailing data", g + `{}`, jwks.ErrNotJWKS},
		{"private key", `{"keys":[` + string(privJWK) + `]}`, jwks.ErrNotPublic},
		{"private member d", withMember(t, "d", "AQAB"), jwks.ErrNotPublic},
		{"certificate chain", withMember(t, "x5c", []string{"MIIB"}), jwks.ErrNotPublic},
		{"unknown kty", withMember(t, "kty", "oct"), jwks.ErrNotPublic},
		{"no kid", withMember(t, "kid", nil), jwks.ErrNotJWKS},
		{"use enc", withMember(t, "use", "enc"), jwks.ErrNotJWKS},
		{"alg for EC", withMember(t, "alg", "ES256"), keys.ErrAlgorithmMismatch},
		{"alg none", withMember(t, "alg", "none"), keys.ErrUnsupportedAlgorithm},
		{"no modulus", withMember(t, "n", nil), jwks.ErrNotJWKS},
		{"duplicate kid", `{"keys":[` + firstKey + `,` + firstKey + `]}`, jwks.ErrNotJWKS},
		{"duplicate member", `{"keys":[` + strings.Replace(firstKey, `"e":"AQAB"`, `"e":"AQAB","e":"Aw"`, 1) + `]}`, jwks.ErrNotJWKS},
		{"too large", `{"keys":[` + strings.Repeat(" ", jwks.MaxSize) + `]}`, jwks.ErrTooLarge},
		{"too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), jwks.ErrNotJWKS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kids, err := jwks.Check([]byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check: %v, kids %v; want %v", err, kids, tc.want)
			}
		})
	}
}
