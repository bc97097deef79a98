package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestServeKIDPublishesTheRing: with --kid the web app signs with that key
// and still publishes every key of --dir, as the token source's key source
// is the directory's ring with one key pinned.
func TestServeKIDPublishesTheRing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var kids []string
	for range 2 {
		r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048")
		if r.Code != 0 {
			t.Fatalf("keys generate: %v", r)
		}
		kids = append(kids, strings.TrimSpace(r.Stdout))
	}
	pinned := kids[1]
	_, url := startServer(t, "serve", "--dir", dir, "--kid", pinned, "--profile", "local", "--client-id", "kid-app")
	_, served := httpGet(t, url+"/.well-known/jwks.json")
	for _, kid := range kids {
		if !strings.Contains(served, `"kid":"`+kid+`"`) {
			t.Errorf("the JWKS lacks %s:\n%s", kid, served)
		}
	}
	_, index := httpGet(t, url+"/")
	if !strings.Contains(index, pinned) {
		t.Errorf("the index does not show the pinned signing key %s", pinned)
	}
	_, ready := httpGet(t, url+"/readyz")
	if !strings.Contains(ready, "ready") || strings.Contains(ready, "not ready") {
		t.Errorf("readyz: %q", ready)
	}
}
