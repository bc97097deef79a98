package azurekv_test

import (
	"context"
	"crypto"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/internal/httpx"
	"github.com/pkjwt/pkjwt/keys/azurekv"
)

// An answer larger than MaxResponseSize is refused while it is read.
func TestResponseSizeBounded(t *testing.T) {
	v := newFakeVault(t)
	v.failWith("GET /secrets/", 200, `{"value":"`+strings.Repeat("A", azurekv.MaxResponseSize)+`"}`)
	_, _, err := v.backend().OpenSecret(context.Background(), pfxRef)
	if !errors.Is(err, httpx.ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	// An answer just under the limit is read (and then refused for its
	// value's size, a different error).
	v.failWith("GET /secrets/", 200, `{"value":"`+strings.Repeat("A", azurekv.MaxResponseSize-20)+`"}`)
	_, _, err = v.backend().OpenSecret(context.Background(), pfxRef)
	if err == nil || errors.Is(err, httpx.ErrTooLarge) {
		t.Fatalf("err %v, want a value-size error", err)
	}
}

// A credential that cannot get a token fails Open with its error; the
// vault sees no authenticated request.
func TestCredentialFailure(t *testing.T) {
	v := newFakeVault(t)
	v.addKey("nhs-signing", testRSAKey(t, 0))
	cred := &azfake.TokenCredential{}
	cred.SetError(errors.New("no Azure credentials in this environment"))
	b := azurekv.New(append(v.options(), azurekv.WithCredential(cred))...)
	_, err := b.Open(context.Background(), keyRef)
	if err == nil || !strings.Contains(err.Error(), "no Azure credentials") {
		t.Fatalf("err %v", err)
	}
	if n := v.count("GET /keys/nhs-signing/"); n != 0 {
		t.Fatalf("%d authenticated requests", n)
	}
}

// One Signer serves concurrent Sign calls (run under -race).
func TestConcurrentSign(t *testing.T) {
	v := newFakeVault(t)
	priv := testRSAKey(t, 0)
	v.addKey("nhs-signing", priv)
	s, err := v.backend().Open(context.Background(), keyRef)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			d := sha512.Sum512(fmt.Appendf(nil, "assertion %d", i))
			sig, err := s.Sign(nil, d[:], crypto.SHA512)
			if err == nil && len(sig) != priv.Size() {
				err = fmt.Errorf("%d-byte signature", len(sig))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	signJWS(t, s, jose.RS512, &priv.PublicKey)
	if n := len(v.signCalls()); n != 17 {
		t.Fatalf("%d sign calls, want 17", n)
	}
}
