package awskms

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/pkjwt/pkjwt/internal/httpx"
	"github.com/pkjwt/pkjwt/keys"
)

// Defaults of a Backend.
const (
	// defaultSignTimeout bounds one Sign, retries included.
	defaultSignTimeout = 10 * time.Second
	// defaultOpenTimeout bounds Open and Create when their context has no
	// deadline of its own.
	defaultOpenTimeout = 30 * time.Second
	// defaultMaxAttempts is how many times one KMS call is tried in all
	// (the first try and up to two retries, by the AWS SDK's retryer).
	defaultMaxAttempts = 3
	// maxRetryBackoff bounds the SDK's wait between two tries.
	maxRetryBackoff = 2 * time.Second
	// maxResponse bounds a KMS response body read by a client this package
	// builds. KMS answers are a few KiB.
	maxResponse = 1 << 20
)

// Backend opens and creates signing keys held in AWS KMS. It implements
// [keys.Backend] for references of the "awskms" scheme. The zero value is
// ready to use, with the defaults; [New] sets options. A Backend is safe
// for concurrent use.
type Backend struct {
	cfg         *aws.Config
	client      *kms.Client
	signTimeout time.Duration
	maxAttempts int
	description string
	tags        map[string]string
}

var _ keys.Backend = (*Backend)(nil)

// Option configures a Backend.
type Option func(*Backend)

// New returns a Backend with opts applied.
func New(opts ...Option) *Backend {
	b := &Backend{}
	for _, o := range opts {
		o(b)
	}
	return b
}

// WithConfig makes the backend build its KMS clients from cfg (credentials,
// HTTP client, retryer, region) instead of the AWS SDK's default chain
// (config.LoadDefaultConfig: environment, shared files, SSO, web identity,
// container and instance roles). A reference's region and endpoint still
// override cfg's.
func WithConfig(cfg aws.Config) Option {
	return func(b *Backend) { c := cfg.Copy(); b.cfg = &c }
}

// WithClient makes the backend use client for every key. A reference's
// region and endpoint, when given, are applied to each call.
func WithClient(client *kms.Client) Option {
	return func(b *Backend) { b.client = client }
}

// WithSignTimeout sets the deadline of one Sign, retries included (default
// 10 s). crypto.Signer's Sign takes no context, so this deadline is what
// bounds it; SignContext applies it too when its context's deadline is
// later. d <= 0 keeps the default.
func WithSignTimeout(d time.Duration) Option {
	return func(b *Backend) { b.signTimeout = d }
}

// WithMaxAttempts sets how many times the AWS SDK tries one KMS call in all,
// retrying throttling and transient errors with a bounded backoff (default
// 3; 1 means no retry). n <= 0 keeps the default. A sign
// that still fails is an error: nothing signs in its place.
func WithMaxAttempts(n int) Option {
	return func(b *Backend) { b.maxAttempts = n }
}

// WithDescription sets the description of the keys [Backend.Create] makes (default
// "pkjwt client assertion signing key (ALG)").
func WithDescription(s string) Option {
	return func(b *Backend) { b.description = s }
}

// WithTags adds tags to the keys [Backend.Create] makes, beside pkjwt's own
// "pkjwt:created" (RFC 3339 time) and "pkjwt:alg".
func WithTags(tags map[string]string) Option {
	return func(b *Backend) { b.tags = maps.Clone(tags) }
}

func (b *Backend) attempts() int {
	if b.maxAttempts > 0 {
		return b.maxAttempts
	}
	return defaultMaxAttempts
}

func (b *Backend) timeout() time.Duration {
	if b.signTimeout > 0 {
		return b.signTimeout
	}
	return defaultSignTimeout
}

// Scheme returns "awskms" ([Scheme]).
func (b *Backend) Scheme() string { return Scheme }

// Open returns a signer for the KMS key ref names (see the package
// documentation for the reference forms). It fetches the public key once,
// with GetPublicKey, and checks that the key's usage is SIGN_VERIFY and
// that it is RSA of at least [keys.MinRSABits] bits or EC P-256/P-384. The
// signer is also a [keys.ContextSigner]. A reference this package cannot
// use is an error matching [ErrBadRef].
func (b *Backend) Open(ctx context.Context, ref string) (crypto.Signer, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	c, err := b.connect(ctx, r)
	if err != nil {
		return nil, err
	}
	s, err := b.open(ctx, c, r)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return s, nil
}

