// Package publish pushes a JWKS document to a static location — a file, an
// Azure Storage blob or an S3(-compatible) object, typically the origin of a
// CDN — and reads it back before reporting success.
//
// NHS England caches an app's JWKS for an hour and does not refetch it for an
// unknown kid, so a key may sign only an hour after the JWKS that holds it was
// published (docs/nhs-reference.md). Publish therefore refuses to publish
// anything that is not a strict, non-empty, public-only JWKS (jwks.Check),
// uploads it with Content-Type application/json and a Cache-Control header,
// then reads the object back and compares the bytes and the headers; only
// then does it return a Result whose At is the publication time a caller
// records for each kid.
//
// Destinations:
//
//	file:///abs/path/jwks.json       written atomically, mode 0644
//	file:relative/path/jwks.json
//	azblob://ACCOUNT/CONTAINER/PATH  Azure Blob Storage (?endpoint=URL)
//	s3://BUCKET/KEY                  S3 (?region=R&endpoint=URL&path-style=true)
//
// Azure credentials come from Options.AzureConnectionString, else the
// AZURE_STORAGE_CONNECTION_STRING environment variable, else
// azidentity.DefaultAzureCredential (environment, workload or managed
// identity, Azure CLI). S3 credentials come from the AWS SDK's default chain
// (environment, shared files, SSO, IMDS). The container or bucket must
// already exist; Publish never creates one.
package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/jwks"
)

// ContentType is the Content-Type every published JWKS carries.
const ContentType = "application/json"

// DefaultCacheControl is the Cache-Control header set when
// Options.CacheControl is empty: five minutes, like jwks.Handler's default.
const DefaultCacheControl = "public, max-age=300"

// MaxReadBack bounds how much of the object is read back (1 MiB, the
// largest document jwks.Check accepts).
const MaxReadBack = jwks.MaxSize

// Errors returned by Publish, wrapped with the details. Test for them with
// errors.Is; a refused document also matches jwks.ErrNotJWKS,
// jwks.ErrEmptySet or jwks.ErrNotPublic.
var (
	// ErrRefused: the document is not fit to publish; nothing was uploaded.
	ErrRefused = errors.New("publish: refused")
	// ErrDestination: the destination URL is malformed or of an unknown
	// scheme, or an option is invalid; nothing was uploaded.
	ErrDestination = errors.New("publish: bad destination")
	// ErrNotFound: the container, bucket or directory does not exist.
	ErrNotFound = errors.New("publish: destination container not found")
	// ErrDenied: the store refused the credentials.
	ErrDenied = errors.New("publish: access denied by the store")
	// ErrVerify: the object read back differs from what was uploaded (bytes,
	// Content-Type or Cache-Control). The upload is not a publication.
	ErrVerify = errors.New("publish: read-back verification failed")
)

// Options configures Publish. The zero value is ready to use.
type Options struct {
	// CacheControl is the Cache-Control header of the object; empty means
	// DefaultCacheControl. It must be printable ASCII.
	CacheControl string
	// DryRun checks the document and the destination, then stops before
	// connecting to anything: nothing is uploaded and Result.At is zero.
	DryRun bool
	// Endpoint overrides the service endpoint of azblob and s3 destinations
	// (Azurite, MinIO, a private endpoint); it wins over the URL's
	// endpoint query parameter.
	Endpoint string
	// AzureConnectionString, if set, is used for azblob destinations instead
	// of the AZURE_STORAGE_CONNECTION_STRING environment variable.
	AzureConnectionString string
	// Getenv looks up environment variables (AZURE_STORAGE_CONNECTION_STRING);
	// nil means os.Getenv. The AWS and Azure identity chains read the process
	// environment themselves.
	Getenv func(string) string
}

func (o Options) getenv(name string) string {
	if o.Getenv != nil {
		return o.Getenv(name)
	}
	return os.Getenv(name)
}

