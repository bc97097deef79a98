package publish_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/pkjwt/pkjwt/jwks/publish"
)

// azuriteKey is the fixed, publicly documented account key of Azurite's
// development account devstoreaccount1 (not a secret: every Azurite has it).
const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// azuriteBin finds azurite-blob: $PKJWT_AZURITE, else the copy "make deps"
// installs under ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/azurite-3.37.0,
// else $PATH.
func azuriteBin() string {
	if p := os.Getenv("PKJWT_AZURITE"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache")
		}
	}
	if cache != "" {
		p := filepath.Join(cache, "pkjwt-tools", "azurite-3.37.0", "node_modules", ".bin", "azurite-blob")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, _ := exec.LookPath("azurite-blob")
	return p
}

var listening = regexp.MustCompile(`successfully listens on (http://127\.0\.0\.1:\d+)`)

// startAzurite starts Azurite's blob service on a free loopback port, in
// memory, and returns the connection string of devstoreaccount1. Without
// Azurite the test is skipped, unless PKJWT_REQUIRE_AZURITE is set ("make
// test" sets it), in which case it fails.
func startAzurite(t *testing.T) string {
	t.Helper()
	bin := azuriteBin()
	if bin == "" {
		if os.Getenv("PKJWT_REQUIRE_AZURITE") != "" {
			t.Fatal("azurite-blob not found and PKJWT_REQUIRE_AZURITE is set: run 'make deps'")
		}
		t.Skip("azurite-blob not found (run 'make deps', or set PKJWT_AZURITE)")
	}
	work := t.TempDir()
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", "0",
		"--skipApiVersionCheck", "--inMemoryPersistence", "--extentMemoryLimit", "64",
		"--disableTelemetry", "--silent")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "TMPDIR="+work) // keeps its scratch files in the test's directory
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		cmd.Wait()
		close(exited)
	}()
	select {
	case base := <-found:
		return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=%s/devstoreaccount1;", azuriteKey, base)
	case <-exited:
		t.Fatalf("azurite exited before listening: %s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("azurite did not listen within 60s: %s", stderr.String())
	}
	return ""
}

func TestAzurite(t *testing.T) {
	cs := startAzurite(t)
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
