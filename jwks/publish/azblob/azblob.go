// Package azblob is the Azure Blob Storage store of [publish.Publish]: it
// puts the JWKS in a blob (the $web container of a static website, a CDN
// origin) with its Content-Type and Cache-Control, and reads it back.
//
// It talks to the service through the SDK's blockblob and blob packages
// only; the SDK's top-level azblob.Client would also link Apache Arrow for a
// query feature a JWKS never needs.
//
// Credentials come from [Options].ConnectionString, else the
// AZURE_STORAGE_CONNECTION_STRING environment variable
// ([ConnectionStringEnv]), else azidentity.DefaultAzureCredential
// (environment, workload or managed identity, Azure CLI). The container must
// already exist; nothing here creates one.
package azblob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/pkjwt/pkjwt/jwks/publish"
	"github.com/pkjwt/pkjwt/jwks/publish/internal/desturl"
)

// ConnectionStringEnv is the environment variable holding an Azure Storage
// connection string (the variable the Azure CLI and tools use).
const ConnectionStringEnv = "AZURE_STORAGE_CONNECTION_STRING"

// Options configures [Open]. The zero value is ready to use.
type Options struct {
	// Endpoint overrides the blob service URL (Azurite, a private
	// endpoint); it wins over the URL's endpoint query parameter.
	Endpoint string
	// ConnectionString, if set, is used instead of the
	// AZURE_STORAGE_CONNECTION_STRING environment variable.
	ConnectionString string
	// Getenv looks up AZURE_STORAGE_CONNECTION_STRING; nil means os.Getenv.
	// The Azure identity chain reads the process environment itself.
	Getenv func(string) string
}

// store is one storage account's container. Keys are blob names.
type store struct {
	account, container string
	endpoint           string // service URL override, "" for the account's
	connString         string // "" for DefaultAzureCredential

	once sync.Once
	cred azcore.TokenCredential // nil with a connection string
	err  error
}

// Open returns the destination dest names:
// azblob://ACCOUNT/CONTAINER/PATH[?endpoint=URL]. It reads the connection
// string but connects to nothing; errors match [publish.ErrDestination].
func Open(dest string, opts Options) (publish.Destination, error) {
	d, err := open(dest, opts)
	if err != nil {
		return publish.Destination{}, fmt.Errorf("%w: %w", publish.ErrDestination, err)
	}
	return d, nil
}

func open(dest string, opts Options) (publish.Destination, error) {
	u, err := desturl.Parse(dest, "azblob")
	if err != nil {
		return publish.Destination{}, err
	}
	q, err := desturl.Query(u, "endpoint")
	if err != nil {
		return publish.Destination{}, err
	}
	ep, err := desturl.Endpoint(q, opts.Endpoint)
	if err != nil {
		return publish.Destination{}, err
	}
	account := u.Host
	container, blobName, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if account == "" || container == "" || blobName == "" || strings.HasSuffix(blobName, "/") {
		return publish.Destination{}, fmt.Errorf("%q: want azblob://ACCOUNT/CONTAINER/PATH", u.Redacted())
	}
	cs := opts.ConnectionString
	if cs == "" {
		getenv := opts.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		cs = getenv(ConnectionStringEnv)
	}
	if cs != "" && ep != "" {
		return publish.Destination{}, fmt.Errorf("give the endpoint either in the connection string (BlobEndpoint=) or as endpoint, not both")
	}
	s := &store{account: account, container: container, endpoint: ep, connString: cs}
	canonical := (&url.URL{Scheme: "azblob", Host: account, Path: "/" + container + "/" + blobName, RawQuery: u.RawQuery}).String()
	return publish.Destination{Store: s, Key: blobName, URL: canonical}, nil
}

// client returns a client of the blob name: from the connection string,
// else with DefaultAzureCredential (made once; it needs an https endpoint).
// The name is escaped as the SDK's container client escapes it.
func (s *store) client(name string) (*blockblob.Client, error) {
	escaped := url.PathEscape(name)
	if s.connString != "" {
		c, err := blockblob.NewClientFromConnectionString(s.connString, s.container, escaped, nil)
		if err != nil {
			// The SDK's message never quotes the connection string.
			return nil, fmt.Errorf("%w: %s: %w", publish.ErrDestination, ConnectionStringEnv, err)
		}
		if !urlNamesAccount(c.URL(), s.account) {
			return nil, fmt.Errorf("%w: the connection string is not for account %q", publish.ErrDestination, s.account)
		}
		return c, nil
	}
	s.once.Do(func() {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			s.err = fmt.Errorf("%w: no Azure credential (set %s or sign in): %w", publish.ErrDenied, ConnectionStringEnv, err)
			return
		}
		s.cred = cred
	})
	if s.err != nil {
		return nil, s.err
	}
	serviceURL := s.endpoint
	if serviceURL == "" {
		serviceURL = "https://" + s.account + ".blob.core.windows.net/"
	}
	return blockblob.NewClient(runtime.JoinPaths(serviceURL, s.container, escaped), s.cred, nil)
}

// urlNamesAccount reports whether a blob URL belongs to account:
// https://ACCOUNT.blob... or an emulator's http://host/ACCOUNT/.
func urlNamesAccount(blobURL, account string) bool {
	u, err := url.Parse(blobURL)
	if err != nil {
		return false
	}
	if first, _, _ := strings.Cut(u.Hostname(), "."); strings.EqualFold(first, account) {
		return true
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return seg == account
}

// Put uploads the blob with its Content-Type and Cache-Control.
func (s *store) Put(ctx context.Context, name string, body []byte, meta publish.Meta) error {
	c, err := s.client(name)
	if err != nil {
		return err
	}
	_, err = c.UploadBuffer(ctx, body, &blockblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &meta.ContentType, BlobCacheControl: &meta.CacheControl},
	})
	return s.classify(err)
}

// Get downloads the blob with its headers.
func (s *store) Get(ctx context.Context, name string) (publish.Object, error) {
	c, err := s.client(name)
	if err != nil {
		return publish.Object{}, err
	}
	resp, err := c.DownloadStream(ctx, nil)
	if err != nil {
		return publish.Object{}, s.classify(err)
	}
	o := publish.Object{Body: resp.Body, HasMeta: true}
	if resp.ContentType != nil {
		o.ContentType = *resp.ContentType
	}
	if resp.CacheControl != nil {
		o.CacheControl = *resp.CacheControl
	}
	return o, nil
}

// classify adds publish.ErrNotFound or publish.ErrDenied to the storage
// service's errors.
func (s *store) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return fmt.Errorf("container %q: %w: %w", s.container, publish.ErrNotFound, err)
	case bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.AuthorizationFailure,
		bloberror.AuthorizationPermissionMismatch, bloberror.InsufficientAccountPermissions):
		return fmt.Errorf("%w: %w", publish.ErrDenied, err)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && (re.StatusCode == 401 || re.StatusCode == 403) {
		return fmt.Errorf("%w: %w", publish.ErrDenied, err)
	}
	return err
}
