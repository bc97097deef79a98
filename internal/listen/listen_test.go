package listen

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeAndShutdown: a request is answered over loopback, a request in
// flight when ctx ends still completes, and Serve then returns nil.
func TestServeAndShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan struct{})
	release := make(chan struct{})
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(inFlight)
			<-release
		}
		io.WriteString(w, "ok")
	}))
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, ln) }()
	url := "http://" + ln.Addr().String()
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	<-inFlight
	cancel()
	// Shutdown has started once the listener is closed: a new connection
	// is refused.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting 10 s after ctx ended")
		}
	}
	close(release)
	if got := <-slow; got != "ok" {
		t.Fatalf("in-flight request: %q", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(url + "/"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

// TestServeReportsFailure: a listener that fails makes Serve return its
// error at once.
func TestServeReportsFailure(t *testing.T) {
	ln, err := Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = Serve(context.Background(), NewServer(http.NotFoundHandler()), ln)
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve on a closed listener: %v", err)
	}
}

func TestListenRefusesBadAddress(t *testing.T) {
	if _, err := Listen(context.Background(), "127.0.0.1:notaport"); err == nil {
		t.Fatal("no error")
	}
}

func TestNewServerTimeouts(t *testing.T) {
	s := NewServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout == 0 || s.ReadTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 || s.MaxHeaderBytes == 0 {
		t.Fatalf("a limit is unset: %+v", s)
	}
}

// TestWriteAddrFile: the file holds the listener's address and a newline,
// is private to the user, replaces an older file whole, and goes when
// removed; a directory that does not exist is an error naming the file.
func TestWriteAddrFile(t *testing.T) {
	ln, err := Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	path := filepath.Join(t.TempDir(), "addr")
	if err := os.WriteFile(path, []byte("127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	remove, err := WriteAddrFile(path, ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != ln.Addr().String()+"\n" {
		t.Fatalf("address file %q (%v), want %q", b, err, ln.Addr().String()+"\n")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v)", st.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".addr.*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	remove()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after remove: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "no", "addr")
	if _, err := WriteAddrFile(bad, ln.Addr()); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("missing directory: %v", err)
	}
}
