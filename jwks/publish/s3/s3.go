// Package s3 is the Amazon S3 store of [publish.Publish]: it puts the JWKS
// in an S3 object (a CloudFront origin, say) or in an S3-compatible store,
// with its Content-Type and Cache-Control, and reads it back.
//
// Credentials and, unless the URL names one, the region come from the AWS
// SDK's default chain (environment, shared files, SSO, IMDS). The bucket
// must already exist; nothing here creates one.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/pkjwt/pkjwt/jwks/publish"
	"github.com/pkjwt/pkjwt/jwks/publish/internal/desturl"
)

// Options configures [Open]. The zero value is ready to use.
type Options struct {
	// Endpoint overrides the service endpoint (MinIO, a private
	// endpoint); it wins over the URL's endpoint query parameter.
	Endpoint string
}

// store is one bucket. Keys are object keys.
type store struct {
	bucket    string
	region    string // "" for the SDK's default chain
	endpoint  string // "" for AWS
	pathStyle bool

	once   sync.Once
	client *awss3.Client
	err    error
}

// Open returns the destination dest names:
// s3://BUCKET/KEY[?region=R&endpoint=URL&path-style=true]. It connects to
// nothing; errors match [publish.ErrDestination].
func Open(dest string, opts Options) (publish.Destination, error) {
	d, err := open(dest, opts)
	if err != nil {
		return publish.Destination{}, fmt.Errorf("%w: %w", publish.ErrDestination, err)
	}
	return d, nil
}

func open(dest string, opts Options) (publish.Destination, error) {
	u, err := desturl.Parse(dest, "s3")
	if err != nil {
		return publish.Destination{}, err
	}
	q, err := desturl.Query(u, "region", "endpoint", "path-style")
	if err != nil {
		return publish.Destination{}, err
	}
	ep, err := desturl.Endpoint(q, opts.Endpoint)
	if err != nil {
		return publish.Destination{}, err
	}
	key := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || key == "" || strings.HasSuffix(key, "/") {
		return publish.Destination{}, fmt.Errorf("%q: want s3://BUCKET/KEY", u.Redacted())
	}
	s := &store{bucket: u.Host, region: q.Get("region"), endpoint: ep}
	if v := q.Get("path-style"); v != "" {
		if s.pathStyle, err = strconv.ParseBool(v); err != nil {
			return publish.Destination{}, fmt.Errorf("path-style=%q is not a boolean", v)
		}
	}
	canonical := (&url.URL{Scheme: "s3", Host: u.Host, Path: "/" + key, RawQuery: u.RawQuery}).String()
	return publish.Destination{Store: s, Key: key, URL: canonical}, nil
}

// connect loads the AWS configuration (default credential chain) once.
func (s *store) connect(ctx context.Context) (*awss3.Client, error) {
	s.once.Do(func() {
		var lo []func(*config.LoadOptions) error
		if s.region != "" {
			lo = append(lo, config.WithRegion(s.region))
		}
		cfg, err := config.LoadDefaultConfig(ctx, lo...)
		if err != nil {
			s.err = fmt.Errorf("load AWS configuration: %w", err)
			return
		}
		if cfg.Region == "" {
			if s.endpoint == "" {
				s.err = fmt.Errorf("%w: no AWS region: add ?region=R or set AWS_REGION", publish.ErrDestination)
				return
			}
			cfg.Region = "us-east-1" // S3-compatible stores sign with any region
		}
		s.client = awss3.NewFromConfig(cfg, func(o *awss3.Options) {
			o.UsePathStyle = s.pathStyle
			if s.endpoint != "" {
				o.BaseEndpoint = aws.String(s.endpoint)
				// Many S3-compatible stores reject the flexible
				// checksums newer SDKs send by default; the read-back
				// compares every byte anyway.
				o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
				o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			}
		})
	})
	return s.client, s.err
}

// Put uploads the object with its Content-Type and Cache-Control.
func (s *store) Put(ctx context.Context, key string, body []byte, meta publish.Meta) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(meta.ContentType),
		CacheControl:  aws.String(meta.CacheControl),
	})
	return s.classify(err)
}

// Get downloads the object with its headers.
func (s *store) Get(ctx context.Context, key string) (publish.Object, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return publish.Object{}, err
	}
	out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return publish.Object{}, s.classify(err)
	}
	return publish.Object{
		Body:    out.Body,
		Meta:    publish.Meta{ContentType: aws.ToString(out.ContentType), CacheControl: aws.ToString(out.CacheControl)},
		HasMeta: true,
	}, nil
}

// classify adds publish.ErrNotFound or publish.ErrDenied to the service's
// errors.
func (s *store) classify(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket":
			return fmt.Errorf("bucket %q: %w: %w", s.bucket, publish.ErrNotFound, err)
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "ExpiredToken":
			return fmt.Errorf("%w: %w", publish.ErrDenied, err)
		}
	}
	return err
}
