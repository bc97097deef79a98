package awskms

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/pkjwt/pkjwt/internal/loopback"
)

// Scheme is the URL scheme of AWS KMS key references, what
// [Backend.Scheme] returns.
const Scheme = "awskms"

// ErrBadRef is returned by [Backend.Open] and [Backend.Create] for a key
// reference this package cannot use, before any call to AWS. It is wrapped
// with the reason; test for it with errors.Is.
var ErrBadRef = errors.New("awskms: bad key reference")

// maxRefLength bounds a reference; ARNs are at most 2048 bytes.
const maxRefLength = 4096

var (
	keyIDPattern     = regexp.MustCompile(`^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
	aliasPattern     = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$`)
	accountPattern   = regexp.MustCompile(`^[0-9]{12}$`)
	partitionPattern = regexp.MustCompile(`^aws(?:-[a-z]+)*$`)
)

// keyRef is a parsed AWS KMS key reference:
//
//	awskms:///alias/NAME?region=eu-west-2
//	awskms:///1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-west-2
//	awskms:///mrk-1234abcd12ab34cd56ef1234567890ab?region=eu-west-2
//	awskms:///arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
//	awskms:///arn:aws:kms:eu-west-2:111122223333:alias/NAME
//
// Each may add endpoint=URL, the KMS endpoint to call instead of the
// region's public one: https://HOST[:PORT] (a VPC endpoint), or http:// to a
// loopback address only (a local test server). The region of an ARN is the
// ARN's; a region parameter beside an ARN must be the same. Without a region
// the AWS SDK's configuration (AWS_REGION, the profile) gives it.
//
// A template for [Backend.Create] names no key: "awskms:///?region=eu-west-2".
type keyRef struct {
	// KeyID is the key as KMS's KeyId parameter takes it: a key id, a
	// multi-Region key id, "alias/NAME", or a key or alias ARN. Empty in a
	// template.
	KeyID string
	// Region is the AWS Region, or "" for the SDK's default.
	Region string
	// Endpoint is the endpoint override, or "".
	Endpoint string
}

// parseRef parses an "awskms://" key reference strictly: no host, user,
// fragment or unknown parameter, each parameter at most once, and a key
// id, alias or ARN of KMS's documented forms.
func parseRef(ref string) (keyRef, error) {
	r, err := parse(ref)
	if err != nil {
		return keyRef{}, err
	}
	if r.KeyID == "" {
		return keyRef{}, fmt.Errorf("%w %q: no key (give alias/NAME, a key id or a key ARN after %s:///)", ErrBadRef, ref, Scheme)
	}
	return r, nil
}

// parseTemplate parses a reference for Backend.Create: like parseRef, but
// it must not name a key ("awskms:///?region=eu-west-2", or "awskms:" for
// the SDK's default region).
func parseTemplate(ref string) (keyRef, error) {
	r, err := parse(ref)
	if err != nil {
		return keyRef{}, err
	}
	if r.KeyID != "" {
		return keyRef{}, fmt.Errorf("%w %q: a template names a region and endpoint only, not a key (%q)", ErrBadRef, ref, r.KeyID)
	}
	return r, nil
}

