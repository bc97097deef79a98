package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/internal/testutil/azuritetest"
)

// publishedTimes runs 'keys list --json' and returns each kid's published
// time (zero when never published).
func publishedTimes(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	r := runCLI(t, nil, "keys", "list", "--dir", dir, "--json")
	if r.Code != 0 {
		t.Fatalf("keys list: %v", r)
	}
	var list []struct {
		KID       string     `json:"kid"`
		Published *time.Time `json:"published"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		t.Fatalf("keys list --json: %v: %q", err, r.Stdout)
	}
	out := map[string]time.Time{}
	for _, k := range list {
		if k.Published != nil {
			out[k.KID] = *k.Published
		} else {
			out[k.KID] = time.Time{}
		}
	}
	return out
}

// twoKeyDir makes a key directory with an active and a pending 2048-bit key.
func twoKeyDir(t *testing.T) (dir string, kids []string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "keys")
	for _, state := range []string{"active", "pending"} {
		r := runCLI(t, nil, "keys", "generate", "--dir", dir, "--bits", "2048", "--state", state)
		if r.Code != 0 {
			t.Fatalf("keys generate: %v", r)
		}
		kids = append(kids, strings.TrimSpace(r.Stdout))
	}
	return dir, kids
}

func TestJWKSPublishFile(t *testing.T) {
	dir, kids := twoKeyDir(t)
	want := runCLI(t, nil, "jwks", "--dir", dir)
	if want.Code != 0 {
		t.Fatal(want)
	}
	target := filepath.Join(t.TempDir(), "site", ".well-known", "jwks.json")
	to := "file://" + filepath.ToSlash(target)

	// A dry run uploads and records nothing.
	dry := runCLI(t, nil, "jwks", "publish", "--dir", dir, "--to", to, "--dry-run")
	if dry.Code != 0 || !strings.Contains(dry.Stdout, "dry run") {
		t.Fatalf("dry run: %v", dry)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("a dry run wrote the file")
	}
	for kid, at := range publishedTimes(t, dir) {
		if !at.IsZero() {
			t.Fatalf("a dry run recorded a publication of %s", kid)
		}
	}

	before := time.Now().Add(-time.Second)
	r := runCLI(t, nil, "jwks", "publish", "--dir", dir, "--to", to)
	after := time.Now().Add(time.Second)
	if r.Code != 0 {
		t.Fatalf("jwks publish: %v", r)
	}
	got, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want.Stdout {
		t.Fatalf("published %q, 'pkjwt jwks' prints %q", got, want.Stdout)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	sum := sha256.Sum256(got)
	for _, s := range []string{to, hex.EncodeToString(sum[:]), kids[0], kids[1], "public, max-age=300", "verified"} {
		if !strings.Contains(r.Stdout, s) {
			t.Fatalf("output lacks %q:\n%s", s, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "PRIVATE") || strings.Contains(r.Stderr, "PRIVATE") {
		t.Fatal("output holds a private key")
	}

	// Every published key now has its first publication time.
	first := publishedTimes(t, dir)
	for _, kid := range kids {
		at := first[kid]
		if at.Before(before) || at.After(after) {
			t.Fatalf("%s published at %v, want between %v and %v (all: %v)", kid, at, before, after, first)
		}
	}

	// Publishing again keeps the first publication time and says so.
	r2 := runCLI(t, nil, "jwks", "publish", "--dir", dir, "--to", to, "--cache-control", "no-cache", "--json")
	if r2.Code != 0 {
		t.Fatalf("second publish: %v", r2)
	}
	var rep struct {
		URL            string   `json:"url"`
		Verified       bool     `json:"verified"`
		KIDs           []string `json:"kids"`
		Bytes          int      `json:"bytes"`
		SHA256         string   `json:"sha256"`
		CacheControl   string   `json:"cache_control"`
		FirstPublished []string `json:"first_published"`
	}
	if err := json.Unmarshal([]byte(r2.Stdout), &rep); err != nil {
		t.Fatalf("--json: %v: %q", err, r2.Stdout)
	}
	if !rep.Verified || rep.URL != to || len(rep.KIDs) != 2 || rep.Bytes != len(got) || rep.SHA256 != hex.EncodeToString(sum[:]) ||
		rep.CacheControl != "no-cache" || rep.FirstPublished == nil || len(rep.FirstPublished) != 0 {
		t.Fatalf("report %+v", rep)
	}
	for kid, at := range publishedTimes(t, dir) {
		if !at.Equal(first[kid]) {
			t.Fatalf("%s: publication time moved from %v to %v", kid, first[kid], at)
		}
	}
}

func TestJWKSPublishRefuses(t *testing.T) {
	dir, _ := twoKeyDir(t)
	out := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"empty directory", []string{"--dir", filepath.Join(t.TempDir(), "none"), "--to", "file://" + out + "/a.json"}, 1, "empty JWKS"},
		{"no --to", []string{"--dir", dir}, 2, "--to is required"},
		{"unknown scheme", []string{"--dir", dir, "--to", "https://cdn.example.org/jwks.json"}, 2, "scheme must be one of"},
		{"unknown query", []string{"--dir", dir, "--to", "s3://b/jwks.json?sig=x"}, 2, "unknown query parameter"},
		{"bad cache-control", []string{"--dir", dir, "--to", "file://" + out + "/b.json", "--cache-control", "a\tb"}, 2, "Cache-Control"},
		{"argument", []string{"--dir", dir, "--to", "file://" + out + "/c.json", "extra"}, 2, "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, append([]string{"jwks", "publish"}, tc.args...)...)
			if r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.Code, r.Stderr, tc.code, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("refused runs wrote %v", entries)
	}
	for kid, at := range publishedTimes(t, dir) {
		if !at.IsZero() {
			t.Fatalf("a refused run recorded a publication of %s", kid)
		}
	}
}

// TestJWKSPublishAzurite publishes to Azurite with the connection string in
// the environment, as a pipeline would, and reads the blob and its headers
// back directly from the service.
func TestJWKSPublishAzurite(t *testing.T) {
	cs := testutil.StartAzurite(t)
	azuritetest.CreateContainer(t, cs, "$web")
	dir, kids := twoKeyDir(t)
	want := runCLI(t, nil, "jwks", "--dir", dir)
	r := runCLI(t, []string{"AZURE_STORAGE_CONNECTION_STRING=" + cs}, "jwks", "publish", "--dir", dir,
		"--to", "azblob://devstoreaccount1/$web/.well-known/jwks.json", "--cache-control", "public, max-age=600")
	if r.Code != 0 {
		t.Fatalf("jwks publish: %v", r)
	}
	if strings.Contains(r.Stdout+r.Stderr, testutil.AzuriteKey) {
		t.Fatal("the output holds the account key")
	}
	b := azuritetest.Get(t, cs, "$web", ".well-known/jwks.json")
	if b.ContentType != "application/json" || b.CacheControl != "public, max-age=600" {
		t.Fatalf("blob Content-Type %q, Cache-Control %q", b.ContentType, b.CacheControl)
	}
	if !bytes.Equal(b.Body, []byte(want.Stdout)) {
		t.Fatalf("blob %q, 'pkjwt jwks' %q", b.Body, want.Stdout)
	}
	for _, kid := range kids {
		if publishedTimes(t, dir)[kid].IsZero() {
			t.Fatalf("%s has no publication time", kid)
		}
	}
	// Without credentials for the account, nothing is recorded.
	dir2, kids2 := twoKeyDir(t)
	bad := strings.Replace(cs, testutil.AzuriteKey, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=", 1)
	r = runCLI(t, []string{"AZURE_STORAGE_CONNECTION_STRING=" + bad}, "jwks", "publish", "--dir", dir2,
		"--to", "azblob://devstoreaccount1/$web/other.json")
	if r.Code != 1 || !strings.Contains(r.Stderr, "denied") {
		t.Fatalf("wrong key: %v", r)
	}
	if publishedTimes(t, dir2)[kids2[0]] != (time.Time{}) {
		t.Fatal("a failed upload recorded a publication")
	}
}
