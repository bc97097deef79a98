package pkjwt

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/pkjwt/pkjwt/internal/textsafe"
)

// ErrConfig is wrapped by every error about an invalid [Config] or
// [Profile].
var ErrConfig = errors.New("invalid configuration")

// ErrTokenResponse is wrapped when a token endpoint answers 2xx with a body
// that is not a usable token response (not JSON, no access_token, a token
// type other than Bearer, a body over the size limit).
var ErrTokenResponse = errors.New("malformed token response")

// ErrUnsafeDestination is wrapped when [Transport] refuses to send a token:
// plain http to a host that is not loopback, or a redirect to another
// origin.
var ErrUnsafeDestination = errors.New("unsafe destination for a credential")

// TokenError is a token endpoint's error response (RFC 6749 §5.2), with the
// HTTP status and the message_id NHS England adds. Test for it with
// [errors.As]. Its text never contains the assertion or any token.
//
// Code written for x/oauth2 finds it too: errors.As(err, &re) with
// re an [*oauth2.RetrieveError] gives the same error, description and URI
// (ErrorCode, ErrorDescription, ErrorURI), the redacted body, and a copy of
// the response's status line and headers (Response.Body is empty and
// Response.Request nil: the request held the assertion).
type TokenError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Code is the RFC 6749 "error" member, e.g. "invalid_client".
	Code string
	// Description is "error_description".
	Description string
	// URI is "error_uri".
	URI string
	// MessageID is NHS England's "message_id", to quote to their support.
	MessageID string
	// Body is a short excerpt of a response that was not an RFC 6749 error
	// object (an HTML error page, say), with any echo of the assertion
	// removed.
	Body string
	// Assertion is the header and claims of the assertion the server
	// refused, without its signature: what to compare with the error.
	Assertion *AssertionSummary

	// retrieve is the *oauth2.RetrieveError Unwrap gives; nil for a
	// TokenError built by hand (Unwrap then builds one from the fields).
	retrieve *oauth2.RetrieveError
}

// Unwrap returns the error as an [*oauth2.RetrieveError], so that
// errors.As finds one.
func (e *TokenError) Unwrap() error {
	if e.retrieve != nil {
		return e.retrieve
	}
	return e.retrieveError(nil, nil, "")
}

// retrieveError builds the *oauth2.RetrieveError twin of e from the
// response (nil: from e alone) and its body, with the assertion redacted.
func (e *TokenError) retrieveError(resp *http.Response, body []byte, assertion string) *oauth2.RetrieveError {
	r := &http.Response{
		Status:     strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode),
		StatusCode: e.StatusCode,
		Header:     http.Header{},
		Body:       http.NoBody,
	}
	if resp != nil {
		r.Status, r.Proto, r.ProtoMajor, r.ProtoMinor = resp.Status, resp.Proto, resp.ProtoMajor, resp.ProtoMinor
		r.Header = resp.Header.Clone()
	}
	b := []byte(e.Body)
	if body != nil {
		b = []byte(redact(strings.TrimSpace(string(body)), assertion))
	}
	return &oauth2.RetrieveError{
		Response:         r,
		Body:             b,
		ErrorCode:        e.Code,
		ErrorDescription: e.Description,
		ErrorURI:         e.URI,
	}
}

// Error implements error. The server's error, error_description and
// message_id appear with their control characters escaped (a newline as
// \n, ESC as \x1b, a bidi override as \u202e), so that the text is inert
// in a terminal or a log; the fields keep them as the server sent them.
func (e *TokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pkjwt: token endpoint answered %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", textsafe.Escape(e.Code))
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", textsafe.Escape(e.Description))
	}
	if e.MessageID != "" {
		fmt.Fprintf(&b, " (message_id %s)", textsafe.Escape(e.MessageID))
	}
	if e.Code == "" && e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	return b.String()
}

// retryable reports whether the same request, with a fresh assertion, may
// succeed later: 429 and 5xx responses.
func (e *TokenError) retryable() bool {
	return e.StatusCode == 429 || e.StatusCode >= 500
}