func (o Options) cacheControl() (string, error) {
	cc := o.CacheControl
	if cc == "" {
		return DefaultCacheControl, nil
	}
	if len(cc) > 256 {
		return "", fmt.Errorf("%w: Cache-Control is longer than 256 bytes", ErrDestination)
	}
	for i := 0; i < len(cc); i++ {
		if cc[i] < ' ' || cc[i] > '~' {
			return "", fmt.Errorf("%w: Cache-Control %q holds a character outside printable ASCII", ErrDestination, cc)
		}
	}
	return cc, nil
}

// Result describes a publication.
type Result struct {
	// URL is the destination, canonical: a file destination as an absolute
	// file:// URL.
	URL string
	// KIDs are the kids in the document, in document order.
	KIDs []string
	// Bytes is the size of the document.
	Bytes int
	// SHA256 is the hex SHA-256 of the document.
	SHA256 string
	// ContentType and CacheControl are the headers set on the object.
	ContentType, CacheControl string
	// Verified reports that the object was read back and matched: the bytes
	// and, where the store keeps them, the headers.
	Verified bool
	// At is when the read-back matched: the publication time of each kid.
	// Zero for a dry run.
	At time.Time
}

// Meta is the metadata stored with an object.
type Meta struct {
	ContentType  string
	CacheControl string
}

// Object is an object read back from a Store.
type Object struct {
	Body []byte
	Meta
	// HasMeta reports whether the store keeps Meta. A plain file does not:
	// the web server that serves it chooses its headers.
	HasMeta bool
}

// Store is a place a JWKS can be put and read back. Implementations bound
// what Get reads to MaxReadBack bytes.
type Store interface {
	// Put writes body under key with meta, replacing any previous object.
	Put(ctx context.Context, key string, body []byte, meta Meta) error
	// Get reads the object under key back.
	Get(ctx context.Context, key string) (Object, error)
}

// scheme is one kind of destination.
type scheme struct {
	name string
	form string
	// open parses a destination URL into a store and the key of the object
	// in it. It does no I/O: stores connect on first use.
	open func(u *url.URL, opts Options) (s Store, key, canonical string, err error)
}

// schemes is the table of destination kinds.
func schemes() []scheme {
	return []scheme{
		{"file", "file:///abs/path.json or file:relative/path.json", openFile},
		{"azblob", "azblob://ACCOUNT/CONTAINER/PATH[?endpoint=URL]", openAzure},
		{"s3", "s3://BUCKET/KEY[?region=R&endpoint=URL&path-style=true]", openS3},
	}
}

// Forms lists the destination forms Publish accepts, one per scheme.
func Forms() []string {
	var out []string
	for _, s := range schemes() {
		out = append(out, s.form)
	}
	return out
}

// Open parses a destination URL into its Store and the key of the object in
// it, without connecting to anything.
func Open(to string, opts Options) (s Store, key, canonical string, err error) {
	u, err := url.Parse(to)
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %w", ErrDestination, err)
	}
	if u.User != nil {
		return nil, "", "", fmt.Errorf("%w: credentials in the destination URL are not accepted", ErrDestination)
	}
	if u.Fragment != "" {
		return nil, "", "", fmt.Errorf("%w: %s has a fragment", ErrDestination, u.Redacted())
	}
	for _, sc := range schemes() {
		if u.Scheme == sc.name {
			return sc.open(u, opts)
		}
	}
	return nil, "", "", fmt.Errorf("%w: %q: scheme must be one of: %s", ErrDestination, u.Redacted(), strings.Join(Forms(), ", "))
}

// Publish checks body with jwks.Check, uploads it to the destination to
// with Content-Type application/json and opts' Cache-Control, reads it back
// and compares. It returns a Result only when the read-back matched (or, for
// a dry run, when the document and destination are valid). Nothing is
// uploaded when the document or the destination is refused.
func Publish(ctx context.Context, to string, body []byte, opts Options) (Result, error) {
	// Refuse the document before even parsing the destination, so that
	// nothing can be uploaded whatever the URL.
	kids, err := jwks.Check(body)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	s, key, canonical, err := Open(to, opts)
	if err != nil {
		return Result{}, err
	}
	return publish(ctx, s, key, canonical, kids, body, opts)
}

