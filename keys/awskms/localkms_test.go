package awskms_test

import (
	"context"
	"errors"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/keys/awskms"
)

// testRegion is local-kms's default region; its ARNs carry it.
const testRegion = testutil.LocalKMSRegion

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
	return testutil.LocalKMSBin(t)
}

// startLocalKMS runs local-kms on 127.0.0.1 (the binary refuses any other
// address) with a fresh key database and stops it when the test ends.
func startLocalKMS(t testing.TB) *localKMS {
	t.Helper()
	l := testutil.StartLocalKMS(t)
	client := kms.NewFromConfig(testConfig(), func(o *kms.Options) { o.BaseEndpoint = aws.String(l.Endpoint) })
	return &localKMS{endpoint: l.Endpoint, client: client}
}

// testConfig is an AWS configuration with static dummy credentials (local-kms
// does not check signatures) and no other source of credentials, so no test
// ever asks an instance metadata service.
func testConfig() aws.Config {
	return aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testutil.LocalKMSAccessKeyID, testutil.LocalKMSSecretAccessKey, ""),
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
