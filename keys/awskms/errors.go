package awskms

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/pkjwt/pkjwt/keys"
)

// ErrBadSignature is returned by a signer's Sign when the signature KMS
// returned does not
// verify with the key's public half (the key behind the reference changed,
// or the answer was damaged). The signature is not used.
var ErrBadSignature = errors.New("awskms: KMS returned a signature that does not verify with the key's public key")

// sentinelFor returns the keys sentinel for a KMS error code, or nil.
// The codes are those of the AWS KMS API reference ("Errors" of Sign,
// GetPublicKey and CreateKey, and the common errors of every AWS API).
func sentinelFor(code string, status int) error {
	switch code {
	case "AccessDeniedException", "AccessDenied",
		"UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignature",
		"ExpiredTokenException", "InvalidClientTokenId", "MissingAuthenticationToken":
		return keys.ErrPermissionDenied
	case "DisabledException", "KMSInvalidStateException", "KeyUnavailableException":
		return keys.ErrKeyDisabled
	case "InvalidKeyUsageException", "UnsupportedOperationException":
		return keys.ErrWrongKeyUsage
	case "ThrottlingException", "Throttling", "ThrottledException", "LimitExceededException",
		"RequestLimitExceeded", "TooManyRequestsException", "SlowDown":
		return keys.ErrThrottled
	case "NotFoundException":
		return keys.ErrNotFound
	case "DependencyTimeoutException", "RequestTimeout", "RequestTimeoutException":
		return keys.ErrRemoteTimeout
	}
	if status == http.StatusTooManyRequests {
		return keys.ErrThrottled
	}
	return nil
}

// mapError wraps a KMS client error for operation op on ref so that
// errors.Is finds both the keys sentinel it stands for (when one does) and
// the SDK's own error (errors.As with smithy.APIError, the KMS types).
func mapError(ctx context.Context, op, ref string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("awskms: %s %s: %w: %w", op, ref, keys.ErrRemoteTimeout, err)
	}
	var code string
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	if s := sentinelFor(code, status); s != nil {
		return fmt.Errorf("awskms: %s %s: %w: %w", op, ref, s, err)
	}
	return fmt.Errorf("awskms: %s %s: %w", op, ref, err)
}
