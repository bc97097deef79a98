// Package azuritetest sets up and inspects Azurite containers for the tests
// of the Azure Blob store (jwks/publish/azblob and 'pkjwt jwks publish').
//
// It signs requests with an account SAS from the SDK's sas package and
// sends them with net/http, because the SDK's container and service
// clients link Apache Arrow, which the store itself avoids; a test that
// imported them would keep Arrow in the module's go.sum.
package azuritetest

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// account is what a connection string gives: the blob endpoint and an
// account SAS for it.
type account struct {
	endpoint string
	sas      string
}

func parse(t testing.TB, connString string) account {
	t.Helper()
	fields := map[string]string{}
	for _, kv := range strings.Split(connString, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			fields[k] = v
		}
	}
	cred, err := blob.NewSharedKeyCredential(fields["AccountName"], fields["AccountKey"])
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   (&sas.AccountPermissions{Read: true, Write: true, Create: true, List: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	if fields["BlobEndpoint"] == "" {
		t.Fatal("the connection string has no BlobEndpoint")
	}
	return account{endpoint: strings.TrimSuffix(fields["BlobEndpoint"], "/"), sas: qp.Encode()}
}

func do(t testing.TB, method, u string, want int) ([]byte, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s: %s", method, strings.SplitN(u, "?", 2)[0], resp.Status, b)
	}
	return b, resp.Header
}

// CreateContainer creates the container name in the Azurite account of
// connString.
func CreateContainer(t testing.TB, connString, name string) {
	t.Helper()
	a := parse(t, connString)
	do(t, http.MethodPut, a.endpoint+"/"+url.PathEscape(name)+"?restype=container&"+a.sas, http.StatusCreated)
}

// BlobNames lists the blobs of container (the first 5000).
func BlobNames(t testing.TB, connString, container string) []string {
	t.Helper()
	a := parse(t, connString)
	b, _ := do(t, http.MethodGet, a.endpoint+"/"+url.PathEscape(container)+"?restype=container&comp=list&"+a.sas, http.StatusOK)
	var list struct {
		Blobs []struct {
			Name string `xml:"Name"`
		} `xml:"Blobs>Blob"`
	}
	if err := xml.Unmarshal(b, &list); err != nil {
		t.Fatalf("list %s: %v", container, err)
	}
	var names []string
	for _, bl := range list.Blobs {
		names = append(names, bl.Name)
	}
	return names
}

// Blob is a blob's content and headers as the service returns them.
type Blob struct {
	Body                      []byte
	ContentType, CacheControl string
}

// Get reads a blob directly, as a CDN fetching its origin would (with a
// SAS, since Azurite serves anonymous reads only from public containers).
func Get(t testing.TB, connString, container, name string) Blob {
	t.Helper()
	a := parse(t, connString)
	body, h := do(t, http.MethodGet, a.endpoint+"/"+url.PathEscape(container)+"/"+url.PathEscape(name)+"?"+a.sas, http.StatusOK)
	return Blob{Body: body, ContentType: h.Get("Content-Type"), CacheControl: h.Get("Cache-Control")}
}
