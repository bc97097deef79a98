package listen

import (
	"context"
	"errors"
	"io"
	"net/http"
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
	time.Sleep(50 * time.Millisecond) // let Shutdown start
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