// Create makes a new KMS key for alg (RSA_4096 for RS256/384/512 and
// PS256/384/512, ECC_NIST_P256 for ES256, ECC_NIST_P384 for ES384) with
// usage SIGN_VERIFY, in the region and endpoint of template, a reference
// that names no key ("awskms:///?region=eu-west-2", or "awskms:" for the
// SDK's default region), and returns the new key's reference (by key id,
// with the region and the template's endpoint) and its signer.
func (b *Backend) Create(ctx context.Context, template, alg string) (string, crypto.Signer, error) {
	r, err := parseTemplate(template)
	if err != nil {
		return "", nil, err
	}
	spec, err := keySpecFor(alg)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	c, err := b.connect(ctx, r)
	if err != nil {
		return "", nil, err
	}
	desc := b.description
	if desc == "" {
		desc = "pkjwt client assertion signing key (" + alg + ")"
	}
	tags := map[string]string{
		"pkjwt:created": time.Now().UTC().Format(time.RFC3339),
		"pkjwt:alg":     alg,
	}
	maps.Copy(tags, b.tags)
	var kmsTags []types.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		kmsTags = append(kmsTags, types.Tag{TagKey: aws.String(k), TagValue: aws.String(tags[k])})
	}
	out, err := c.client.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:     spec,
		KeyUsage:    types.KeyUsageTypeSignVerify,
		Description: aws.String(desc),
		Tags:        kmsTags,
	}, c.optFns...)
	if err != nil {
		return "", nil, mapError(ctx, "CreateKey in", r.String(), err)
	}
	if out.KeyMetadata == nil || out.KeyMetadata.KeyId == nil {
		return "", nil, fmt.Errorf("awskms: CreateKey in %s: answer without a key id: %w", r, keys.ErrMalformed)
	}
	nr := keyRef{KeyID: aws.ToString(out.KeyMetadata.KeyId), Region: c.region, Endpoint: r.Endpoint}
	if !keyIDPattern.MatchString(nr.KeyID) {
		return "", nil, fmt.Errorf("awskms: CreateKey in %s: unexpected key id %q: %w", r, nr.KeyID, keys.ErrMalformed)
	}
	s, err := b.open(ctx, c, nr)
	if err != nil {
		return "", nil, fmt.Errorf("awskms: created key %s but cannot use it: %w", nr, err)
	}
	if err := s.Supports(alg); err != nil {
		return "", nil, fmt.Errorf("awskms: created key %s: %w", nr, err)
	}
	return nr.String(), s, nil
}

// keySpecFor returns the KMS key spec pkjwt creates for alg.
func keySpecFor(alg string) (types.KeySpec, error) {
	curve, err := keys.AlgorithmCurve(alg)
	switch {
	case err != nil:
		return "", fmt.Errorf("awskms: %w", err)
	case curve == nil:
		return types.KeySpecRsa4096, nil
	case curve == elliptic.P256():
		return types.KeySpecEccNistP256, nil
	case curve == elliptic.P384():
		return types.KeySpecEccNistP384, nil
	}
	return "", fmt.Errorf("awskms: %s keys on %s: %w", alg, curve.Params().Name, keys.ErrUnsupportedAlgorithm)
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, defaultOpenTimeout)
}

// conn is a KMS client and the per-call options a reference needs.
type conn struct {
	client *kms.Client
	optFns []func(*kms.Options)
	region string
}

// connect returns the client for r: the injected one, or one built from
// the injected or default AWS configuration with r's region and endpoint,
// a bounded retryer and a bounded response size.
func (b *Backend) connect(ctx context.Context, r keyRef) (*conn, error) {
	attempts := b.attempts()
	bound := func(o *kms.Options) {
		o.Retryer = retry.AddWithMaxAttempts(retry.AddWithMaxBackoffDelay(o.Retryer, maxRetryBackoff), attempts)
		o.RetryMaxAttempts = 0 // AWS_MAX_ATTEMPTS must not lift the bound
	}
	if b.client != nil {
		region := b.client.Options().Region
		if r.Region != "" {
			region = r.Region
		}
		if region == "" {
			return nil, fmt.Errorf("%w %s: no region: add ?region=REGION or set the client's", ErrBadRef, r)
		}
		fns := []func(*kms.Options){bound}
		if r.Region != "" || r.Endpoint != "" {
			fns = append(fns, func(o *kms.Options) {
				if r.Region != "" {
					o.Region = r.Region
				}
				if r.Endpoint != "" {
					o.BaseEndpoint = aws.String(r.Endpoint)
				}
			})
		}
		return &conn{client: b.client, optFns: fns, region: region}, nil
	}
	var cfg aws.Config
	if b.cfg != nil {
		cfg = b.cfg.Copy()
	} else {
		var lo []func(*config.LoadOptions) error
		if r.Region != "" {
			lo = append(lo, config.WithRegion(r.Region))
		}
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx, lo...); err != nil {
			return nil, fmt.Errorf("awskms: AWS configuration: %w", err)
		}
	}
	if r.Region != "" {
		cfg.Region = r.Region
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("%w %s: no region: add ?region=REGION, use an ARN, or set AWS_REGION", ErrBadRef, r)
	}
	client := kms.NewFromConfig(cfg, func(o *kms.Options) {
		if r.Endpoint != "" {
			o.BaseEndpoint = aws.String(r.Endpoint)
		}
		bound(o)
		if o.HTTPClient != nil {
			o.HTTPClient = boundedClient{next: o.HTTPClient}
		}
	})
	return &conn{client: client, region: cfg.Region}, nil
}

// boundedClient limits the size of every response body it returns; past
// maxResponse a read fails with an error wrapping httpx.ErrTooLarge.
type boundedClient struct{ next kms.HTTPClient }

func (c boundedClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = httpx.LimitBody(resp.Body, maxResponse)
	return resp, nil
}
