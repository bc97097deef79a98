package pkjwt_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/internal/coarse"
	"github.com/pkjwt/pkjwt/keys"
)

// key4096 is the 4096-bit key NHS England requires, made once.
var key4096 = sync.OnceValue(func() *keys.Key {
	k, err := keys.Generate("RS512", 4096)
	if err != nil {
		panic(err)
	}
	return k
})

func benchSource(b *testing.B) *pkjwt.TokenSource {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"t","expires_in":"599","token_type":"Bearer"}`)
	}))
	b.Cleanup(srv.Close)
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(srv.URL), ClientID: "c", Keys: testKey()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		b.Fatal(err)
	}
	return ts
}

// BenchmarkCachedToken reads a cached token from many goroutines: pkjwt's
// TokenSource next to oauth2.ReuseTokenSource over the same source.
func BenchmarkCachedToken(b *testing.B) {
	b.Run("pkjwt", func(b *testing.B) {
		ts := benchSource(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ts.Token(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("oauth2.ReuseTokenSource", func(b *testing.B) {
		rts := oauth2.ReuseTokenSource(nil, benchSource(b))
		if _, err := rts.Token(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := rts.Token(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkAssertion signs one NHS assertion (RS512, RSA-4096) next to the
// bare RSA operation it cannot beat: SHA-512 + rsa.SignPKCS1v15 on the same
// key over a message of the same length.
func BenchmarkAssertion(b *testing.B) {
	k := key4096()
	a := pkjwt.Assertion{ClientID: "my-api-key-0123456789", Audience: "https://int.api.service.nhs.uk/oauth2/token"}
	sample, err := a.Sign(context.Background(), k)
	if err != nil {
		b.Fatal(err)
	}
	signingInput := []byte(sample[:len(sample)-683]) // header.payload (the signature is 683 base64url chars)
	b.Run("pkjwt.Assertion.Sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Sign(context.Background(), k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rsa.SignPKCS1v15-SHA512", func(b *testing.B) {
		priv := k.Signer.(*rsa.PrivateKey)
		b.ReportAllocs()
		for b.Loop() {
			sum := sha512.Sum512(signingInput)
			if _, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA512, sum[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTokenFetch is one full token request over loopback (sign,
// POST, parse) with a 4096-bit key: the cost of a cache miss.
func BenchmarkTokenFetch(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"t","expires_in":"599","token_type":"Bearer"}`)
	}))
	defer srv.Close()
	now := time.Now()
	var step time.Duration
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile: pkjwt.Local(srv.URL), ClientID: "c", Keys: key4096(),
		Now: func() time.Time { return now.Add(step) },
	})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		step += time.Hour // every call finds an expired cache
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClockRead is the wall-clock read of the cached Token() path
// (see bench/README.md): time.Now, which on a VM's kvm-clock costs more
// than the rest of the path together, next to the coarse clock's read
// that the path makes instead (one atomic load, plus one of its "used"
// flag), both from many goroutines.
func BenchmarkClockRead(b *testing.B) {
	b.Run("time.Now", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = time.Now()
			}
		})
	})
	b.Run("coarse.Clock", func(b *testing.B) {
		c := coarse.New(time.Now)
		c.UnixNano() // start its ticks
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = c.UnixNano()
			}
		})
	})
}
