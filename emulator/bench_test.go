package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

var benchKey struct {
	once sync.Once
	key  *rsa.PrivateKey
}

// rsa4096 returns the 4096-bit key shared by the benchmarks of one run.
func rsa4096(b *testing.B) *rsa.PrivateKey {
	benchKey.once.Do(func() { benchKey.key = genKey(b, 4096) })
	return benchKey.key
}

// BenchmarkTokenEndpoint measures token requests per second through real
// HTTP on 127.0.0.1 with 64 concurrent clients. Every request carries a
// fresh RS512 assertion signed with a 4096-bit key; the assertions are
// signed before the timer starts, so the figure is the server's.
func BenchmarkTokenEndpoint(b *testing.B) {
	key := rsa4096(b)
	js := newJWKSServer(b)
	js.addKey("bench-1", &key.PublicKey)
	srv, err := New(Config{
		Apps: []App{{Name: "bench", APIKey: "bench-key", JWKSURL: js.url(), Scopes: []string{PDSScope}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	ts := newLoopbackServer(b, srv.Handler())
	tokenURL := ts + TokenPath

	// Pre-sign b.N assertions in parallel, outside the timer.
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS512, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "bench-1"))
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([]string, b.N)
	exp := time.Now().Unix() + 300
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				s, err := jwt.Signed(signer).Claims(map[string]any{
					"iss": "bench-key", "sub": "bench-key", "aud": tokenURL, "jti": uuid.NewString(), "exp": exp,
				}).Serialize()
				if err != nil {
					b.Error(err)
					return
				}
				bodies[i] = form(s).Encode()
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128}}
	defer client.CloseIdleConnections()
	// Warm the JWKS cache and the connections.
	resp, err := client.Get(js.url())
	if err == nil {
		resp.Body.Close()
	}

	const clients = 64
	var idx atomic.Int64
	var failures atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var cw sync.WaitGroup
	for c := 0; c < clients; c++ {
		cw.Go(func() {
			for {
				i := int(idx.Add(1) - 1)
				if i >= b.N {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := client.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
			}
		})
	}
	cw.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d requests did not get 200", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}

// newLoopbackServer serves h on 127.0.0.1 and returns its base URL.
func newLoopbackServer(b *testing.B, h http.Handler) string {
	ts := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ln, err := listenLoopback()
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = ts.Serve(ln) }()
	b.Cleanup(func() { _ = ts.Close() })
	return "http://" + ln.Addr().String()
}

// BenchmarkRSA4096VerifyPKCS1v15SHA512 is the raw cost of the signature
// check the token endpoint must do: rsa.VerifyPKCS1v15 with SHA-512 on the
// same 4096-bit key, on one goroutine.
func BenchmarkRSA4096VerifyPKCS1v15SHA512(b *testing.B) {
	key := rsa4096(b)
	digest := sha512.Sum512([]byte("header.payload"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA512, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA512, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verify/s")
}

// BenchmarkRSA4096VerifyPKCS1v15SHA512Parallel is the same on every core
// (GOMAXPROCS goroutines), the ceiling for the token endpoint.
func BenchmarkRSA4096VerifyPKCS1v15SHA512Parallel(b *testing.B) {
	key := rsa4096(b)
	digest := sha512.Sum512([]byte("header.payload"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA512, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA512, digest[:], sig); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verify/s")
}

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
