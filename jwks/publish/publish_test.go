package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pkjwt/pkjwt/jwks/publish"
	"github.com/pkjwt/pkjwt/jwks/publish/internal/publishtest"
)

// publishFile opens the file destination to and publishes body there.
func publishFile(to string, body []byte, opts publish.Options) (publish.Result, error) {
	d, err := publish.OpenFile(to)
	if err != nil {
		return publish.Result{}, err
	}
	return publish.Publish(context.Background(), d, body, opts)
}

func TestFileRoundTrip(t *testing.T) {
	body, kids := publishtest.Set(t, 2)
	dir := t.TempDir()
	target := filepath.Join(dir, ".well-known", "jwks.json")
	res, err := publishFile("file://"+filepath.ToSlash(target), body, publish.Options{})
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
	if _, err := publishFile("file://"+filepath.ToSlash(target), body, publish.Options{}); err != nil {
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
	body, _ := publishtest.Set(t, 1)
	dir := t.TempDir()
	t.Chdir(dir)
	res, err := publishFile("file:public/jwks.json", body, publish.Options{CacheControl: "no-cache"})
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
	a, _ := publishtest.Set(t, 1)
	b, _ := publishtest.Set(t, 3)
	target := filepath.Join(t.TempDir(), "jwks.json")
	to := "file://" + filepath.ToSlash(target)
	if _, err := publishFile(to, a, publish.Options{}); err != nil {
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
		if _, err := publishFile(to, body, publish.Options{}); err != nil {
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
	for _, tc := range publishtest.RefusedBodies(t) {
		t.Run(tc.Name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := publishFile("file://"+filepath.ToSlash(filepath.Join(dir, "sub", "jwks.json")), tc.Body, publish.Options{})
			if !errors.Is(err, publish.ErrRefused) || !errors.Is(err, tc.Want) {
				t.Fatalf("err %v, want %v", err, tc.Want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("a refused document left %v", entries)
			}
		})
	}
}

func TestDestinations(t *testing.T) {
	body, _ := publishtest.Set(t, 1)
	cases := []struct {
		name string
		to   string
		opts publish.Options
	}{
		{"other scheme", "https://cdn.example.org/jwks.json", publish.Options{}},
		{"no scheme", "jwks.json", publish.Options{}},
		{"file with host", "file://server/share/jwks.json", publish.Options{}},
		{"file directory", "file:///tmp/", publish.Options{}},
		{"file query", "file:///tmp/jwks.json?x=1", publish.Options{}},
		{"file fragment", "file:///tmp/pkjwt-never/jwks.json#x", publish.Options{}},
		{"credentials in URL", "file://user:secret@localhost/tmp/pkjwt-never/jwks.json", publish.Options{}},
		{"cache-control with newline", "file:///tmp/pkjwt-never/jwks.json", publish.Options{CacheControl: "public\r\nX-Evil: 1"}},
		{"cache-control too long", "file:///tmp/pkjwt-never/jwks.json", publish.Options{CacheControl: strings.Repeat("a", 257)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := publishFile(tc.to, body, tc.opts)
			if !errors.Is(err, publish.ErrDestination) {
				t.Fatalf("err %v, want ErrDestination", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error leaks a credential: %v", err)
			}
		})
	}
	if _, err := os.Stat("/tmp/pkjwt-never"); err == nil {
		t.Fatal("a refused destination created a directory")
	}
	if _, err := publish.Publish(context.Background(), publish.Destination{URL: "mem:"}, body, publish.Options{}); !errors.Is(err, publish.ErrDestination) {
		t.Fatalf("no store: err %v, want ErrDestination", err)
	}
}

func TestDryRun(t *testing.T) {
	body, kids := publishtest.Set(t, 1)
	target := filepath.Join(t.TempDir(), "jwks.json")
	file, err := publish.OpenFile("file://" + filepath.ToSlash(target))
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemStore()
	for _, d := range []publish.Destination{file, {Store: mem, Key: "jwks.json", URL: "mem:jwks.json"}} {
		res, err := publish.Publish(context.Background(), d, body, publish.Options{DryRun: true})
		if err != nil {
			t.Fatalf("%s: %v", d.URL, err)
		}
		if res.Verified || !res.At.IsZero() || len(res.KIDs) != 1 || res.KIDs[0] != kids[0] || res.Bytes != len(body) || res.URL != d.URL {
			t.Fatalf("%s: result %+v", d.URL, res)
		}
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("a dry run wrote the file")
	}
	if mem.puts != 0 {
		t.Fatalf("a dry run put %d objects", mem.puts)
	}
}

// memObject is an object in a memStore.
type memObject struct {
	body    []byte
	meta    publish.Meta
	hasMeta bool
}

// memStore is a Store double: it records what it is given, and its Get can
// be made to lie.
type memStore struct {
	mu      sync.Mutex
	objects map[string]memObject
	puts    int
	tamper  func(memObject) memObject
}

func newMemStore() *memStore { return &memStore{objects: map[string]memObject{}} }

func (m *memStore) Put(_ context.Context, key string, body []byte, meta publish.Meta) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	m.objects[key] = memObject{body: bytes.Clone(body), meta: meta, hasMeta: true}
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
	return publish.Object{Body: io.NopCloser(bytes.NewReader(o.body)), Meta: o.meta, HasMeta: o.hasMeta}, nil
}

func TestStoreDouble(t *testing.T) {
	body, _ := publishtest.Set(t, 1)
	other, _ := publishtest.Set(t, 1)
	cases := []struct {
		name   string
		tamper func(memObject) memObject
		ok     bool
	}{
		{"honest", nil, true},
		{"different bytes", func(o memObject) memObject { o.body = other; return o }, false},
		{"truncated", func(o memObject) memObject { o.body = o.body[:len(o.body)-2]; return o }, false},
		{"stale empty", func(o memObject) memObject { o.body = []byte(`{"keys":[]}`); return o }, false},
		{"wrong content type", func(o memObject) memObject { o.meta.ContentType = "application/octet-stream"; return o }, false},
		{"wrong cache control", func(o memObject) memObject { o.meta.CacheControl = "max-age=86400"; return o }, false},
		{"metadata dropped", func(o memObject) memObject { o.meta = publish.Meta{}; return o }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			s.tamper = tc.tamper
			res, err := publish.Publish(context.Background(), publish.Destination{Store: s, Key: "jwks.json", URL: "mem:jwks.json"}, body, publish.Options{})
			if tc.ok {
				if err != nil || !res.Verified {
					t.Fatalf("err %v, result %+v", err, res)
				}
				if o := s.objects["jwks.json"]; o.meta.ContentType != "application/json" || o.meta.CacheControl != publish.DefaultCacheControl {
					t.Fatalf("stored meta %+v", o.meta)
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
	for _, tc := range publishtest.RefusedBodies(t) {
		t.Run("refused "+tc.Name, func(t *testing.T) {
			s := newMemStore()
			_, err := publish.Publish(context.Background(), publish.Destination{Store: s, Key: "jwks.json", URL: "mem:jwks.json"}, tc.Body, publish.Options{})
			if !errors.Is(err, tc.Want) || !errors.Is(err, publish.ErrRefused) || s.puts != 0 {
				t.Fatalf("err %v, %d puts", err, s.puts)
			}
		})
	}
}

// endless is an object body that never ends, counting what is read of it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.n += int64(len(p))
	return len(p), nil
}

func (e *endless) Close() error { return nil }

// endlessStore accepts any Put and reads back an endless body.
type endlessStore struct{ body *endless }

func (endlessStore) Put(context.Context, string, []byte, publish.Meta) error { return nil }

func (s endlessStore) Get(context.Context, string) (publish.Object, error) {
	return publish.Object{Body: s.body}, nil
}

// TestReadBackBound: an object that never ends is read only to MaxReadBack
// and is not a publication.
func TestReadBackBound(t *testing.T) {
	body, _ := publishtest.Set(t, 1)
	s := endlessStore{body: &endless{}}
	res, err := publish.Publish(context.Background(), publish.Destination{Store: s, Key: "k", URL: "endless:"}, body, publish.Options{})
	if !errors.Is(err, publish.ErrVerify) || res.Verified {
		t.Fatalf("err %v, result %+v; want ErrVerify", err, res)
	}
	if s.body.n > publish.MaxReadBack+64<<10 {
		t.Fatalf("read %d bytes of the object, bound %d", s.body.n, publish.MaxReadBack)
	}
}
