package azurekv

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// MaxResponseSize bounds the body of any Key Vault answer read. A key
// bundle is a few KiB and a secret at most 25 KiB (before JSON escaping).
const MaxResponseSize = 1 << 20

// ErrResponseTooLarge is returned when an answer's body passes
// MaxResponseSize.
var ErrResponseTooLarge = errors.New("azurekv: Key Vault answer is too large")

// bodyLimit is an SDK pipeline policy that bounds every response body.
type bodyLimit struct{}

// Do implements policy.Policy.
func (bodyLimit) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if resp != nil && resp.Body != nil {
		resp.Body = &limitedBody{rc: resp.Body, left: MaxResponseSize}
	}
	return resp, err
}

// limitedBody fails a read past its limit instead of truncating quietly.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := l.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w (more than %d bytes)", ErrResponseTooLarge, MaxResponseSize)
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// sdkOptions returns the client options with the body limit added.
func (b *Backend) sdkOptions() azcore.ClientOptions {
	o := b.clientOpts
	o.PerRetryPolicies = append(slices.Clone(o.PerRetryPolicies), bodyLimit{})
	return o
}
