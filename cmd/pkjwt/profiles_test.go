package main

import (
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt"
)

// TestProfileNames: the names --profile offers are exactly those
// pkjwt.LookupProfile accepts, which its error for an unknown name lists.
func TestProfileNames(t *testing.T) {
	for _, name := range profileNames() {
		if p, err := pkjwt.LookupProfile(name); err != nil || p.Name != name {
			t.Errorf("LookupProfile(%q) = %q, %v", name, p.Name, err)
		}
	}
	_, err := pkjwt.LookupProfile("no-such-profile")
	if err == nil {
		t.Fatal("LookupProfile accepted an unknown name")
	}
	if want := "(known: " + strings.Join(profileNames(), ", ") + ")"; !strings.Contains(err.Error(), want) {
		t.Errorf("LookupProfile's error %q does not list %s", err, want)
	}
}
