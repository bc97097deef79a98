package webapp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Server timeouts used by NewServer. WriteTimeout leaves room for a System
// to System Call that takes DefaultCallTimeout.
const (
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading a whole request.
	ReadTimeout = 15 * time.Second
	// WriteTimeout bounds a request from the end of its headers to the end
	// of the response.
	WriteTimeout = DefaultCallTimeout + 15*time.Second
	// IdleTimeout bounds how long a keep-alive connection waits.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes bounds the size of a request's headers.
	MaxHeaderBytes = 64 << 10
	// ShutdownTimeout bounds a graceful shutdown in Serve.
	ShutdownTimeout = 10 * time.Second
)

// NewServer returns an http.Server for h with every timeout and the header
// size limit set.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// Serve serves srv on ln until ctx is done, then shuts down gracefully:
// it stops accepting, lets requests in flight finish for at most
// ShutdownTimeout (then closes the connections left), and returns nil or
// the shutdown's error. It returns the error if the server stops for any
// other reason.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
	}
	return err
}
