package azurekv

import (
	"net/http"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pkjwt/pkjwt/internal/httpx"
)

// maxResponse bounds the body of any Key Vault answer read. A key bundle
// is a few KiB and a secret at most 25 KiB (before JSON escaping).
const maxResponse = 1 << 20

// bodyLimit is an SDK pipeline policy that bounds every response body:
// past maxResponse a read fails with an error wrapping httpx.ErrTooLarge.
type bodyLimit struct{}

// Do implements policy.Policy.
func (bodyLimit) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if resp != nil && resp.Body != nil {
		resp.Body = httpx.LimitBody(resp.Body, maxResponse)
	}
	return resp, err
}

// sdkOptions returns the client options with the body limit added.
func (b *Backend) sdkOptions() azcore.ClientOptions {
	o := b.clientOpts
	o.PerRetryPolicies = append(slices.Clone(o.PerRetryPolicies), bodyLimit{})
	return o
}
