package jwks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/keys"
)

// Errors returned by Check, besides ErrNotPublic. Test for them with
// errors.Is.
var (
	// ErrNotJWKS is returned for bytes that are not a JSON Web Key Set: not
	// JSON, not an object with a "keys" array, a key go-jose cannot parse,
	// a duplicate member name, or members beyond "keys".
	ErrNotJWKS = errors.New("jwks: not a JSON Web Key Set")
	// ErrEmptySet is returned for a set with no keys: publishing it would
	// make every relying party reject every assertion.
	ErrEmptySet = errors.New("jwks: the set has no keys")
	// ErrTooLarge is returned for a document larger than [MaxSize].
	ErrTooLarge = errors.New("jwks: document too large")
)

// MaxSize bounds the size of a JWKS document Check accepts (1 MiB); a set
// of a few public keys is a few kilobytes. See [Check].
const MaxSize = 1 << 20

// Check reports whether body is a JWKS fit to publish and returns its kids
// in document order. It refuses, with [ErrNotJWKS], [ErrEmptySet],
// [ErrNotPublic] or [ErrTooLarge] (wrapped with the reason):
//   - bytes that are not one JSON object {"keys":[...]} (trailing data,
//     duplicate member names or members other than "keys" included);
//   - an empty set;
//   - any key with a member outside the strict public set of its type
//     (kty, use, alg, kid, n, e for RSA; kty, use, alg, kid, crv, x, y for
//     EC), so a private member such as "d" or a certificate chain can never
//     be published;
//   - a key go-jose cannot parse as a public key, a missing, invalid or
//     repeated kid, a "use" other than "sig", or an "alg" the key cannot
//     sign with (see [keys.CheckAlgorithm], which also refuses small RSA
//     keys).
//
// The bytes [Marshal] produces always pass.
func Check(body []byte) (kids []string, err error) {
	if len(body) > MaxSize {
		return nil, fmt.Errorf("jwks: %d bytes, at most %d: %w", len(body), MaxSize, ErrTooLarge)
	}
	if err := noDuplicateNames(body); err != nil {
		return nil, err
	}
	var set map[string]json.RawMessage
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotJWKS, err)
	}
	for m := range set {
		if m != "keys" {
			return nil, fmt.Errorf("%w: member %q beside \"keys\"", ErrNotJWKS, m)
		}
	}
	raw, ok := set["keys"]
	if !ok {
		return nil, fmt.Errorf("%w: no \"keys\" member", ErrNotJWKS)
	}
	var ks []json.RawMessage
	if err := json.Unmarshal(raw, &ks); err != nil || ks == nil {
		return nil, fmt.Errorf("%w: \"keys\" is not an array", ErrNotJWKS)
	}
	if len(ks) == 0 {
		return nil, ErrEmptySet
	}
	seen := make(map[string]bool, len(ks))
	for i, kb := range ks {
		kid, err := checkKey(kb)
		if err != nil {
			return nil, fmt.Errorf("jwks: key %d: %w", i, err)
		}
		if seen[kid] {
			return nil, fmt.Errorf("jwks: key %d: duplicate kid %q: %w", i, kid, ErrNotJWKS)
		}
		seen[kid] = true
		kids = append(kids, kid)
	}
	return kids, nil
}

// checkKey checks one JWK's member set, then parses it with go-jose.
func checkKey(b []byte) (kid string, err error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return "", fmt.Errorf("%w: not a JSON object", ErrNotJWKS)
	}
	var kty string
	if err := json.Unmarshal(members["kty"], &kty); err != nil {
		return "", fmt.Errorf("%w: no kty", ErrNotJWKS)
	}
	want := allowed[kty]
	if want == nil {
		return "", fmt.Errorf("kty %q: %w", kty, ErrNotPublic)
	}
	for m := range members {
		if !want[m] {
			return "", fmt.Errorf("member %q: %w", m, ErrNotPublic)
		}
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(b); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotJWKS, err)
	}
	if !k.IsPublic() || !k.Valid() {
		return "", fmt.Errorf("not a valid public key: %w", ErrNotPublic)
	}
	if err := keys.ValidateKID(k.KeyID); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotJWKS, err)
	}
	if k.Use != "" && k.Use != "sig" {
		return "", fmt.Errorf("%w: key %s: use %q, want \"sig\"", ErrNotJWKS, k.KeyID, k.Use)
	}
	if k.Algorithm != "" {
		if err := keys.CheckAlgorithm(k.Key, k.Algorithm); err != nil {
			return "", fmt.Errorf("key %s: %w", k.KeyID, err)
		}
	}
	return k.KeyID, nil
}

// noDuplicateNames refuses a JSON document that is not exactly one value or
// that repeats a member name in any object: parsers disagree on which of two
// "n" members wins, so a set that reads differently to different relying
// parties is never published.
func noDuplicateNames(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := walkValue(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the JSON value", ErrNotJWKS)
	}
	return nil
}

// maxDepth bounds nesting: a JWKS is three levels deep.
const maxDepth = 16

func walkValue(dec *json.Decoder, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrNotJWKS, maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotJWKS, err)
	}
	switch tok {
	case json.Delim('{'):
		names := map[string]bool{}
		for dec.More() {
			nt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%w: %w", ErrNotJWKS, err)
			}
			name, _ := nt.(string)
			if names[name] {
				return fmt.Errorf("%w: member %q repeated", ErrNotJWKS, name)
			}
			names[name] = true
			if err := walkValue(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
	case json.Delim('['):
		for dec.More() {
			if err := walkValue(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotJWKS, err)
	}
	return nil
}
