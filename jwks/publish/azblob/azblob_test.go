package azblob_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/internal/testutil/azuritetest"
	"github.com/pkjwt/pkjwt/jwks/publish"
	"github.com/pkjwt/pkjwt/jwks/publish/azblob"
	"github.com/pkjwt/pkjwt/jwks/publish/internal/publishtest"
)

// noEnv keeps the machine's AZURE_STORAGE_CONNECTION_STRING out of a test.
func noEnv(string) string { return "" }

// publishTo opens dest and publishes body there.
func publishTo(ctx context.Context, dest string, body []byte, o azblob.Options, po publish.Options) (publish.Result, error) {
	d, err := azblob.Open(dest, o)
	if err != nil {
		return publish.Result{}, err
	}
	return publish.Publish(ctx, d, body, po)
}

func TestAzurite(t *testing.T) {
	cs := testutil.StartAzurite(t)
	ctx := context.Background()
	azuritetest.CreateContainer(t, cs, "web")
	opts := azblob.Options{ConnectionString: cs, Getenv: noEnv}

	t.Run("round trip", func(t *testing.T) {
		body, kids := publishtest.Set(t, 2)
		res, err := publishTo(ctx, "azblob://devstoreaccount1/web/.well-known/jwks.json", body, opts, publish.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Verified || len(res.KIDs) != 2 || res.KIDs[1] != kids[1] || res.URL != "azblob://devstoreaccount1/web/.well-known/jwks.json" {
			t.Fatalf("result %+v", res)
		}
		// As a CDN fetching the origin would see it (with a SAS: Azurite
		// serves anonymous reads only from public containers).
		b := azuritetest.Get(t, cs, "web", ".well-known/jwks.json")
		if !bytes.Equal(b.Body, body) || b.ContentType != "application/json" || b.CacheControl != publish.DefaultCacheControl {
			t.Fatalf("blob: %d bytes, Content-Type %q, Cache-Control %q; want %d bytes", len(b.Body), b.ContentType, b.CacheControl, len(body))
		}
	})

	t.Run("connection string from the environment", func(t *testing.T) {
		body, _ := publishtest.Set(t, 1)
		env := func(k string) string {
			if k == azblob.ConnectionStringEnv {
				return cs
			}
			return ""
		}
		res, err := publishTo(ctx, "azblob://devstoreaccount1/web/env.json", body, azblob.Options{Getenv: env}, publish.Options{CacheControl: "public, max-age=60"})
		if err != nil || !res.Verified {
			t.Fatalf("err %v, result %+v", err, res)
		}
		if b := azuritetest.Get(t, cs, "web", "env.json"); b.CacheControl != "public, max-age=60" {
			t.Fatalf("Cache-Control %q", b.CacheControl)
		}
	})

	t.Run("missing container", func(t *testing.T) {
		body, _ := publishtest.Set(t, 1)
		_, err := publishTo(ctx, "azblob://devstoreaccount1/nope/jwks.json", body, opts, publish.Options{})
		if !errors.Is(err, publish.ErrNotFound) {
			t.Fatalf("err %v, want ErrNotFound", err)
		}
	})

	t.Run("connection string for another account", func(t *testing.T) {
		body, _ := publishtest.Set(t, 1)
		_, err := publishTo(ctx, "azblob://prodaccount/web/jwks.json", body, opts, publish.Options{})
		if !errors.Is(err, publish.ErrDestination) {
			t.Fatalf("err %v, want ErrDestination", err)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		body, _ := publishtest.Set(t, 1)
		bad := regexp.MustCompile(`AccountKey=[^;]*`).ReplaceAllString(cs, "AccountKey=d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=")
		_, err := publishTo(ctx, "azblob://devstoreaccount1/web/denied.json", body, azblob.Options{ConnectionString: bad}, publish.Options{})
		if !errors.Is(err, publish.ErrDenied) {
			t.Fatalf("err %v, want ErrDenied", err)
		}
	})

	before := azuritetest.BlobNames(t, cs, "web")
	for _, tc := range publishtest.RefusedBodies(t) {
		t.Run("refused "+tc.Name, func(t *testing.T) {
			_, err := publishTo(ctx, "azblob://devstoreaccount1/web/refused.json", tc.Body, opts, publish.Options{})
			if !errors.Is(err, tc.Want) {
				t.Fatalf("err %v, want %v", err, tc.Want)
			}
			if after := azuritetest.BlobNames(t, cs, "web"); !slices.Equal(after, before) {
				t.Fatalf("a refused document was uploaded: blobs %v, had %v", after, before)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	body, _ := publishtest.Set(t, 1)
	cases := []struct {
		name string
		to   string
		opts azblob.Options
		ok   bool
	}{
		{"valid", "azblob://acct/web/.well-known/jwks.json", azblob.Options{}, true},
		{"valid with endpoint", "azblob://acct/web/jwks.json?endpoint=http://127.0.0.1:1/acct", azblob.Options{}, true},
		{"other scheme", "s3://acct/web/jwks.json", azblob.Options{}, false},
		{"no container", "azblob://acct/jwks.json", azblob.Options{}, false},
		{"no blob", "azblob://acct/web/", azblob.Options{}, false},
		{"SAS in query", "azblob://acct/web/jwks.json?sig=abc", azblob.Options{}, false},
		{"repeated parameter", "azblob://acct/web/jwks.json?endpoint=http://a&endpoint=http://b", azblob.Options{}, false},
		{"endpoint not http", "azblob://acct/web/jwks.json", azblob.Options{Endpoint: "ftp://127.0.0.1"}, false},
		{"endpoint and connection string", "azblob://acct/web/jwks.json?endpoint=http://127.0.0.1:1/acct",
			azblob.Options{ConnectionString: "AccountName=acct;AccountKey=a2V5"}, false},
		{"credentials in URL", "azblob://key:secret@acct/web/jwks.json", azblob.Options{}, false},
		{"bad escape with credentials", "azblob://key:secret@acct/web/%zz", azblob.Options{}, false},
		{"fragment", "azblob://acct/web/jwks.json#x", azblob.Options{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Getenv = noEnv
			d, err := azblob.Open(tc.to, tc.opts)
			if !tc.ok {
				if !errors.Is(err, publish.ErrDestination) {
					t.Fatalf("err %v, want ErrDestination", err)
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "a2V5") {
					t.Fatalf("error leaks a credential: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// A dry run needs no network: nothing listens on the
			// endpoints above.
			res, err := publish.Publish(context.Background(), d, body, publish.Options{DryRun: true})
			if err != nil || res.Verified || res.URL != tc.to {
				t.Fatalf("dry run: err %v, result %+v", err, res)
			}
		})
	}
}

// TestNoArrow: the store links the SDK's blob packages, not the top-level
// client that pulls in Apache Arrow (22 packages) for a query feature.
func TestNoArrow(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob") {
		t.Fatalf("go list -deps does not list blockblob: %v", deps)
	}
	for _, d := range deps {
		if strings.Contains(d, "arrow") || d == "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob" ||
			strings.HasPrefix(d, "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container") ||
			strings.HasPrefix(d, "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service") {
			t.Errorf("the Azure Blob store links %s", d)
		}
	}
}
