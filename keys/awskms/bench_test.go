package awskms_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha512"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
)

// BenchmarkTokenRequest measures one token request to the NHS emulator on
// loopback (sign a fresh RS512 assertion, POST it, the emulator verifies it
// and issues a token) with a local RSA-4096 key, and with an RSA-4096 key in
// local-kms (one KMS Sign over loopback HTTP per request), side by side:
//
//	go test -run '^$' -bench BenchmarkTokenRequest -benchtime 50x ./keys/awskms/
//
// local-kms signs in software like the local key does, so the difference is
// the KMS round trip (SigV4 signing, HTTP, JSON) and the check of KMS's
// signature; AWS KMS itself adds its network latency and its HSM.
func BenchmarkTokenRequest(b *testing.B) {
	l := startLocalKMS(b)
	_, kmsSigner := l.create(b, l.backend())
	kmsKey, err := keys.New(kmsSigner, "RS512", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	localKey, err := keys.Generate("RS512", 4096)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		key  *keys.Key
	}{{"local", localKey}, {"localkms", kmsKey}} {
		b.Run(bc.name, func(b *testing.B) {
			env := newNHSEnv(b, bc.key)
			cfg := pkjwt.Config{Profile: pkjwt.Local(env.url), ClientID: env.apiKey, Keys: bc.key}
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				// A new source each time: the cache would answer otherwise.
				ts, err := pkjwt.NewTokenSource(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ts.TokenContext(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSign measures one RS512 signature of a SHA-512 digest: a local
// RSA-4096 key against a KMS Sign to local-kms (round trip, local-kms's own
// signing, and the check of its signature).
func BenchmarkSign(b *testing.B) {
	l := startLocalKMS(b)
	_, kmsSigner := l.create(b, l.backend())
	localKey, err := keys.Generate("RS512", 4096)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha512.Sum512([]byte("payload"))
	for _, bc := range []struct {
		name   string
		signer crypto.Signer
	}{{"local", localKey.Signer}, {"localkms", kmsSigner}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bc.signer.Sign(rand.Reader, digest[:], crypto.SHA512); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
