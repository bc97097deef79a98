// Package listen starts and stops pkjwt's HTTP servers (the sample web
// app, the emulator, the demo) with one set of timeouts and one graceful
// shutdown.
package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Server timeouts used by NewServer.
const (
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading a whole request.
	ReadTimeout = 15 * time.Second
	// WriteTimeout bounds a request from the end of its headers to the end
	// of the response. It leaves room for the web app's System to System
	// Call (45 s: a token request and an API request).
	WriteTimeout = 60 * time.Second
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

// Listen opens a TCP listener on addr ("127.0.0.1:0" picks a free port).
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// WriteAddrFile writes addr (host:port, the form of --addr) and a newline
// to path, for a script or a test that started the server on port 0 and
// needs the port it got. The file (mode 0600) appears whole or not at all
// (a temporary file in the same directory, then a rename); write it once
// the socket listens, so that a reader that sees it can connect. The
// returned func removes it: call it when the server stops, so that the
// file never names a closed port.
func WriteAddrFile(path string, addr net.Addr) (remove func(), err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("address file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = fmt.Fprintln(tmp, addr.String())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return nil, fmt.Errorf("address file %s: %w", path, err)
	}
	return func() { os.Remove(path) }, nil
}

// Serve serves srv on ln until ctx is done, then shuts down gracefully: it
// stops accepting, lets requests in flight finish for at most
// ShutdownTimeout (then closes the connections left), and returns nil or
// the shutdown's error. If the server stops for any other reason, Serve
// returns that error. ln is closed when Serve returns.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
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
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
