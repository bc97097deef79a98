package main

import (
	"testing"

	"github.com/pkjwt/pkjwt/keys"
)

// TestKeysTextCoversEveryKIDMethod checks that the CLI describes every kid
// method keys.KIDFrom accepts, and nothing else.
func TestKeysTextCoversEveryKIDMethod(t *testing.T) {
	for _, m := range keys.KIDMethods() {
		if kidMethodSummary(m) == "" {
			t.Errorf("kid method %q has no summary in the CLI", m)
		}
	}
	if s := kidMethodSummary("sha3"); s != "" {
		t.Errorf("unknown method described: %q", s)
	}
}
