package webapp

import (
	"context"
	"net"
	"net/http"

	"github.com/pkjwt/pkjwt/internal/listen"
)

// NewServer returns an [http.Server] for h with every timeout and the
// header size limit set, the same for every pkjwt server (the fields of
// the server it returns hold them). Its WriteTimeout leaves room for a
// System to System Call of [DefaultCallTimeout].
func NewServer(h http.Handler) *http.Server { return listen.NewServer(h) }

// Serve serves srv on ln until ctx is done, then shuts down gracefully:
// it stops accepting, lets requests in flight finish for a bounded time
// (10 s; then it closes the connections left), and returns nil or the
// shutdown's error. It returns the error if the server stops for any other
// reason.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	return listen.Serve(ctx, srv, ln)
}
