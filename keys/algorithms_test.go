package keys_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt/keys"
)

// TestAlgorithmTable: every algorithm of the table generates a key that
// CheckAlgorithm accepts, and an unknown one is refused by both with the
// table's list in the message.
func TestAlgorithmTable(t *testing.T) {
	algs := keys.Algorithms()
	if len(algs) == 0 || algs[0] != "RS256" || !slices.Contains(algs, keys.DefaultAlgorithm) {
		t.Fatalf("table %v", algs)
	}
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			k, err := keys.Generate(alg, keys.MinRSABits)
			if err != nil {
				t.Fatal(err)
			}
			if k.Algorithm != alg {
				t.Fatalf("algorithm %q", k.Algorithm)
			}
			if err := keys.CheckAlgorithm(k.Public(), alg); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, bad := range []string{"HS256", "none", "EdDSA", "rs512", ""} {
		err := keys.CheckAlgorithm(nil, bad)
		if !errors.Is(err, keys.ErrUnsupportedAlgorithm) || !strings.Contains(err.Error(), strings.Join(keys.Algorithms(), ", ")) {
			t.Errorf("CheckAlgorithm(%q): %v", bad, err)
		}
		if bad == "" {
			continue // Generate's default
		}
		if _, err := keys.Generate(bad, 0); !errors.Is(err, keys.ErrUnsupportedAlgorithm) {
			t.Errorf("Generate(%q): %v", bad, err)
		}
	}
	if _, err := keys.Generate("RS512", keys.MaxRSABits+1); !errors.Is(err, keys.ErrUnsupportedAlgorithm) {
		t.Errorf("Generate over MaxRSABits: %v", err)
	}
}
