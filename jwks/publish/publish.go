// Package publish pushes a JWKS document to a static location — a file, an
// Azure Storage blob or an S3(-compatible) object, typically the origin of a
// CDN — and reads it back before reporting success.
//
// NHS England caches an app's JWKS for an hour and does not refetch it for an
// unknown kid, so a key may sign only an hour after the JWKS that holds it was
// published (docs/nhs-reference.md). [Publish] therefore refuses to publish
// anything that is not a strict, non-empty, public-only JWKS ([jwks.Check]),
// uploads it with Content-Type application/json and a Cache-Control header,
// then reads the object back and compares the bytes and the headers; only
// then does it return a [Result] whose At is the publication time a caller
// records for each kid.
//
// A [Destination] is a [Store] and the key of the object in it. This
// package holds the file store ([OpenFile]); each cloud store lives in a
// package of its own, so that a program links only the SDK it uses:
//
//	file:///abs/path/jwks.json       OpenFile, written atomically, mode 0644
//	file:relative/path/jwks.json
//	azblob://ACCOUNT/CONTAINER/PATH  package jwks/publish/azblob
//	s3://BUCKET/KEY                  package jwks/publish/s3
//
// Any other object store can implement [Store].
package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pkjwt/pkjwt/internal/httpx"
	"github.com/pkjwt/pkjwt/jwks"
)

// ContentType is the Content-Type every published JWKS carries.
const ContentType = "application/json"

// DefaultCacheControl is the Cache-Control header set when
// [Options].CacheControl is empty: five minutes, like [jwks.Handler]'s
// default.
const DefaultCacheControl = "public, max-age=300"

// MaxReadBack bounds how much of the object is read back (1 MiB, the
// largest document [jwks.Check] accepts).
const MaxReadBack = jwks.MaxSize

// Errors returned by [Publish] and the stores, wrapped with the details.
// Test for them with errors.Is; a refused document also matches
// [jwks.ErrNotJWKS], [jwks.ErrEmptySet] or [jwks.ErrNotPublic].
var (
	// ErrRefused: the document is not fit to publish; nothing was uploaded.
	ErrRefused = errors.New("publish: refused")
	// ErrDestination: the destination URL is malformed or of another
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

// Options configures [Publish]. The zero value is ready to use.
type Options struct {
	// CacheControl is the Cache-Control header of the object; empty means
	// [DefaultCacheControl]. It must be printable ASCII.
	CacheControl string
	// DryRun checks the document and the options, then stops before the
	// store is used: nothing is uploaded and Result.At is zero.
	DryRun bool
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
	// URL is the destination's canonical URL (Destination.URL).
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

// Object is an object read back from a [Store].
type Object struct {
	// Body is the object's content. [Publish] reads at most [MaxReadBack]
	// bytes of it and closes it.
	Body io.ReadCloser
	Meta
	// HasMeta reports whether the store keeps Meta. A plain file does not:
	// the web server that serves it chooses its headers.
	HasMeta bool
}

// Store is a place a JWKS can be put and read back: a directory, a blob
// container, a bucket.
type Store interface {
	// Put writes body under key with meta, replacing any previous object.
	Put(ctx context.Context, key string, body []byte, meta Meta) error
	// Get opens the object under key for reading back.
	Get(ctx context.Context, key string) (Object, error)
}

// Destination is where [Publish] puts a document: the object Key in Store.
// [OpenFile] and the Open functions of the store packages make one from a
// URL without connecting to anything.
type Destination struct {
	Store Store
	Key   string
	// URL names the object in results and errors; it holds no credential.
	URL string
}

// Publish checks body with [jwks.Check], puts it in to with Content-Type
// application/json and opts' Cache-Control, reads it back and compares. It
// returns a [Result] only when the read-back matched (or, for a dry run,
// when the document and the options are valid). Nothing is uploaded when
// the document or an option is refused.
func Publish(ctx context.Context, to Destination, body []byte, opts Options) (Result, error) {
	kids, err := jwks.Check(body)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	cc, err := opts.cacheControl()
	if err != nil {
		return Result{}, err
	}
	if to.Store == nil || to.Key == "" {
		return Result{}, fmt.Errorf("%w: no store or no key", ErrDestination)
	}
	name := to.URL
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
	if err := to.Store.Put(ctx, to.Key, body, meta); err != nil {
		return Result{}, fmt.Errorf("publish: upload to %s: %w", name, err)
	}
	gotBody, got, err := readBack(ctx, to)
	if err != nil {
		return Result{}, fmt.Errorf("publish: read back %s: %w", name, err)
	}
	if !bytes.Equal(gotBody, body) {
		gs := sha256.Sum256(gotBody)
		return Result{}, fmt.Errorf("%w: %s holds %d bytes (sha256 %x), uploaded %d bytes (sha256 %s)",
			ErrVerify, name, len(gotBody), gs, len(body), res.SHA256)
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

// readBack gets the object and reads at most MaxReadBack bytes of it; a
// longer object is an ErrVerify error (it cannot be what was uploaded).
func readBack(ctx context.Context, to Destination) ([]byte, Object, error) {
	o, err := to.Store.Get(ctx, to.Key)
	if err != nil {
		return nil, Object{}, err
	}
	if o.Body == nil {
		return nil, Object{}, fmt.Errorf("%w: the store returned no body", ErrVerify)
	}
	defer o.Body.Close()
	b, err := httpx.ReadBounded(o.Body, MaxReadBack)
	if errors.Is(err, httpx.ErrTooLarge) {
		return nil, Object{}, fmt.Errorf("%w: the object is larger than %d bytes", ErrVerify, MaxReadBack)
	}
	if err != nil {
		return nil, Object{}, err
	}
	return b, o, nil
}
