package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
)

// BenchmarkEmulatorToken runs the emulator's token endpoint in this process
// on 127.0.0.1 with its request log written to a file as "pkjwt emulator"
// writes it (log=file) and with no log (log=discard), 64 clients, RS512
// with an RSA-4096 key, assertions signed before the timer: for the CPU
// profile of row 1b in bench/README.md.
//
//	go test -run '^$' -bench EmulatorToken -benchtime 3000x -cpuprofile cpu.out ./bench/
func BenchmarkEmulatorToken(b *testing.B) {
	key, jwksSrv := keyWithJWKS(b, 4096)
	for _, bc := range []struct {
		name string
		log  func(b *testing.B) *slog.Logger
	}{
		{"log=file", func(b *testing.B) *slog.Logger { return fileLogger(b, "emulator.log") }},
		{"log=discard", func(*testing.B) *slog.Logger { return nil }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			emu, err := emulator.New(emulator.Config{
				Apps: []emulator.App{{Name: "bench", APIKey: "bench-app", JWKSURL: jwksSrv.URL + jwks.Path,
					Status: emulator.StatusApproved, Scopes: []string{emulator.PDSScope}}},
				Logger: bc.log(b),
			})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(emu.Handler())
			defer srv.Close()
			tokenURL := srv.URL + emulator.TokenPath
			bodies := make([]string, b.N+1)
			var next atomic.Int64
			var wg sync.WaitGroup
			for w := 0; w < runtime.GOMAXPROCS(0); w++ {
				wg.Go(func() {
					for i := int(next.Add(1) - 1); i < len(bodies); i = int(next.Add(1) - 1) {
						jws, err := pkjwt.Assertion{ClientID: "bench-app", Audience: tokenURL, Lifetime: 5 * time.Minute}.Sign(b.Context(), key)
						if err != nil {
							b.Error(err)
							return
						}
						bodies[i] = url.Values{"grant_type": {"client_credentials"},
							"client_assertion_type": {pkjwt.AssertionType}, "client_assertion": {jws}}.Encode()
					}
				})
			}
			wg.Wait()
			if b.Failed() {
				return
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxIdleConns: 128}}
			defer client.CloseIdleConnections()
			post := func(body string) error {
				resp, err := client.Post(tokenURL, "application/x-www-form-urlencoded", strings.NewReader(body))
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
			if err := post(bodies[b.N]); err != nil { // the JWKS, the connections
				b.Fatal(err)
			}
			var idx atomic.Int64
			b.SetParallelism(32) // 64 clients on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := post(bodies[idx.Add(1)-1]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
