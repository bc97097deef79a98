package publish_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/jwks/publish"
)

func TestAzurite(t *testing.T) {
	cs := testutil.StartAzurite(t)
	ctx := context.Background()
	// An independent client, to set up the container and check the blob.
	c, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateContainer(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	blobCount := func(t *testing.T) int {
		t.Helper()
		n := 0
		pager := c.NewListBlobsFlatPager("web", nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Segment.BlobItems)
		}
		return n
	}
	opts := publish.Options{AzureConnectionString: cs, Getenv: func(string) string { return "" }}

	t.Run("round trip", func(t *testing.T) {
		body, kids := testSet(t, 2)
		res, err := publish.Publish(ctx, "azblob://devstoreaccount1/web/.well-known/jwks.json", body, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Verified || len(res.KIDs) != 2 || res.KIDs[1] != kids[1] {
			t.Fatalf("result %+v", res)
		}
		props, err := c.ServiceClient().NewContainerClient("web").NewBlobClient(".well-known/jwks.json").GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ct, cc := deref(props.ContentType), deref(props.CacheControl); ct != "application/json" || cc != publish.DefaultCacheControl {
			t.Fatalf("blob properties: Content-Type %q, Cache-Control %q", ct, cc)
		}
		if props.ContentLength == nil || *props.ContentLength != int64(len(body)) {
			t.Fatalf("blob length %v, want %d", props.ContentLength, len(body))
		}
		// As a CDN fetching the origin would see it. Azurite serves
		// anonymous reads only from public containers, so this GET goes
		// through the SDK's authenticated download.
		dl, err := c.DownloadStream(ctx, "web", ".well-known/jwks.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(dl.Body)
		dl.Body.Close()
		if !bytes.Equal(got, body) {
			t.Fatalf("blob holds %q", got)
		}
	})

	t.Run("connection string from the environment", func(t *testing.T) {
		body, _ := testSet(t, 1)
		env := func(k string) string {
			if k == publish.AzureConnectionStringEnv {
				return cs
			}
			return ""
		}
		res, err := publish.Publish(ctx, "azblob://devstoreaccount1/web/env.json", body, publish.Options{Getenv: env, CacheControl: "public, max-age=60"})
		if err != nil || !res.Verified {
			t.Fatalf("err %v, result %+v", err, res)
		}
		props, err := c.ServiceClient().NewContainerClient("web").NewBlobClient("env.json").GetProperties(ctx, nil)
		if err != nil || deref(props.CacheControl) != "public, max-age=60" {
			t.Fatalf("err %v, Cache-Control %q", err, deref(props.CacheControl))
		}
	})

	t.Run("missing container", func(t *testing.T) {
		body, _ := testSet(t, 1)
		_, err := publish.Publish(ctx, "azblob://devstoreaccount1/nope/jwks.json", body, opts)
		if !errors.Is(err, publish.ErrNotFound) {
			t.Fatalf("err %v, want ErrNotFound", err)
		}
	})

	t.Run("connection string for another account", func(t *testing.T) {
		body, _ := testSet(t, 1)
		_, err := publish.Publish(ctx, "azblob://prodaccount/web/jwks.json", body, opts)
		if !errors.Is(err, publish.ErrDestination) {
			t.Fatalf("err %v, want ErrDestination", err)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		body, _ := testSet(t, 1)
		bad := regexp.MustCompile(`AccountKey=[^;]*`).ReplaceAllString(cs, "AccountKey=d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=")
		_, err := publish.Publish(ctx, "azblob://devstoreaccount1/web/denied.json", body, publish.Options{AzureConnectionString: bad})
		if !errors.Is(err, publish.ErrDenied) {
			t.Fatalf("err %v, want ErrDenied", err)
		}
	})

	before := blobCount(t)
	for _, tc := range refusedBodies(t) {
		t.Run("refused "+tc.name, func(t *testing.T) {
			_, err := publish.Publish(ctx, "azblob://devstoreaccount1/web/refused.json", tc.body, opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if n := blobCount(t); n != before {
				t.Fatalf("a refused document was uploaded: %d blobs, had %d", n, before)
			}
		})
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
