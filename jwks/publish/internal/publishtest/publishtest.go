// Package publishtest holds the JWKS documents the tests of jwks/publish
// and its stores publish and refuse.
package publishtest

import (
	"bytes"
	"testing"

	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
)

// Set returns a strict JWKS of n freshly generated 2048-bit keys and their
// kids.
func Set(t testing.TB, n int) ([]byte, []string) {
	t.Helper()
	var ks []*keys.Key
	var kids []string
	for range n {
		k, err := keys.Generate("RS256", 2048)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
		kids = append(kids, k.ID)
	}
	body, err := jwks.Marshal(ks)
	if err != nil {
		t.Fatal(err)
	}
	return body, kids
}

// Refused is a document Publish must never upload, and the jwks error it
// is refused with.
type Refused struct {
	Name string
	Body []byte
	Want error
}

// RefusedBodies returns the documents Publish must never upload.
func RefusedBodies(t testing.TB) []Refused {
	t.Helper()
	good, _ := Set(t, 1)
	withD := bytes.Replace(good, []byte(`"kty":"RSA"`), []byte(`"kty":"RSA","d":"AQAB"`), 1)
	if bytes.Equal(withD, good) {
		t.Fatal("could not add d to the test set")
	}
	return []Refused{
		{"empty set", []byte(`{"keys":[]}`), jwks.ErrEmptySet},
		{"private member d", withD, jwks.ErrNotPublic},
		{"not JSON", []byte("<html>not a jwks</html>"), jwks.ErrNotJWKS},
	}
}
