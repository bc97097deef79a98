package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/pkjwt/pkjwt/jwks/publish"
	"github.com/pkjwt/pkjwt/jwks/publish/internal/publishtest"
	"github.com/pkjwt/pkjwt/jwks/publish/s3"
)

// The S3-compatible server is gofakes3, in process, behind httptest on
// 127.0.0.1: it speaks the S3 REST protocol the AWS SDK uses (path-style
// PUT/GET with Content-Type and Cache-Control kept), needs nothing installed
// and starts in microseconds. MinIO (from the module proxy) and versitygw
// would be more faithful servers but are very heavy builds for CI, and the
// point here is the SDK round trip and the headers, not S3's own semantics.
//
// gofakes3 v1.2.0 keeps Content-Type but drops Cache-Control on PUT (it
// keeps only Content-Type, Content-Disposition, Content-Encoding and X-Amz-*
// headers). With keepCC, a shim in front of it stores the Cache-Control of
// each PUT and returns it on GET and HEAD, as S3 does; without it,
// TestS3DropsCacheControl shows the read-back catching a store that loses
// the header.
func startS3(t *testing.T, keepCC bool, buckets ...string) (endpoint string, backend *s3mem.Backend) {
	t.Helper()
	backend = s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	var h http.Handler = gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	if keepCC {
		h = &keepCacheControl{next: h, cc: map[string]string{}}
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	// The default credential chain reads the environment; keep it away
	// from any real AWS configuration of the machine.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPKJWTTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "pkjwt-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "")
	return srv.URL, backend
}

// keepCacheControl stores the Cache-Control of each successful object PUT
// and serves it on GET and HEAD of the same path.
type keepCacheControl struct {
	next http.Handler
	mu   sync.Mutex
	cc   map[string]string
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (k *keepCacheControl) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPut:
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		k.next.ServeHTTP(sw, r)
		if sw.code == http.StatusOK && !r.URL.Query().Has("uploadId") {
			k.mu.Lock()
			k.cc[r.URL.Path] = r.Header.Get("Cache-Control")
			k.mu.Unlock()
		}
		return
	case http.MethodGet, http.MethodHead:
		k.mu.Lock()
		cc, ok := k.cc[r.URL.Path]
		k.mu.Unlock()
		if ok && cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
	}
	k.next.ServeHTTP(w, r)
}

// objectCount lists the bucket through the backend, not through the code
// under test.
func objectCount(t *testing.T, b *s3mem.Backend, bucket string) int {
	t.Helper()
	list, err := b.ListBucket(bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Contents)
}

