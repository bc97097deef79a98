// Command local-kms runs github.com/nsmithuk/local-kms, a local server of the
// AWS KMS JSON API, for pkjwt's tests of package keys/awskms.
//
// Upstream's own main listens on every interface (":" + $PORT) and cannot be
// told otherwise, so this command does not use it: it serves upstream's
// request handler (src.HandleRequest, the code behind every KMS operation)
// from a listener it binds itself, on a loopback address only. It refuses any
// -addr that is not a loopback IP, so no test ever exposes the server on a
// network interface of the host.
//
// Usage:
//
//	local-kms -data DIR [-addr 127.0.0.1:0] [-region eu-west-2] [-account 111122223333]
//
// When it listens it prints one line to stdout:
//
//	local-kms listening on http://127.0.0.1:PORT
//
// and it serves until SIGINT or SIGTERM. This module is separate from pkjwt's
// main module so that local-kms and its dependencies (the AWS SDK v1, leveldb)
// never enter pkjwt's module graph; tools/localkms/build.sh builds it once into
// ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/local-kms.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	localkms "github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
)

// maxRequest bounds a request body; KMS requests are a few KiB at most.
const maxRequest = 1 << 20

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "local-kms:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "listen address; must be a loopback IP and port (port 0: any free port)")
	dataDir := flag.String("data", "", "directory of the key database (required; created if missing)")
	region := flag.String("region", "eu-west-2", "region in the key ARNs")
	account := flag.String("account", "111122223333", "account id in the key ARNs")
	flag.Parse()
	if flag.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if *dataDir == "" {
		return errors.New("-data DIR is required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: only a loopback IP address is allowed (for example 127.0.0.1:0)", *addr)
	}
	path, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return err
	}

	// Upstream keeps its settings in package variables, set once here as its
	// own main does.
	config.AWSRegion = *region
	config.AWSAccountId = *account
	config.DatabasePath = path
	db := data.NewDatabase(path)
	defer db.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
			localkms.HandleRequest(w, r, db)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Printf("local-kms listening on http://%s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
