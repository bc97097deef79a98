package azurekv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/pkjwt/pkjwt/keys"
)

// vaultError is a failed Key Vault call. It unwraps to the keys sentinel that
// classifies it (keys.ErrPermissionDenied, keys.ErrKeyDisabled,
// keys.ErrWrongKeyUsage, keys.ErrThrottled, keys.ErrNotFound,
// keys.ErrRemoteTimeout), when there is one, and to the SDK's error
// (*azcore.ResponseError for an HTTP error answer). Its message holds the
// operation, the reference, the HTTP status, Key Vault's error codes and a
// clipped copy of Key Vault's message; never a token, a secret value or a
// request header.
type vaultError struct {
	// Op is the operation: "get key", "sign", "create key", "get secret".
	Op string
	// Ref is the reference the operation was on.
	Ref string
	// StatusCode is the HTTP status of Key Vault's answer, 0 when there was
	// no answer (a timeout, a DNS or credential failure).
	StatusCode int
	// Code is Key Vault's error code ("Forbidden", "KeyNotFound").
	Code string
	// InnerCode is Key Vault's inner error code ("KeyDisabled",
	// "KeyOperationForbidden", "ForbiddenByRbac"), if any.
	InnerCode string
	// Message is Key Vault's error message, clipped to 300 bytes.
	Message string

	kind error
	err  error
}

// Error implements error.
func (e *vaultError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "azurekv: %s %s: ", e.Op, e.Ref)
	if e.kind != nil {
		b.WriteString(e.kind.Error())
	}
	if e.StatusCode != 0 {
		if e.kind != nil {
			b.WriteString(" (")
		}
		b.WriteString("HTTP " + strconv.Itoa(e.StatusCode))
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		if e.InnerCode != "" {
			b.WriteString("/" + e.InnerCode)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		if e.kind != nil {
			b.WriteString(")")
		}
		return b.String()
	}
	if e.err != nil {
		if e.kind != nil {
			b.WriteString(": ")
		}
		b.WriteString(e.err.Error())
	}
	return b.String()
}

// Unwrap returns the keys sentinel (if any) and the underlying error.
func (e *vaultError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

// codeKinds maps Key Vault error codes (outer or inner) to the keys
// sentinels. Key Vault answers, for example, a sign with a disabled key
// with HTTP 403 {"error":{"code":"Forbidden","innererror":{"code":"KeyDisabled"}}}.
func codeKind(code string) error {
	switch code {
	case "KeyDisabled", "SecretDisabled", "CertificateDisabled":
		return keys.ErrKeyDisabled
	case "KeyOperationForbidden":
		return keys.ErrWrongKeyUsage
	case "AccessDenied", "ForbiddenByPolicy", "ForbiddenByRbac", "ForbiddenByFirewall",
		"ForbiddenByConnection", "Unauthorized", "Forbidden":
		return keys.ErrPermissionDenied
	case "KeyNotFound", "SecretNotFound", "CertificateNotFound", "NotFound", "VaultNotFound":
		return keys.ErrNotFound
	case "Throttled", "TooManyRequests":
		return keys.ErrThrottled
	}
	return nil
}

// statusKind classifies an HTTP status without a known code.
func statusKind(status int) error {
	switch status {
	case 401, 403:
		return keys.ErrPermissionDenied
	case 404:
		return keys.ErrNotFound
	case 429:
		return keys.ErrThrottled
	}
	return nil
}

// messageKind recognises Key Vault's documented messages when a proxy
// dropped the inner code: "Operation sign is not allowed on a disabled
// key." and "Operation sign is not permitted on this key.".
func messageKind(msg string) error {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "not allowed on a disabled"):
		return keys.ErrKeyDisabled
	case strings.Contains(m, "is not permitted on this key"):
		return keys.ErrWrongKeyUsage
	}
	return nil
}

// maxErrorBody bounds the bytes of an error answer parsed for codes.
const maxErrorBody = 64 << 10

// wrapErr turns an SDK error into an *Error. A nil err gives nil.
func wrapErr(op, ref string, err error) error {
	if err == nil {
		return nil
	}
	e := &vaultError{Op: op, Ref: ref, err: err}
	var re *azcore.ResponseError
	var dnsErr *net.DNSError
	var authErr *azidentity.AuthenticationFailedError
	switch {
	case errors.As(err, &re):
		e.StatusCode = re.StatusCode
		e.Code = re.ErrorCode
		if re.RawResponse != nil {
			if body, perr := runtime.Payload(re.RawResponse); perr == nil && len(body) <= maxErrorBody {
				var doc struct {
					Error struct {
						Code       string `json:"code"`
						Message    string `json:"message"`
						InnerError *struct {
							Code string `json:"code"`
						} `json:"innererror"`
					} `json:"error"`
				}
				if json.Unmarshal(body, &doc) == nil {
					if e.Code == "" {
						e.Code = clip(doc.Error.Code, 64)
					}
					e.Message = clip(doc.Error.Message, 300)
					if doc.Error.InnerError != nil {
						e.InnerCode = clip(doc.Error.InnerError.Code, 64)
					}
				}
			}
		}
		e.kind = codeKind(e.InnerCode)
		if e.kind == nil {
			e.kind = messageKind(e.Message)
		}
		if e.kind == nil {
			e.kind = codeKind(e.Code)
		}
		if e.kind == nil {
			e.kind = statusKind(e.StatusCode)
		}
	case errors.Is(err, context.DeadlineExceeded):
		e.kind = keys.ErrRemoteTimeout
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		e.kind = keys.ErrNotFound
		e.err = fmt.Errorf("no vault at host %s: %w", dnsErr.Name, err)
	case errors.As(err, &authErr):
		e.kind = keys.ErrPermissionDenied
	}
	return e
}

// clip bounds s to n bytes of printable text.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		cut := n
		for cut > 0 && (s[cut]&0xC0) == 0x80 {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strings.TrimSpace(s)
}
