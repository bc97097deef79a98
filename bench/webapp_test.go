package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/webapp"
)

// BenchmarkWebappJWKS serves the web app's /.well-known/jwks.json on
// 127.0.0.1 to 64 concurrent clients, with the request log written to a
// file as "pkjwt serve" writes it (log=file) and with no log
// (log=discard): the difference is what the per-request log line costs.
// For the profile in bench/README.md:
//
//	go test -run '^$' -bench 'WebappJWKS/log=file' -benchtime 20000x -cpuprofile cpu.out ./bench/
//	go tool pprof -top bench.test cpu.out
func BenchmarkWebappJWKS(b *testing.B) {
	benchWebapp(b, jwks.Path)
}

// BenchmarkWebappPage is the same for the System to System page with a
// cached token: each page makes one PDS call to the emulator (in this
// process, on 127.0.0.1) and renders the result.
func BenchmarkWebappPage(b *testing.B) {
	benchWebapp(b, "/system-to-system")
}

func benchWebapp(b *testing.B, path string) {
	key, jwksSrv := keyWithJWKS(b, 2048) // the key size does not matter here: the token is cached
	emu, err := emulator.New(emulator.Config{Apps: []emulator.App{{Name: "bench", APIKey: "bench-app",
		JWKSURL: jwksSrv.URL + jwks.Path, Status: emulator.StatusApproved, Scopes: []string{emulator.PDSScope}}}})
	if err != nil {
		b.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(emuSrv.URL), ClientID: "bench-app", Keys: key})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		log  func(b *testing.B) *slog.Logger
	}{
		{"log=file", func(b *testing.B) *slog.Logger { return fileLogger(b, "serve.log") }},
		{"log=discard", func(*testing.B) *slog.Logger { return slog.New(slog.DiscardHandler) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			app, err := webapp.New(webapp.Config{TokenSource: ts, Logger: bc.log(b)})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(app.Handler())
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxIdleConns: 128}}
			defer client.CloseIdleConnections()
			get := func() error {
				resp, err := client.Get(srv.URL + path)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK {
					return &statusError{resp.StatusCode}
				}
				return nil
			}
			if err := get(); err != nil { // the token, the connections
				b.Fatal(err)
			}
			b.SetParallelism(32) // 64 clients on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }
