package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/jwks/publish"
	"github.com/pkjwt/pkjwt/keys"
)

// testSet returns a strict JWKS of n freshly generated 2048-bit keys and
// their kids.
func testSet(t testing.TB, n int) ([]byte, []string) {
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

// refusedBodies are documents Publish must never upload.
func refusedBodies(t *testing.T) []struct {
	name string
	body []byte
	want error
} {
	good, _ := testSet(t, 1)
	withD := bytes.Replace(good, []byte(`"kty":"RSA"`), []byte(`"kty":"RSA","d":"AQAB"`), 1)
	if bytes.Equal(withD, good) {
		t.Fatal("could not add d to the test set")
	}
	return []struct {
		name string
		body []byte
		want error
	}{
		{"empty set", []byte(`{"keys":[]}`), jwks.ErrEmptySet},
		{"private member d", withD, jwks.ErrNotPublic},
		{"not JSON", []byte("<html>not a jwks</html>"), jwks.ErrNotJWKS},
	}
}

func TestFileRoundTrip(t *testing.T) {
	body, kids := testSet(t, 2)
	dir := t.TempDir()
	target := filepath.Join(dir, ".well-known", "jwks.json")
	res, err := publish.Publish(context.Background(), "file://"+filepath.ToSlash(target), body, publish.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("file holds %q", got)
	}
	st, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	sum := sha256.Sum256(body)
	if !res.Verified || res.At.IsZero() || res.Bytes != len(body) || res.SHA256 != hex.EncodeToString(sum[:]) ||
		res.URL != "file://"+filepath.ToSlash(target) || strings.Join(res.KIDs, ",") != strings.Join(kids, ",") ||
		res.ContentType != "application/json" || res.CacheControl != publish.DefaultCacheControl {
		t.Fatalf("result %+v", res)
	}
	// An existing private file is replaced by a public one, and no
	// temporary file is left behind.
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Publish(context.Background(), "file://"+filepath.ToSlash(target), body, publish.Options{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o644 {
		t.Fatalf("replaced file mode %v", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(target))
	if len(entries) != 1 {
		t.Fatalf("directory holds %v", entries)
	}
}

func TestFileRelative(t *testing.T) {
	body, _ := testSet(t, 1)
	dir := t.TempDir()
	t.Chdir(dir)
	res, err := publish.Publish(context.Background(), "file:public/jwks.json", body, publish.Options{CacheControl: "no-cache"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "public", "jwks.json"))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back: %v", err)
	}
	if res.CacheControl != "no-cache" || !strings.HasPrefix(res.URL, "file:///") || !strings.HasSuffix(res.URL, "/public/jwks.json") {
		t.Fatalf("result %+v", res)
	}
}

// TestFileAtomic publishes alternating sets while readers read the file:
// with an atomic write, every read is one complete set.
func TestFileAtomic(t *testing.T) {
	a, _ := testSet(t, 1)
	b, _ := testSet(t, 3)
	target := filepath.Join(t.TempDir(), "jwks.json")
	to := "file://" + filepath.ToSlash(target)
	if _, err := publish.Publish(context.Background(), to, a, publish.Options{}); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var reads, bad atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				got, err := os.ReadFile(target)
				reads.Add(1)
				if err != nil || (!bytes.Equal(got, a) && !bytes.Equal(got, b)) {
					bad.Add(1)
				}
			}
		})
	}
	for i := range 100 {
		body := a
		if i%2 == 0 {
			body = b
		}
		if _, err := publish.Publish(context.Background(), to, body, publish.Options{}); err != nil {
			t.Error(err)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() > 0 {
		t.Fatalf("%d of %d reads saw a partial or missing file", bad.Load(), reads.Load())
	}
}

func TestFileRefusals(t *testing.T) {
	for _, tc := range refusedBodies(t) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := publish.Publish(context.Background(), "file://"+filepath.ToSlash(filepath.Join(dir, "sub", "jwks.json")), tc.body, publish.Options{})
			if !errors.Is(err, publish.ErrRefused) || !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("a refused document left %v", entries)
			}
		})
	}
}

