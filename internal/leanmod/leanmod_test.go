package leanmod

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/internal/testutil"
)

// maxSumLines is the most go.sum lines the consumer may have: go-jose,
// uuid, x/oauth2 and x/sync (and goleak, which the root package's tests
// use and "go mod tidy" records), two lines each. Before keys was split it
// was 16 (14 without goleak): go-pkcs12, youmark/pkcs8 and x/crypto came
// along with the codecs.
const maxSumLines = 10

// forbidden are the modules of the PFX and encrypted-PEM codecs.
var forbidden = []string{"software.sslmate.com/src/go-pkcs12", "github.com/youmark/pkcs8", "golang.org/x/crypto"}

const consumerMain = `package main

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
)

func main() {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	key, err := keys.New(priv, keys.DefaultAlgorithm, time.Now())
	if err != nil {
		panic(err)
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{ClientID: "client", TokenURL: "https://auth.example/token", Keys: key})
	if err != nil {
		panic(err)
	}
	fmt.Println(ts.Config().TokenURL)
}
`

// TestConsumerModuleIsLean builds the consumer module with "go mod tidy"
// and "go build" against this checkout (a replace directive) and reads
// its go.sum. It needs the module proxy (or a module cache holding the
// root's dependencies): without it the test is skipped, unless
// PKJWT_REQUIRE_MODPROXY is set ("make test" sets it).
func TestConsumerModuleIsLean(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module with the go command")
	}
	root, err := filepath.Abs(filepath.Join("..", "..")) // a test runs in its package's directory
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module example.com/consumer\n\ngo 1.26.0\n\nrequire github.com/pkjwt/pkjwt v0.0.0\n\nreplace github.com/pkjwt/pkjwt => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(consumerMain), 0o644); err != nil {
		t.Fatal(err)
	}
	gocmd := "go"
	run := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, gocmd, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		return cmd.CombinedOutput()
	}
	if out, err := run("mod", "tidy"); err != nil {
		testutil.Missing(t, "PKJWT_REQUIRE_MODPROXY", "go mod tidy in a consumer module failed (no module proxy?): "+err.Error()+": "+string(out))
	}
	if out, err := run("build", "-o", filepath.Join(dir, "consumer"), "."); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sum)), "\n")
	t.Logf("consumer go.sum: %d lines\n%s", len(lines), sum)
	if len(lines) > maxSumLines {
		t.Errorf("consumer go.sum has %d lines, at most %d allowed", len(lines), maxSumLines)
	}
	for _, m := range forbidden {
		if bytes.Contains(sum, []byte(m+" ")) {
			t.Errorf("consumer go.sum holds %s, a module of the PFX/PEM codecs only keys/keyfile needs", m)
		}
	}
	out, err := run("list", "-deps", ".")
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range []string{"github.com/pkjwt/pkjwt/keys/keyfile", "github.com/pkjwt/pkjwt/keys/keydir"} {
		if bytes.Contains(out, []byte(p+"\n")) {
			t.Errorf("the consumer links %s", p)
		}
	}
}

// TestRootLinksNoCodec: the root package and the key model link none of
// the PFX and encrypted-PEM code (keys/keyfile and its modules), nor the
// key directory; go list needs no network.
func TestRootLinksNoCodec(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/pkjwt/pkjwt", "github.com/pkjwt/pkjwt/keys").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list -deps listed only %d packages", len(deps))
	}
	banned := append([]string{"github.com/pkjwt/pkjwt/keys/keyfile", "github.com/pkjwt/pkjwt/keys/keydir"}, forbidden...)
	for _, d := range deps {
		for _, b := range banned {
			if d == b || strings.HasPrefix(d, b+"/") {
				t.Errorf("the root package depends on %s", d)
			}
		}
	}
}
