package interop_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
)

// BenchmarkHydraTokenRequest is one client credentials token request to
// ORY Hydra (SQLite file) per op: a fresh RS512 assertion signed with an
// RSA-4096 key, sent over TLS on loopback, verified by Hydra with the key
// from its JWKS cache. With -cpu N, N requests run at once. The web app is
// not needed here: a plain handler serves the JWKS.
func BenchmarkHydraTokenRequest(b *testing.B) {
	key, err := keys.Generate("RS512", 4096)
	if err != nil {
		b.Fatal(err)
	}
	ring := keys.NewRing(key)
	h, err := jwks.NewHandler(ring.Keys())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	jwksURL := "http://" + ln.Addr().String() + jwks.Path
	hy := testutil.StartHydra(b, testutil.HydraOptions{})
	ctx := context.Background()
	const clientID = "pkjwt-bench"
	if _, err := hy.CreateClient(ctx, privateKeyJWTClient(clientID, "RS512", jwksURL)); err != nil {
		b.Fatal(err)
	}
	cfg := pkjwt.Config{Profile: pkjwt.Generic(), TokenURL: hy.TokenURL, ClientID: clientID, Keys: ring, HTTPClient: hy.Client, MaxAttempts: 1}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ts, err := pkjwt.NewTokenSource(cfg) // no cache: a request per op
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := ts.TokenContext(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