func TestDestinations(t *testing.T) {
	body, _ := testSet(t, 1)
	cases := []struct {
		name string
		to   string
		opts publish.Options
	}{
		{"unknown scheme", "https://cdn.example.org/jwks.json", publish.Options{}},
		{"no scheme", "jwks.json", publish.Options{}},
		{"file with host", "file://server/share/jwks.json", publish.Options{}},
		{"file directory", "file:///tmp/", publish.Options{}},
		{"file query", "file:///tmp/jwks.json?x=1", publish.Options{}},
		{"azblob no container", "azblob://acct/jwks.json", publish.Options{}},
		{"azblob no blob", "azblob://acct/web/", publish.Options{}},
		{"azblob SAS in query", "azblob://acct/web/jwks.json?sig=abc", publish.Options{}},
		{"azblob endpoint and connection string", "azblob://acct/web/jwks.json?endpoint=http://127.0.0.1:1/acct",
			publish.Options{AzureConnectionString: "AccountName=acct;AccountKey=a2V5"}},
		{"s3 no key", "s3://bucket", publish.Options{}},
		{"s3 unknown parameter", "s3://bucket/jwks.json?regoin=eu-west-2", publish.Options{}},
		{"s3 repeated parameter", "s3://bucket/jwks.json?region=a&region=b", publish.Options{}},
		{"s3 bad path-style", "s3://bucket/jwks.json?path-style=maybe", publish.Options{}},
		{"s3 endpoint with credentials", "s3://bucket/jwks.json?endpoint=http://user:pw@127.0.0.1:1", publish.Options{}},
		{"s3 endpoint not http", "s3://bucket/jwks.json", publish.Options{Endpoint: "ftp://127.0.0.1"}},
		{"credentials in URL", "s3://key:secret@bucket/jwks.json", publish.Options{}},
		{"cache-control with newline", "file:///tmp/pkjwt-never/jwks.json", publish.Options{CacheControl: "public\r\nX-Evil: 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Getenv = func(string) string { return "" }
			_, err := publish.Publish(context.Background(), tc.to, body, tc.opts)
			if !errors.Is(err, publish.ErrDestination) {
				t.Fatalf("err %v, want ErrDestination", err)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "a2V5") {
				t.Fatalf("error leaks a credential: %v", err)
			}
		})
	}
	if _, err := os.Stat("/tmp/pkjwt-never"); err == nil {
		t.Fatal("a refused destination created a directory")
	}
}

func TestDryRun(t *testing.T) {
	body, kids := testSet(t, 1)
	target := filepath.Join(t.TempDir(), "jwks.json")
	for _, to := range []string{
		"file://" + filepath.ToSlash(target),
		"s3://bucket/jwks.json?region=eu-west-2",
		"azblob://acct/web/.well-known/jwks.json",
	} {
		res, err := publish.Publish(context.Background(), to, body, publish.Options{DryRun: true})
		if err != nil {
			t.Fatalf("%s: %v", to, err)
		}
		if res.Verified || !res.At.IsZero() || len(res.KIDs) != 1 || res.KIDs[0] != kids[0] || res.Bytes != len(body) {
			t.Fatalf("%s: result %+v", to, res)
		}
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("a dry run wrote the file")
	}
}

// memStore is a Store double: it records what it is given, and its Get can
// be made to lie.
type memStore struct {
	mu      sync.Mutex
	objects map[string]publish.Object
	puts    int
	tamper  func(publish.Object) publish.Object
}

func newMemStore() *memStore { return &memStore{objects: map[string]publish.Object{}} }

func (m *memStore) Put(_ context.Context, key string, body []byte, meta publish.Meta) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	m.objects[key] = publish.Object{Body: bytes.Clone(body), Meta: meta, HasMeta: true}
	return nil
}

func (m *memStore) Get(_ context.Context, key string) (publish.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok {
		return publish.Object{}, errors.New("no such object")
	}
	if m.tamper != nil {
		o = m.tamper(o)
	}
	return o, nil
}

func TestStoreDouble(t *testing.T) {
	body, _ := testSet(t, 1)
	other, _ := testSet(t, 1)
	cases := []struct {
		name   string
		tamper func(publish.Object) publish.Object
		ok     bool
	}{
		{"honest", nil, true},
		{"different bytes", func(o publish.Object) publish.Object { o.Body = other; return o }, false},
		{"truncated", func(o publish.Object) publish.Object { o.Body = o.Body[:len(o.Body)-2]; return o }, false},
		{"stale empty", func(o publish.Object) publish.Object { o.Body = []byte(`{"keys":[]}`); return o }, false},
		{"wrong content type", func(o publish.Object) publish.Object { o.ContentType = "application/octet-stream"; return o }, false},
		{"wrong cache control", func(o publish.Object) publish.Object { o.CacheControl = "max-age=86400"; return o }, false},
		{"metadata dropped", func(o publish.Object) publish.Object { o.Meta = publish.Meta{}; return o }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			s.tamper = tc.tamper
			res, err := publish.PublishStore(context.Background(), s, "jwks.json", "mem:jwks.json", body, publish.Options{})
			if tc.ok {
				if err != nil || !res.Verified {
					t.Fatalf("err %v, result %+v", err, res)
				}
				if o := s.objects["jwks.json"]; o.ContentType != "application/json" || o.CacheControl != publish.DefaultCacheControl {
					t.Fatalf("stored meta %+v", o.Meta)
				}
				return
			}
			if !errors.Is(err, publish.ErrVerify) {
				t.Fatalf("err %v, want ErrVerify", err)
			}
			if res.Verified || !res.At.IsZero() || len(res.KIDs) != 0 {
				t.Fatalf("a failed verification returned %+v", res)
			}
		})
	}
	for _, tc := range refusedBodies(t) {
		t.Run("refused "+tc.name, func(t *testing.T) {
			s := newMemStore()
			_, err := publish.PublishStore(context.Background(), s, "jwks.json", "mem:jwks.json", tc.body, publish.Options{})
			if !errors.Is(err, tc.want) || s.puts != 0 {
				t.Fatalf("err %v, %d puts", err, s.puts)
			}
		})
	}
}
