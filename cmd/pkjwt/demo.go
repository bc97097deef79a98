package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/internal/listen"
	"github.com/pkjwt/pkjwt/internal/loopback"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
	"github.com/pkjwt/pkjwt/webapp"
)

// defaultDemoDir holds the demo's key and client id between runs.
const defaultDemoDir = ".pkjwt-demo"

func cmdDemo() *command {
	return &command{
		name:    "demo",
		args:    "[flags]",
		summary: "run the emulator and the web app together on loopback",
		detail: `Runs, in one process and on loopback only:
  - a 4096-bit RS512 key in DIR/keys (generated on the first run, reused after),
  - the NHS emulator (token endpoint and PDS) on --emulator-addr,
  - the web app on --addr, registered with the emulator as an app whose
    client id (API key) is kept in DIR/client-id and whose JWKS URL is the web
    app's /.well-known/jwks.json, with the PDS scope,
and prints the URL to open. Ctrl-C (SIGINT) or SIGTERM stops it.`,
		examples: `# The emulator and the web app; open the printed URL
pkjwt demo

# Other ports and another directory
pkjwt demo --addr 127.0.0.1:8081 --emulator-addr 127.0.0.1:9001 --dir /tmp/pkjwt-demo`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			addr := fs.String("addr", "127.0.0.1:8080", "loopback address of the web app")
			emuAddr := fs.String("emulator-addr", "127.0.0.1:0", "loopback address of the emulator (port 0: any free port)")
			dir := fs.String("dir", defaultDemoDir, "directory of the demo's key and client id")
			lf := addLogFlags(fs)
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			log, err := lf.logger(e.stderr)
			if err != nil {
				return err
			}
			d, err := startDemo(ctx, demoOptions{addr: *addr, emulatorAddr: *emuAddr, dir: *dir, stderr: e.stderr, logger: log,
				addrFrom: origin(fs, "addr"), emulatorAddrFrom: origin(fs, "emulator-addr")})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "pkjwt demo: key %s in %s, client id %s\n", d.kid, filepath.Join(*dir, "keys"), d.clientID)
			fmt.Fprintf(e.stdout, "Emulator %s (token URL %s)\n", d.emulatorURL, d.ts.Config().TokenURL)
			fmt.Fprintf(e.stdout, "Open %s/\n", d.webURL)
			fmt.Fprintln(e.stdout, "Press Ctrl-C to stop.")
			err = d.wait()
			fmt.Fprintln(e.stdout, "pkjwt demo: stopped")
			return err
		},
	}
}

// demoOptions configures startDemo.
type demoOptions struct {
	addr, emulatorAddr string // loopback host:port
	// addrFrom and emulatorAddrFrom say where addr and emulatorAddr came
	// from, for errors ("": the flags).
	addrFrom, emulatorAddrFrom string
	dir                        string // demo directory
	stderr                     io.Writer
	// logger receives the servers' log lines; nil: text at info on stderr.
	logger *slog.Logger
	// wrapEmulator, if set, wraps the emulator's handler (tests use it to
	// watch the token endpoint).
	wrapEmulator func(http.Handler) http.Handler
}

// demo is a running demo.
type demo struct {
	webURL, emulatorURL string
	clientID, kid       string
	ts                  *pkjwt.TokenSource
	app                 *webapp.App
	errc                chan error
}

// wait waits until both servers have stopped (after ctx is done) and
// returns the first error.
func (d *demo) wait() error {
	return errors.Join(<-d.errc, <-d.errc)
}

// loopbackAddr checks that addr listens on a loopback interface only.
func loopbackAddr(flagName, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", usagef("%s: %q: %v", flagName, addr, err)
	}
	if !loopback.Host(host) {
		return "", usagef("%s: %q: the demo listens on loopback only (e.g. 127.0.0.1:8080); use 'pkjwt serve' to serve on a network", flagName, addr)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1" // listen on the address, not on whatever the name resolves to
	}
	return net.JoinHostPort(host, port), nil
}

