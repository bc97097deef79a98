package awskms_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/keys/awskms"
)

// testRegion is local-kms's default region; its ARNs carry it.
const testRegion = "eu-west-2"

// localKMS is a local-kms server (tools/localkms) on 127.0.0.1, with a
// fresh key database, for one test.
type localKMS struct {
	endpoint string // http://127.0.0.1:PORT
	client   *kms.Client
}

// localKMSBinary returns the path of the local-kms binary, or skips the test
// (fails it when PKJWT_REQUIRE_LOCALKMS is set: "make test" sets it after
// building the binary with tools/localkms/build.sh).
func localKMSBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("PKJWT_LOCALKMS")
	if bin == "" {
		cache, err := os.UserCacheDir() // $XDG_CACHE_HOME or $HOME/.cache
		if err == nil {
			bin = filepath.Join(cache, "pkjwt-tools", "local-kms")
		}
	}
	if bin != "" {
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
	}
	msg := "local-kms not found (" + bin + "): build it with 'make localkms' or tools/localkms/build.sh, or set PKJWT_LOCALKMS"
	if os.Getenv("PKJWT_REQUIRE_LOCALKMS") != "" {
		t.Fatal(msg + " (PKJWT_REQUIRE_LOCALKMS is set)")
	}
	t.Skip(msg)
	return ""
}

// startLocalKMS runs local-kms on 127.0.0.1 (the binary refuses any other
// address) and stops it when the test ends.
func startLocalKMS(t testing.TB) *localKMS {
	t.Helper()
	bin := localKMSBinary(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-region", testRegion)
	stderr := &testutil.SyncBuffer{}
	cmd.Stderr = stderr
	stdout := &firstLine{line: make(chan string, 1)}
	cmd.Stdout = stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("local-kms stderr:\n%s", stderr.String())
		}
	})
	var line string
	select {
	case line = <-stdout.line:
	case <-done:
		t.Fatalf("local-kms exited; stderr:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("local-kms did not start in 30 s; stderr:\n%s", stderr.String())
	}
	const prefix = "local-kms listening on "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("local-kms: unexpected first line %q; stderr:\n%s", line, stderr.String())
	}
	endpoint := strings.TrimSpace(strings.TrimPrefix(line, prefix))
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Fatalf("local-kms listens on %s, not on loopback", endpoint)
	}
	client := kms.NewFromConfig(testConfig(), func(o *kms.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return &localKMS{endpoint: endpoint, client: client}
}

// testConfig is an AWS configuration with static dummy credentials (local-kms
// does not check signatures) and no other source of credentials, so no test
// ever asks an instance metadata service.
func testConfig() aws.Config {
	return aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCALKMSTEST", "local-kms-test-secret", ""),
	}
}

// template is the Create template for this server.
func (l *localKMS) template() string {
	return "awskms:///?region=" + testRegion + "&endpoint=" + url.QueryEscape(l.endpoint)
}

// ref is the reference of key (an id, alias/NAME or ARN) on this server.
func (l *localKMS) ref(key string) string {
	r := awskms.Ref{KeyID: key, Endpoint: l.endpoint}
	if !strings.HasPrefix(key, "arn:") {
		r.Region = testRegion
	}
	return r.String()
}

// backend is a Backend on testConfig.
func (l *localKMS) backend(opts ...awskms.Option) *awskms.Backend {
	return awskms.New(append([]awskms.Option{awskms.WithConfig(testConfig())}, opts...)...)
}

// create makes an RS512 key (RSA_4096, SIGN_VERIFY) through the backend.
func (l *localKMS) create(t testing.TB, b *awskms.Backend) (string, *awskms.Signer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ref, s, err := b.CreateSigner(ctx, l.template(), "RS512")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return ref, s
}

// errorsIs fails the test unless errors.Is(err, want).
func errorsIs(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want one matching %v", err, want)
	}
}

// firstLine is a process's stdout that hands over its first line (at most
// 4 KiB are kept) and discards the rest.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	line chan string
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sent {
		return len(p), nil
	}
	f.buf = append(f.buf, p[:min(len(p), 4096-len(f.buf))]...)
	if i := bytes.IndexByte(f.buf, '\n'); i >= 0 || len(f.buf) >= 4096 {
		if i < 0 {
			i = len(f.buf)
		}
		f.sent = true
		f.line <- string(f.buf[:i])
	}
	return len(p), nil
}

// The local-kms the tests run refuses to listen anywhere but on loopback.
func TestLocalKMSRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	bin := localKMSBinary(t)
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "localhost:0"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, bin, "-addr", addr, "-data", t.TempDir()).CombinedOutput()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), "only a loopback IP address is allowed") {
			t.Fatalf("-addr %s: %v, output %q", addr, err, out)
		}
	}
}
