package testutil

import (
	"bytes"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LocalKMSRegion is the region the local-kms servers StartLocalKMS runs put
// in their key ARNs.
const LocalKMSRegion = "eu-west-2"

// LocalKMSBin finds the local-kms binary (tools/localkms, bound to loopback
// only): $PKJWT_LOCALKMS, else the copy "make deps" builds at
// ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/local-kms. Without it the test
// is skipped, unless PKJWT_REQUIRE_LOCALKMS is set ("make test" sets it):
// then it fails.
func LocalKMSBin(t testing.TB) string {
	t.Helper()
	bin, ok := cachedTool("PKJWT_LOCALKMS", "local-kms")
	if !ok {
		Missing(t, "PKJWT_REQUIRE_LOCALKMS", "local-kms not found ("+bin+"): build it with 'make localkms' or tools/localkms/build.sh, or set PKJWT_LOCALKMS")
	}
	return bin
}

// LocalKMS is a local-kms server on 127.0.0.1 with a key database of its
// own, started by StartLocalKMS for one test.
type LocalKMS struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// Region is the region of its key ARNs (LocalKMSRegion).
	Region string
}

// StartLocalKMS runs local-kms on a free port of 127.0.0.1 (the binary
// refuses any other address), with a fresh key database in a temporary
// directory, and stops it when the test ends.
func StartLocalKMS(t testing.TB) *LocalKMS {
	t.Helper()
	bin := LocalKMSBin(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-region", LocalKMSRegion)
	stderr := &SyncBuffer{}
	cmd.Stderr = stderr
	stdout := &firstLine{line: make(chan string, 1)}
	cmd.Stdout = stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
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
		t.Fatalf("local-kms endpoint %q: %v", endpoint, err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Fatalf("local-kms listens on %s, not on loopback", endpoint)
	}
	return &LocalKMS{Endpoint: endpoint, Region: LocalKMSRegion}
}

// Template is the awskms:// template reference for creating keys on this
// server ("awskms:///?region=…&endpoint=…").
func (l *LocalKMS) Template() string {
	return "awskms:///?region=" + l.Region + "&endpoint=" + url.QueryEscape(l.Endpoint)
}

// Ref is the awskms:// reference of the key keyID (a key id or alias/NAME)
// on this server.
func (l *LocalKMS) Ref(keyID string) string {
	return "awskms:///" + keyID + "?region=" + l.Region + "&endpoint=" + url.QueryEscape(l.Endpoint)
}

// Local-kms checks no request signature; these dummy credentials only let
// the AWS SDK sign its requests.
const (
	LocalKMSAccessKeyID     = "AKIDLOCALKMSTEST"
	LocalKMSSecretAccessKey = "local-kms-test-secret"
)

// LocalKMSEnv is the environment a child process (the pkjwt CLI) needs to
// reach a local-kms server through the AWS SDK's default chain: dummy static
// credentials, the region, no shared config or credentials files from the
// user's home (dir is a scratch directory of the test's), and no instance
// metadata service.
func LocalKMSEnv(dir string) []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + LocalKMSAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + LocalKMSSecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + LocalKMSRegion,
		"AWS_PROFILE=",
		"AWS_DEFAULT_PROFILE=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config-none"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials-none"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=",
		"AWS_ENDPOINT_URL_KMS=",
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