func TestS3RoundTrip(t *testing.T) {
	endpoint, backend := startS3(t, true, "jwks-origin")
	body, kids := publishtest.Set(t, 2)
	to := "s3://jwks-origin/.well-known/jwks.json?region=eu-west-2&path-style=true&endpoint=" + url.QueryEscape(endpoint)
	res, err := publishTo(context.Background(), to, body, s3.Options{}, publish.Options{CacheControl: "public, max-age=600"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified || len(res.KIDs) != 2 || res.KIDs[0] != kids[0] || res.CacheControl != "public, max-age=600" {
		t.Fatalf("result %+v", res)
	}

	// Read it back with an independent client: the object's headers.
	c := awss3.New(awss3.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAPKJWTTEST", "pkjwt-test-secret", ""),
	})
	head, err := c.HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: aws.String("jwks-origin"), Key: aws.String(".well-known/jwks.json")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "application/json" || aws.ToString(head.CacheControl) != "public, max-age=600" || aws.ToInt64(head.ContentLength) != int64(len(body)) {
		t.Fatalf("object headers: Content-Type %q, Cache-Control %q, length %d",
			aws.ToString(head.ContentType), aws.ToString(head.CacheControl), aws.ToInt64(head.ContentLength))
	}
	// And as a CDN would fetch it: a plain GET.
	resp, err := http.Get(endpoint + "/jwks-origin/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "public, max-age=600" {
		t.Fatalf("GET: %d %v %q", resp.StatusCode, resp.Header, got)
	}
	if n := objectCount(t, backend, "jwks-origin"); n != 1 {
		t.Fatalf("%d objects in the bucket", n)
	}
}

func TestS3Errors(t *testing.T) {
	endpoint, backend := startS3(t, true, "jwks-origin")
	body, _ := publishtest.Set(t, 1)
	// The endpoint given as an option, not in the URL.
	opts := s3.Options{Endpoint: endpoint}
	_, err := publishTo(context.Background(), "s3://no-such-bucket/jwks.json?path-style=true", body, opts, publish.Options{})
	if !errors.Is(err, publish.ErrNotFound) {
		t.Fatalf("missing bucket: %v", err)
	}
	for _, tc := range publishtest.RefusedBodies(t) {
		t.Run("refused "+tc.Name, func(t *testing.T) {
			_, err := publishTo(context.Background(), "s3://jwks-origin/jwks.json?path-style=true", tc.Body, opts, publish.Options{})
			if !errors.Is(err, tc.Want) {
				t.Fatalf("err %v, want %v", err, tc.Want)
			}
			if n := objectCount(t, backend, "jwks-origin"); n != 0 {
				t.Fatalf("a refused document was uploaded: %d objects", n)
			}
		})
	}
}

// TestS3DropsCacheControl publishes to gofakes3 as it is, which loses the
// Cache-Control header: the read-back must turn that into an error.
func TestS3DropsCacheControl(t *testing.T) {
	endpoint, _ := startS3(t, false, "jwks-origin")
	body, _ := publishtest.Set(t, 1)
	res, err := publishTo(context.Background(), "s3://jwks-origin/jwks.json?path-style=true", body, s3.Options{Endpoint: endpoint}, publish.Options{})
	if !errors.Is(err, publish.ErrVerify) || res.Verified {
		t.Fatalf("err %v, result %+v; want ErrVerify", err, res)
	}
}

// publishTo opens dest and publishes body there.
func publishTo(ctx context.Context, dest string, body []byte, o s3.Options, po publish.Options) (publish.Result, error) {
	d, err := s3.Open(dest, o)
	if err != nil {
		return publish.Result{}, err
	}
	return publish.Publish(ctx, d, body, po)
}

func TestOpen(t *testing.T) {
	body, _ := publishtest.Set(t, 1)
	cases := []struct {
		name string
		to   string
		opts s3.Options
		ok   bool
	}{
		{"valid", "s3://bucket/.well-known/jwks.json?region=eu-west-2", s3.Options{}, true},
		{"valid S3-compatible", "s3://bucket/jwks.json?endpoint=http://127.0.0.1:1&path-style=true", s3.Options{}, true},
		{"other scheme", "azblob://bucket/web/jwks.json", s3.Options{}, false},
		{"no key", "s3://bucket", s3.Options{}, false},
		{"directory key", "s3://bucket/dir/", s3.Options{}, false},
		{"unknown parameter", "s3://bucket/jwks.json?regoin=eu-west-2", s3.Options{}, false},
		{"repeated parameter", "s3://bucket/jwks.json?region=a&region=b", s3.Options{}, false},
		{"bad path-style", "s3://bucket/jwks.json?path-style=maybe", s3.Options{}, false},
		{"endpoint with credentials", "s3://bucket/jwks.json?endpoint=http://user:secret@127.0.0.1:1", s3.Options{}, false},
		{"endpoint not http", "s3://bucket/jwks.json", s3.Options{Endpoint: "ftp://127.0.0.1"}, false},
		{"credentials in URL", "s3://key:secret@bucket/jwks.json", s3.Options{}, false},
		{"fragment", "s3://bucket/jwks.json#x", s3.Options{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := s3.Open(tc.to, tc.opts)
			if !tc.ok {
				if !errors.Is(err, publish.ErrDestination) {
					t.Fatalf("err %v, want ErrDestination", err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error leaks a credential: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// A dry run needs no network and no AWS configuration.
			res, err := publish.Publish(context.Background(), d, body, publish.Options{DryRun: true})
			if err != nil || res.Verified || res.URL != tc.to {
				t.Fatalf("dry run: err %v, result %+v", err, res)
			}
		})
	}
}