func parse(ref string) (keyRef, error) {
	if len(ref) > maxRefLength {
		return keyRef{}, fmt.Errorf("%w: %d bytes long, at most %d allowed", ErrBadRef, len(ref), maxRefLength)
	}
	u, err := url.Parse(ref)
	if err != nil {
		return keyRef{}, fmt.Errorf("%w: %w", ErrBadRef, err)
	}
	switch {
	case u.Scheme != Scheme || !strings.HasPrefix(ref, Scheme+":"):
		return keyRef{}, fmt.Errorf("%w %q: scheme must be %q", ErrBadRef, ref, Scheme)
	case u.User != nil || u.Host != "":
		return keyRef{}, fmt.Errorf("%w %q: no host allowed: write %s:///KEY (three slashes)", ErrBadRef, ref, Scheme)
	case u.Fragment != "" || strings.Contains(ref, "#"):
		return keyRef{}, fmt.Errorf("%w %q: no fragment allowed", ErrBadRef, ref)
	case u.Opaque != "":
		return keyRef{}, fmt.Errorf("%w %q: write %s:///KEY (three slashes)", ErrBadRef, ref, Scheme)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return keyRef{}, fmt.Errorf("%w %q: query: %w", ErrBadRef, ref, err)
	}
	var r keyRef
	for name, vals := range q {
		if len(vals) != 1 {
			return keyRef{}, fmt.Errorf("%w %q: parameter %q given %d times", ErrBadRef, ref, name, len(vals))
		}
		switch name {
		case "region":
			r.Region = vals[0]
			if !regionPattern.MatchString(r.Region) {
				return keyRef{}, fmt.Errorf("%w %q: region %q is not an AWS Region name such as eu-west-2", ErrBadRef, ref, r.Region)
			}
		case "endpoint":
			if r.Endpoint, err = checkEndpoint(vals[0]); err != nil {
				return keyRef{}, fmt.Errorf("%w %q: %w", ErrBadRef, ref, err)
			}
		default:
			return keyRef{}, fmt.Errorf("%w %q: unknown parameter %q (only region and endpoint)", ErrBadRef, ref, name)
		}
	}
	key := strings.TrimPrefix(u.Path, "/")
	if key == "" {
		if u.Path != "" && u.Path != "/" {
			return keyRef{}, fmt.Errorf("%w %q: bad path", ErrBadRef, ref)
		}
		return r, nil
	}
	if !strings.HasPrefix(ref, Scheme+":///") {
		return keyRef{}, fmt.Errorf("%w %q: write %s:///KEY (three slashes)", ErrBadRef, ref, Scheme)
	}
	switch {
	case strings.HasPrefix(key, "arn:"):
		region, err := checkARN(key)
		if err != nil {
			return keyRef{}, fmt.Errorf("%w %q: %w", ErrBadRef, ref, err)
		}
		if r.Region != "" && r.Region != region {
			return keyRef{}, fmt.Errorf("%w %q: region parameter %q differs from the ARN's region %q", ErrBadRef, ref, r.Region, region)
		}
		r.Region = region
	case strings.HasPrefix(key, "alias/"):
		if !aliasPattern.MatchString(key) {
			return keyRef{}, fmt.Errorf("%w %q: alias %q: alias/ then 1 to 250 of a-z A-Z 0-9 / _ -", ErrBadRef, ref, key)
		}
	case keyIDPattern.MatchString(key):
	default:
		return keyRef{}, fmt.Errorf("%w %q: %q is not alias/NAME, a key id (a lower-case UUID or mrk-...) or a KMS key ARN", ErrBadRef, ref, key)
	}
	r.KeyID = key
	return r, nil
}

// checkARN checks a KMS key or alias ARN and returns its region.
func checkARN(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" {
		return "", fmt.Errorf("%q is not a KMS ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID or alias/NAME)", arn)
	}
	partition, region, account, res := parts[1], parts[3], parts[4], parts[5]
	switch {
	case !partitionPattern.MatchString(partition):
		return "", fmt.Errorf("ARN partition %q is not aws or aws-SOMETHING (aws-cn, aws-us-gov)", partition)
	case !regionPattern.MatchString(region):
		return "", fmt.Errorf("ARN region %q is not an AWS Region name", region)
	case !accountPattern.MatchString(account):
		return "", fmt.Errorf("ARN account %q is not 12 digits", account)
	case strings.HasPrefix(res, "key/") && keyIDPattern.MatchString(strings.TrimPrefix(res, "key/")):
	case strings.HasPrefix(res, "alias/") && aliasPattern.MatchString(res):
	default:
		return "", fmt.Errorf("ARN resource %q is not key/ID or alias/NAME", res)
	}
	return region, nil
}

// checkEndpoint accepts https://HOST[:PORT] or http:// to a loopback IP or
// localhost, with no path (or "/"), query, fragment or user.
func checkEndpoint(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("endpoint: %w", err)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("endpoint %q: want scheme://host[:port] only", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback.Host(u.Hostname()) {
			return "", fmt.Errorf("endpoint %q: plain http is allowed to a loopback address only; use https", s)
		}
	default:
		return "", fmt.Errorf("endpoint %q: scheme must be https (or http to loopback)", s)
	}
	return u.Scheme + "://" + u.Host, nil
}

// String returns the reference in canonical form, parameters in a fixed
// order: region, then endpoint.
func (r keyRef) String() string {
	var b strings.Builder
	b.WriteString(Scheme + ":///")
	b.WriteString(r.KeyID)
	sep := "?"
	if r.Region != "" && !strings.HasPrefix(r.KeyID, "arn:") {
		b.WriteString(sep + "region=" + url.QueryEscape(r.Region))
		sep = "&"
	}
	if r.Endpoint != "" {
		b.WriteString(sep + "endpoint=" + url.QueryEscape(r.Endpoint))
	}
	return b.String()
}
