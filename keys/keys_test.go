package keys_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/keys"
)

// TestThumbprintRFC7638 checks the kid against the example of RFC 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	data, err := os.ReadFile("testdata/rfc7638-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	got, err := keys.Thumbprint(jwk.Key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

func TestGenerate(t *testing.T) {
	cases := []struct {
		alg     string
		bits    int
		wantErr error
		kty     string
	}{
		{"RS512", 2048, nil, "RSA"},
		{"PS256", 2048, nil, "RSA"},
		{"ES256", 0, nil, "EC"},
		{"ES384", 0, nil, "EC"},
		{"RS512", 1024, keys.ErrKeyTooSmall, ""},
		{"RS512", 2047, keys.ErrKeyTooSmall, ""},
		{"HS256", 0, keys.ErrUnsupportedAlgorithm, ""},
		{"none", 0, keys.ErrUnsupportedAlgorithm, ""},
		{"EdDSA", 0, keys.ErrUnsupportedAlgorithm, ""},
	}
	for _, tc := range cases {
		t.Run(tc.alg, func(t *testing.T) {
			k, err := keys.Generate(tc.alg, tc.bits)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			thumb, _ := keys.Thumbprint(k.Public())
			if k.ID != thumb || k.Algorithm != tc.alg || k.State != keys.StateActive {
				t.Fatalf("key %+v", k)
			}
			if tc.kty == "RSA" && k.Bits() != tc.bits {
				t.Fatalf("%d bits", k.Bits())
			}
		})
	}
}

func TestRingSigner(t *testing.T) {
	now := time.Now()
	mk := func(age time.Duration, st keys.State, nb time.Time) *keys.Key {
		k, err := keys.Generate("ES256", 0)
		if err != nil {
			t.Fatal(err)
		}
		k.Created, k.State, k.NotBefore = now.Add(-age), st, nb
		return k
	}
	old := mk(48*time.Hour, keys.StateActive, time.Time{})
	newer := mk(24*time.Hour, keys.StateActive, time.Time{})
	pending := mk(time.Hour, keys.StatePending, time.Time{})
	future := mk(time.Minute, keys.StateActive, now.Add(time.Hour))
	retired := mk(72*time.Hour, keys.StateRetired, time.Time{})
	cases := []struct {
		name string
		ks   []*keys.Key
		want *keys.Key
	}{
		{"newest active signs", []*keys.Key{old, newer}, newer},
		{"pending never signs", []*keys.Key{old, pending}, old},
		{"not before its time", []*keys.Key{old, future}, old},
		{"retired never signs", []*keys.Key{retired}, nil},
		{"empty", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := keys.NewRing(tc.ks...)
			got, err := r.SignerAt(now)
			if tc.want == nil {
				if !errors.Is(err, keys.ErrNoSigningKey) {
					t.Fatalf("got %v, %v", got, err)
				}
			} else if got.ID != tc.want.ID {
				t.Fatalf("signer %v, want %v", got.ID, tc.want.ID)
			}
			if len(r.Keys()) != len(tc.ks) {
				t.Fatal("every key in the ring must be published")
			}
		})
	}
	r := keys.NewRing(old, newer, pending)
	if k, err := r.Lookup(pending.ID); err != nil || k.ID != pending.ID || k.State != keys.StatePending {
		t.Fatal("lookup")
	}
	if _, err := r.Lookup("nope"); !errors.Is(err, keys.ErrNotFound) {
		t.Fatal("lookup of a missing kid")
	}
}

// GenerateContext returns as soon as its context ends, though a 16384-bit
// RSA key takes minutes; a context already ended makes no key at all.
func TestGenerateContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := keys.GenerateContext(ctx, "RS512", 4096); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := keys.GenerateContext(ctx, "RS512", keys.MaxRSABits); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("returned %v after a deadline of 50ms", took)
	}
}
