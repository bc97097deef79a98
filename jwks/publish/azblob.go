package publish

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// AzureConnectionStringEnv is the environment variable holding an Azure
// Storage connection string (the variable the Azure CLI and tools use).
const AzureConnectionStringEnv = "AZURE_STORAGE_CONNECTION_STRING"

// azureStore puts the JWKS in an Azure Storage blob container (for example
// the $web container of a static website, or a CDN origin). Keys are blob
// names.
type azureStore struct {
	account, container string
	endpoint           string // service URL override, "" for the account's
	connString         string // "" for DefaultAzureCredential

	once   sync.Once
	client *azblob.Client
	err    error
}

// openAzure accepts azblob://ACCOUNT/CONTAINER/PATH[?endpoint=URL].
func openAzure(u *url.URL, opts Options) (Store, string, string, error) {
	q, err := onlyQuery(u, "endpoint")
	if err != nil {
		return nil, "", "", err
	}
	ep, err := endpoint(q, opts)
	if err != nil {
		return nil, "", "", err
	}
	account := u.Host
	container, blobName, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if account == "" || container == "" || blobName == "" || strings.HasSuffix(blobName, "/") {
		return nil, "", "", fmt.Errorf("%w: %q: want azblob://ACCOUNT/CONTAINER/PATH", ErrDestination, u.Redacted())
	}
	cs := opts.AzureConnectionString
	if cs == "" {
		cs = opts.getenv(AzureConnectionStringEnv)
	}
	if cs != "" && ep != "" {
		return nil, "", "", fmt.Errorf("%w: give the endpoint either in the connection string (BlobEndpoint=) or as endpoint, not both", ErrDestination)
	}
	s := &azureStore{account: account, container: container, endpoint: ep, connString: cs}
	canonical := (&url.URL{Scheme: "azblob", Host: account, Path: "/" + container + "/" + blobName, RawQuery: u.RawQuery}).String()
	return s, blobName, canonical, nil
}

// connect makes the client once: from the connection string, else with
// DefaultAzureCredential (which needs an https endpoint).
func (s *azureStore) connect() (*azblob.Client, error) {
	s.once.Do(func() {
		if s.connString != "" {
			c, err := azblob.NewClientFromConnectionString(s.connString, nil)
			if err != nil {
				// The SDK's message never quotes the connection string.
				s.err = fmt.Errorf("%w: %s: %w", ErrDestination, AzureConnectionStringEnv, err)
				return
			}
			if !serviceURLNamesAccount(c.URL(), s.account) {
				s.err = fmt.Errorf("%w: the connection string is for %s, not account %q", ErrDestination, c.URL(), s.account)
				return
			}
			s.client = c
			return
		}
		serviceURL := s.endpoint
		if serviceURL == "" {
			serviceURL = "https://" + s.account + ".blob.core.windows.net/"
		}
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			s.err = fmt.Errorf("%w: no Azure credential (set %s or sign in): %w", ErrDenied, AzureConnectionStringEnv, err)
			return
		}
		s.client, s.err = azblob.NewClient(serviceURL, cred, nil)
	})
	return s.client, s.err
}

// serviceURLNamesAccount reports whether a blob service URL belongs to
// account: https://ACCOUNT.blob... or an emulator's http://host/ACCOUNT/.
func serviceURLNamesAccount(serviceURL, account string) bool {
	u, err := url.Parse(serviceURL)
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
func (s *azureStore) Put(ctx context.Context, name string, body []byte, meta Meta) error {
	c, err := s.connect()
	if err != nil {
		return err
	}
	_, err = c.UploadBuffer(ctx, s.container, name, body, &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &meta.ContentType, BlobCacheControl: &meta.CacheControl},
	})
	return azureErr(err, s.container)
}

// Get downloads the blob, at most MaxReadBack bytes, with its headers.
func (s *azureStore) Get(ctx context.Context, name string) (Object, error) {
	c, err := s.connect()
	if err != nil {
		return Object{}, err
	}
	resp, err := c.DownloadStream(ctx, s.container, name, nil)
	if err != nil {
		return Object{}, azureErr(err, s.container)
	}
	defer resp.Body.Close()
	b, err := readBounded(resp.Body)
	if err != nil {
		return Object{}, err
	}
	o := Object{Body: b, HasMeta: true}
	if resp.ContentType != nil {
		o.ContentType = *resp.ContentType
	}
	if resp.CacheControl != nil {
		o.CacheControl = *resp.CacheControl
	}
	return o, nil
}

// azureErr adds ErrNotFound or ErrDenied to the storage service's errors.
func azureErr(err error, container string) error {
	switch {
	case err == nil:
		return nil
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return fmt.Errorf("container %q: %w: %w", container, ErrNotFound, err)
	case bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.AuthorizationFailure,
		bloberror.AuthorizationPermissionMismatch, bloberror.InsufficientAccountPermissions):
		return fmt.Errorf("%w: %w", ErrDenied, err)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && (re.StatusCode == 401 || re.StatusCode == 403) {
		return fmt.Errorf("%w: %w", ErrDenied, err)
	}
	return err
}