// startDemo sets up keys and client id, starts the emulator and the web app
// and returns once both listen. They stop when ctx is done.
func startDemo(ctx context.Context, o demoOptions) (*demo, error) {
	webAddr, err := loopbackAddr(cmp.Or(o.addrFrom, "--addr"), o.addr)
	if err != nil {
		return nil, err
	}
	emuAddr, err := loopbackAddr(cmp.Or(o.emulatorAddrFrom, "--emulator-addr"), o.emulatorAddr)
	if err != nil {
		return nil, err
	}
	if o.stderr == nil {
		o.stderr = io.Discard
	}
	ring, err := demoKeys(ctx, filepath.Join(o.dir, "keys"), o.stderr)
	if err != nil {
		return nil, err
	}
	signer, err := ring.SigningKey()
	if err != nil {
		return nil, err
	}
	clientID, err := demoClientID(filepath.Join(o.dir, "client-id"))
	if err != nil {
		return nil, err
	}
	webLn, err := listen.Listen(ctx, webAddr)
	if err != nil {
		return nil, listenError("the web app", webAddr, "--addr", err)
	}
	emuLn, err := listen.Listen(ctx, emuAddr)
	if err != nil {
		webLn.Close()
		return nil, listenError("the emulator", emuAddr, "--emulator-addr", err)
	}
	closeAll := func() { webLn.Close(); emuLn.Close() }
	webURL := "http://" + webLn.Addr().String()
	emuURL := "http://" + emuLn.Addr().String()
	log := o.logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(o.stderr, nil))
	}

	emu, err := emulator.New(emulator.Config{
		PublicURL: emuURL,
		Logger:    log.With("component", "emulator"),
		Apps: []emulator.App{{
			Name:    "pkjwt demo",
			APIKey:  clientID,
			JWKSURL: webURL + jwks.Path,
			Scopes:  []string{emulator.PDSScope},
		}},
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile:    pkjwt.Local(emuURL),
		ClientID:   clientID,
		Keys:       ring,
		HTTPClient: &http.Client{Timeout: pkjwt.DefaultTimeout},
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	app, err := webapp.New(webapp.Config{TokenSource: ts, PublicURL: webURL, Logger: log.With("component", "webapp")})
	if err != nil {
		closeAll()
		return nil, err
	}
	emuHandler := emu.Handler()
	if o.wrapEmulator != nil {
		emuHandler = o.wrapEmulator(emuHandler)
	}
	go ring.Watch(ctx, keyReloadInterval, nil, func(err error) { log.Warn("key reload failed", "error", err.Error()) })
	d := &demo{webURL: webURL, emulatorURL: emuURL, clientID: clientID, kid: signer.ID, ts: ts, app: app, errc: make(chan error, 2)}
	go func() { d.errc <- webapp.Serve(ctx, webapp.NewServer(emuHandler), emuLn) }()
	go func() {
		err := webapp.Serve(ctx, webapp.NewServer(app.Handler()), webLn)
		app.Close()
		d.errc <- err
	}()
	return d, nil
}

// demoKeys loads the demo's key directory, generating a 4096-bit RS512 key
// the first time, in a transaction on the directory (a second demo started
// meanwhile keeps the key the first one made). The source follows later
// changes to the directory.
func demoKeys(ctx context.Context, dir string, stderr io.Writer) (*keydir.DirSource, error) {
	kd := keydir.Dir{Path: dir, OnLockWait: func(msg string) { fmt.Fprintf(stderr, "pkjwt demo: %s\n", msg) }}
	src, err := keydir.NewDirSource(kd)
	if err != nil {
		return nil, err
	}
	if src.Ring().Len() > 0 {
		return src, nil
	}
	fmt.Fprintf(stderr, "pkjwt demo: generating a 4096-bit RS512 key in %s (first run only; a few seconds)\n", dir)
	start := time.Now()
	k, err := keys.GenerateContext(ctx, "RS512", 4096)
	if err != nil {
		return nil, err
	}
	added := false
	err = kd.Update(ctx, func(tx *keydir.Tx) error {
		if tx.Ring().Len() > 0 {
			return nil // another demo made the first key meanwhile
		}
		added = true
		return tx.Add(k)
	})
	if err != nil {
		return nil, err
	}
	if added {
		fmt.Fprintf(stderr, "pkjwt demo: key %s generated in %s\n", k.ID, time.Since(start).Round(time.Millisecond))
	}
	if _, err := src.Reload(); err != nil {
		return nil, err
	}
	return src, nil
}

// demoClientID reads the demo app's API key from path, creating a random
// one on the first run.
func demoClientID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if id == "" || len(id) > 128 {
			return "", fmt.Errorf("%s: not a client id; delete the file to get a new one", path)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	// Like an NHS API key: 32 letters and digits.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	id := make([]byte, 0, 32)
	for len(id) < 32 {
		var buf [1]byte
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		if int(buf[0]) < 256-256%len(alphabet) {
			id = append(id, alphabet[int(buf[0])%len(alphabet)])
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(append(id, '\n')); err != nil {
		f.Close()
		return "", err
	}
	return string(id), f.Close()
}

// listenError explains a failed listen: which address, and how to choose
// another (a second demo still running is the usual cause).
func listenError(what, addr, flagName string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return withHint(fmt.Errorf("%s cannot listen on %s: the address is already in use: %w", what, addr, err),
			fmt.Sprintf("another program (a demo still running?) uses %s; stop it, or choose another address, e.g. %s 127.0.0.1:8081", addr, flagName))
	}
	return fmt.Errorf("%s cannot listen on %s: %w", what, addr, err)
}
