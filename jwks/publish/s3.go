package publish

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
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// s3Store puts the JWKS in an S3 bucket (a CloudFront origin, say) or an
// S3-compatible store. Keys are object keys.
type s3Store struct {
	bucket    string
	region    string // "" for the SDK's default chain
	endpoint  string // "" for AWS
	pathStyle bool

	once   sync.Once
	client *s3.Client
	err    error
}

// openS3 accepts s3://BUCKET/KEY[?region=R&endpoint=URL&path-style=true].
func openS3(u *url.URL, opts Options) (Store, string, string, error) {
	q, err := onlyQuery(u, "region", "endpoint", "path-style")
	if err != nil {
		return nil, "", "", err
	}
	ep, err := endpoint(q, opts)
	if err != nil {
		return nil, "", "", err
	}
	key := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || key == "" || strings.HasSuffix(key, "/") {
		return nil, "", "", fmt.Errorf("%w: %q: want s3://BUCKET/KEY", ErrDestination, u.Redacted())
	}
	s := &s3Store{bucket: u.Host, region: q.Get("region"), endpoint: ep}
	if v := q.Get("path-style"); v != "" {
		if s.pathStyle, err = strconv.ParseBool(v); err != nil {
			return nil, "", "", fmt.Errorf("%w: path-style=%q is not a boolean", ErrDestination, v)
		}
	}
	canonical := (&url.URL{Scheme: "s3", Host: u.Host, Path: "/" + key, RawQuery: u.RawQuery}).String()
	return s, key, canonical, nil
}

// connect loads the AWS configuration (default credential chain) once.
func (s *s3Store) connect(ctx context.Context) (*s3.Client, error) {
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
				s.err = fmt.Errorf("%w: no AWS region: add ?region=R or set AWS_REGION", ErrDestination)
				return
			}
			cfg.Region = "us-east-1" // S3-compatible stores sign with any region
		}
		s.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
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
func (s *s3Store) Put(ctx context.Context, key string, body []byte, meta Meta) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(meta.ContentType),
		CacheControl:  aws.String(meta.CacheControl),
	})
	return s3Err(err, s.bucket)
}

// Get downloads the object, at most MaxReadBack bytes, with its headers.
func (s *s3Store) Get(ctx context.Context, key string) (Object, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return Object{}, err
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return Object{}, s3Err(err, s.bucket)
	}
	defer out.Body.Close()
	b, err := readBounded(out.Body)
	if err != nil {
		return Object{}, err
	}
	return Object{Body: b, Meta: Meta{ContentType: aws.ToString(out.ContentType), CacheControl: aws.ToString(out.CacheControl)}, HasMeta: true}, nil
}

// s3Err adds ErrNotFound or ErrDenied to the service's errors.
func s3Err(err error, bucket string) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket":
			return fmt.Errorf("bucket %q: %w: %w", bucket, ErrNotFound, err)
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "ExpiredToken":
			return fmt.Errorf("%w: %w", ErrDenied, err)
		}
	}
	return err
}
