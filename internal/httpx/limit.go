package httpx

import (
	"fmt"
	"io"
)

// LimitBody returns body bounded to limit bytes: a read past the limit
// fails with an error wrapping [ErrTooLarge] instead of truncating quietly,
// so that a client decoding the body (an SDK's JSON decoder, say) cannot be
// made to hold more than limit bytes. A body of exactly limit bytes reads
// whole. Closing the result closes body.
func LimitBody(body io.ReadCloser, limit int64) io.ReadCloser {
	return &limitedBody{rc: body, left: limit, limit: limit}
}

// limitedBody is the one bounded response body of pkjwt's key-service
// clients (keys/awskms, keys/azurekv).
type limitedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := l.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("body exceeds %d bytes: %w", l.limit, ErrTooLarge)
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
