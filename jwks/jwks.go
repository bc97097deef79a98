// Package jwks turns the public halves of a key ring into a strict JSON Web
// Key Set and serves it over HTTP with validators and caching headers.
//
// "Strict" means every key carries exactly the members kty, use ("sig"), alg,
// kid and the public parameters (n and e for RSA; crv, x and y for EC) and
// nothing else: no private member can ever be emitted, even when a private
// key is passed in, and no certificate or optional member leaks through.
//
// [Marshal] and [MarshalRing] produce the bytes from [keys.Key] values or a
// [keys.Ring]; [Check] refuses any document that is not such a set before
// it is published (package jwks/publish runs it); [Handler] serves the set
// at [Path] and takes a new one with [Handler.Update] during a rotation.
package jwks

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/keys"
)

// ErrNotPublic is returned if a key would be marshalled with a member other
// than the allowed public ones.
var ErrNotPublic = errors.New("jwks: key has members beyond the public ones")

// allowed lists the members a published JWK may have, per key type.
var allowed = map[string]map[string]bool{
	"RSA": {"kty": true, "use": true, "alg": true, "kid": true, "n": true, "e": true},
	"EC":  {"kty": true, "use": true, "alg": true, "kid": true, "crv": true, "x": true, "y": true},
}

// publicOf returns only the public half of pub, whatever it was given.
func publicOf(k any) (crypto.PublicKey, error) {
	switch p := k.(type) {
	case *rsa.PublicKey:
		return p, nil
	case *ecdsa.PublicKey:
		return p, nil
	case crypto.Signer:
		return publicOf(p.Public())
	}
	return nil, fmt.Errorf("jwks: unsupported key type %T", k)
}

// MarshalKey returns the strict JWK of one key.
func MarshalKey(k *keys.Key) ([]byte, error) {
	pub, err := publicOf(k.Signer)
	if err != nil {
		return nil, err
	}
	b, err := jose.JSONWebKey{Key: pub, KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("jwks: marshal key %s: %w", k.ID, err)
	}
	// Defence in depth: prove the member set before the bytes leave.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return nil, fmt.Errorf("jwks: re-read key %s: %w", k.ID, err)
	}
	var kty string
	if err := json.Unmarshal(members["kty"], &kty); err != nil {
		return nil, fmt.Errorf("jwks: key %s has no kty: %w", k.ID, ErrNotPublic)
	}
	want := allowed[kty]
	if want == nil {
		return nil, fmt.Errorf("jwks: key %s: kty %q: %w", k.ID, kty, ErrNotPublic)
	}
	for m := range members {
		if !want[m] {
			return nil, fmt.Errorf("jwks: key %s: member %q: %w", k.ID, m, ErrNotPublic)
		}
	}
	if len(members) != len(want) {
		return nil, fmt.Errorf("jwks: key %s has %d members, want %d: %w", k.ID, len(members), len(want), ErrNotPublic)
	}
	return b, nil
}

// Marshal returns the JWKS document {"keys":[...]} of ks, in the given order,
// each key as [MarshalKey] gives it. An empty ks gives {"keys":[]}.
func Marshal(ks []*keys.Key) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"keys":[`)
	seen := make(map[string]bool, len(ks))
	for i, k := range ks {
		if seen[k.ID] {
			return nil, fmt.Errorf("jwks: duplicate kid %q", k.ID)
		}
		seen[k.ID] = true
		b, err := MarshalKey(k)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

// MarshalRing returns the JWKS of every key in r ([keys.Ring.Keys]): pending keys so relying
// parties cache them before they sign, retired keys so what they signed
// still verifies.
func MarshalRing(r *keys.Ring) ([]byte, error) { return Marshal(r.Keys()) }
