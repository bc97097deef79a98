// Package desturl parses the destination URLs of the jwks/publish stores:
// one set of rules for every scheme, so that a credential, a fragment or a
// mistyped query parameter is refused the same way everywhere. Its errors
// carry no sentinel; each store wraps them with publish.ErrDestination.
package desturl

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Parse parses dest, which must have the given scheme and carry no
// credentials and no fragment.
func Parse(dest, scheme string) (*url.URL, error) {
	u, err := url.Parse(dest)
	if err != nil {
		// url.Error quotes the whole URL, credentials included: keep
		// only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.User != nil {
		return nil, fmt.Errorf("credentials in the destination URL are not accepted")
	}
	if u.Scheme != scheme {
		return nil, fmt.Errorf("%q is not a %s: URL", u.Redacted(), scheme)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%s has a fragment", u.Redacted())
	}
	return u, nil
}

// Query returns u's query parameters, refusing any outside allowed (a SAS
// token or a typo must not be silently ignored) and any given twice.
func Query(u *url.URL, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	for name, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || name == a
		}
		if !ok {
			if len(allowed) == 0 {
				return nil, fmt.Errorf("%s destinations take no query parameters (got %q)", u.Scheme, name)
			}
			return nil, fmt.Errorf("unknown query parameter %q (allowed: %s)", name, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("query parameter %q given %d times", name, len(vs))
		}
	}
	return q, nil
}

// Endpoint returns the service endpoint override: override if set, else
// the endpoint query parameter; "" for none. It must be an absolute
// http(s) URL without credentials, query or fragment.
func Endpoint(q url.Values, override string) (string, error) {
	ep := override
	if ep == "" {
		ep = q.Get("endpoint")
	}
	if ep == "" {
		return "", nil
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("endpoint %q is not an absolute http(s) URL", ep)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("endpoint must carry no credentials, query or fragment")
	}
	return ep, nil
}
