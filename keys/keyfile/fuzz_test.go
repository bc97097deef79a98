package keyfile

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/keys"
)

// FuzzPFXWork: PFX files with nested and encrypted safes never panic the
// reader of their key-derivation counts, and a file it lets through never
// makes go-pkcs12 derive for long. The bound here is 10,000 iterations (not
// MaxPFXIterations) so that each input takes milliseconds; a count the
// reader missed would make DecodeChain run for the mutated count instead,
// up to minutes, which the 20 s check reports.
func FuzzPFXWork(f *testing.F) {
	const bound = 10_000
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	c, err := keys.SelfSignedCertificate(k, "fuzz", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range []testutil.PFXLayout{
		{SafeIterations: 1, KeyIterations: 1},
		{SafeIterations: 1, KeyIterations: 1, KeyInEncryptedSafe: true},
		{SafeIterations: 1, KeyIterations: 1, KeyInEncryptedSafe: true, Nesting: 2},
		{SafeIterations: 2, KeyIterations: 1, Nesting: 1},
		{Password: "pw", MACIterations: 1, SafeIterations: 1, KeyIterations: 1, KeyInEncryptedSafe: true, Nesting: 1},
		{Password: "pw", MACIterations: 1, SafeIterations: 1, KeyIterations: 1 << 30},
	} {
		f.Add(testutil.BuildPFX(f, k, c, l), l.Password)
	}
	for _, enc := range []*pkcs12.Encoder{pkcs12.LegacyRC2, pkcs12.LegacyDES, pkcs12.Modern2023, pkcs12.Modern2026} {
		for _, pw := range []string{"", "pw"} {
			der, err := enc.WithIterations(1).Encode(k, c, nil, pw)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(der, pw)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, pw string) {
		if len(data) > MaxPFXSize {
			return
		}
		if err := pfxWork(context.Background(), data, pw, bound); err != nil {
			if !errors.Is(err, keys.ErrMalformed) {
				t.Fatalf("refusal without ErrMalformed: %v", err)
			}
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { _ = recover() }() // go-pkcs12's own panics are ParsePFX's concern
			_, _, _, _ = pkcs12.DecodeChain(data, pw)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("go-pkcs12 still deriving 20 s after the counts were passed")
		}
	})
}