// PublishStore is Publish to an already opened Store: any object store a
// caller implements. name is what Result.URL reports.
func PublishStore(ctx context.Context, s Store, key, name string, body []byte, opts Options) (Result, error) {
	kids, err := jwks.Check(body)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return publish(ctx, s, key, name, kids, body, opts)
}

func publish(ctx context.Context, s Store, key, name string, kids []string, body []byte, opts Options) (Result, error) {
	cc, err := opts.cacheControl()
	if err != nil {
		return Result{}, err
	}
	sum := sha256.Sum256(body)
	res := Result{
		URL:          name,
		KIDs:         kids,
		Bytes:        len(body),
		SHA256:       hex.EncodeToString(sum[:]),
		ContentType:  ContentType,
		CacheControl: cc,
	}
	if opts.DryRun {
		return res, nil
	}
	meta := Meta{ContentType: ContentType, CacheControl: cc}
	if err := s.Put(ctx, key, body, meta); err != nil {
		return Result{}, fmt.Errorf("publish: upload to %s: %w", name, err)
	}
	got, err := s.Get(ctx, key)
	if err != nil {
		return Result{}, fmt.Errorf("publish: read back %s: %w", name, err)
	}
	if !bytes.Equal(got.Body, body) {
		gs := sha256.Sum256(got.Body)
		return Result{}, fmt.Errorf("%w: %s holds %d bytes (sha256 %x), uploaded %d bytes (sha256 %s)",
			ErrVerify, name, len(got.Body), gs, len(body), res.SHA256)
	}
	if got.HasMeta {
		if got.ContentType != meta.ContentType {
			return Result{}, fmt.Errorf("%w: %s has Content-Type %q, want %q", ErrVerify, name, got.ContentType, meta.ContentType)
		}
		if got.CacheControl != meta.CacheControl {
			return Result{}, fmt.Errorf("%w: %s has Cache-Control %q, want %q", ErrVerify, name, got.CacheControl, meta.CacheControl)
		}
	}
	res.Verified = true
	res.At = time.Now().UTC()
	return res, nil
}

// readBounded reads at most MaxReadBack bytes of r; a longer object is an
// ErrVerify error (it cannot be what was uploaded).
func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxReadBack+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxReadBack {
		return nil, fmt.Errorf("%w: the object is larger than %d bytes", ErrVerify, MaxReadBack)
	}
	return b, nil
}

// onlyQuery refuses query parameters outside allowed (a SAS token or a
// typo must not be silently ignored) and repeated ones.
func onlyQuery(u *url.URL, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: query: %w", ErrDestination, err)
	}
	for name, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || name == a
		}
		if !ok {
			if len(allowed) == 0 {
				return nil, fmt.Errorf("%w: %s destinations take no query parameters (got %q)", ErrDestination, u.Scheme, name)
			}
			return nil, fmt.Errorf("%w: unknown query parameter %q (allowed: %s)", ErrDestination, name, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("%w: query parameter %q given %d times", ErrDestination, name, len(vs))
		}
	}
	return q, nil
}

// endpoint returns the service endpoint override: opts.Endpoint, else the
// endpoint query parameter; "" for none. It must be an absolute http(s) URL
// without credentials.
func endpoint(q url.Values, opts Options) (string, error) {
	ep := opts.Endpoint
	if ep == "" {
		ep = q.Get("endpoint")
	}
	if ep == "" {
		return "", nil
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: endpoint %q is not an absolute http(s) URL", ErrDestination, ep)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: endpoint must carry no credentials, query or fragment", ErrDestination)
	}
	return ep, nil
}
