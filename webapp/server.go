package webapp

import (
	"context"
	"net"
	"net/http"

	"github.com/pkjwt/pkjwt/internal/listen"
)

// Server timeouts used by NewServer (the same for every pkjwt server).
// WriteTimeout leaves room for a System to System Call that takes
// DefaultCallTimeout.
const (
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout = listen.ReadHeaderTimeout
	// ReadTimeout bounds reading a whole request.
	ReadTimeout = listen.ReadTimeout
	// WriteTimeout bounds a request from the end of its headers to the end
	// of the response.
	WriteTimeout = listen.WriteTimeout
	// IdleTimeout bounds how long a keep-alive connection waits.
	IdleTimeout = listen.IdleTimeout
	// MaxHeaderBytes bounds the size of a request's headers.
	MaxHeaderBytes = listen.MaxHeaderBytes
	// ShutdownTimeout bounds a graceful shutdown in Serve.
	ShutdownTimeout = listen.ShutdownTimeout
)

// NewServer returns an http.Server for h with every timeout and the header
// size limit set.
func NewServer(h http.Handler) *http.Server { return listen.NewServer(h) }

// Serve serves srv on ln until ctx is done, then shuts down gracefully:
// it stops accepting, lets requests in flight finish for at most
// ShutdownTimeout (then closes the connections left), and returns nil or
// the shutdown's error. It returns the error if the server stops for any
// other reason.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	return listen.Serve(ctx, srv, ln)
}
