package bench

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
)

// keyWithJWKS makes an RS512 key of bits and serves its JWKS on loopback
// until the benchmark ends.
func keyWithJWKS(b *testing.B, bits int) (*keys.Key, *httptest.Server) {
	b.Helper()
	key, err := keys.Generate("RS512", bits)
	if err != nil {
		b.Fatal(err)
	}
	jh, err := jwks.NewHandler([]*keys.Key{key})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(jh)
	b.Cleanup(srv.Close)
	return key, srv
}

// fileLogger logs as pkjwt serve and pkjwt emulator do (text, info level),
// to a file in the benchmark's temporary directory instead of stderr.
func fileLogger(b *testing.B, name string) *slog.Logger {
	f, err := os.Create(filepath.Join(b.TempDir(), name))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return slog.New(slog.NewTextHandler(f, nil))
}
