package awskms_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/pkjwt/pkjwt/internal/httpx"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/awskms"
)

// kmsDouble is a test double of the AWS KMS JSON API as its API reference
// documents it (POST /, X-Amz-Target: TrentService.<Operation>, JSON 1.1
// bodies, errors as {"__type": "<Code>", "message": "..."} with a 4xx or
// 5xx status). It is used only to reach the error answers and failure
// modes a real server (local-kms) will not give on demand: throttling,
// access denied, a slow answer, a wrong signature, an oversized body. The
// real protocol is tested against local-kms.
type kmsDouble struct {
	*httptest.Server
	key      *rsa.PrivateKey // the key GetPublicKey publishes
	signWith *rsa.PrivateKey // the key Sign uses (another one: a bad signature)

	mu        sync.Mutex
	pubAnswer func(w http.ResponseWriter) bool // true: answered
	signErr   func(w http.ResponseWriter) bool
	usage     string
	pubDER    []byte
	signCalls atomic.Int64
}

func newKMSDouble(t testing.TB) *kmsDouble {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048) // a test key, never stored
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	d := &kmsDouble{key: k, signWith: k, usage: "SIGN_VERIFY", pubDER: der}
	d.Server = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.Close)
	return d
}

func kmsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (d *kmsDouble) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil || r.Method != http.MethodPost || r.URL.Path != "/" {
		kmsError(w, 400, "ValidationException", "bad request")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		kmsError(w, 400, "MissingAuthenticationTokenException", "no SigV4 signature")
		return
	}
	d.mu.Lock()
	pubAnswer, signErr, usage, der := d.pubAnswer, d.signErr, d.usage, d.pubDER
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch r.Header.Get("X-Amz-Target") {
	case "TrentService.GetPublicKey":
		if pubAnswer != nil && pubAnswer(w) {
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"KeyId":             "arn:aws:kms:eu-west-2:111122223333:key/" + testKeyID,
			"KeySpec":           "RSA_2048",
			"KeyUsage":          usage,
			"PublicKey":         der,
			"SigningAlgorithms": []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_512"},
		})
	case "TrentService.Sign":
		d.signCalls.Add(1)
		if signErr != nil && signErr(w) {
			return
		}
		var in struct {
			KeyID            string `json:"KeyId"`
			Message          []byte
			MessageType      string
			SigningAlgorithm string
		}
		if err := json.Unmarshal(body, &in); err != nil || in.MessageType != "DIGEST" || in.SigningAlgorithm != "RSASSA_PKCS1_V1_5_SHA_512" {
			kmsError(w, 400, "ValidationException", "unexpected request")
			return
		}
		sig, err := rsa.SignPKCS1v15(rand.Reader, d.signWith, crypto.SHA512, in.Message)
		if err != nil {
			kmsError(w, 400, "ValidationException", err.Error())
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"KeyId": in.KeyID, "Signature": sig, "SigningAlgorithm": in.SigningAlgorithm})
	default:
		kmsError(w, 400, "UnknownOperationException", "")
	}
}

func (d *kmsDouble) set(f func(d *kmsDouble)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

func (d *kmsDouble) ref() string {
	return awskms.Ref{KeyID: "alias/pkjwt", Region: testRegion, Endpoint: d.URL}.String()
}

func answer(status int, code string) func(w http.ResponseWriter) bool {
	return func(w http.ResponseWriter) bool {
		kmsError(w, status, code, "the service says no")
		return true
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		code   string
		want   error
	}{
		{400, "AccessDeniedException", keys.ErrPermissionDenied},
		{400, "UnrecognizedClientException", keys.ErrPermissionDenied},
		{403, "InvalidSignatureException", keys.ErrPermissionDenied},
		{400, "ExpiredTokenException", keys.ErrPermissionDenied},
		{400, "DisabledException", keys.ErrKeyDisabled},
		{400, "KMSInvalidStateException", keys.ErrKeyDisabled},
		{500, "KeyUnavailableException", keys.ErrKeyDisabled},
		{400, "InvalidKeyUsageException", keys.ErrWrongKeyUsage},
		{400, "UnsupportedOperationException", keys.ErrWrongKeyUsage},
		{400, "ThrottlingException", keys.ErrThrottled},
		{400, "LimitExceededException", keys.ErrThrottled},
		{400, "RequestLimitExceeded", keys.ErrThrottled},
		{429, "TooManyRequestsException", keys.ErrThrottled},
		{400, "NotFoundException", keys.ErrNotFound},
		{500, "DependencyTimeoutException", keys.ErrRemoteTimeout},
		{400, "com.amazonaws.kms#DisabledException", keys.ErrKeyDisabled},
		{400, "ValidationException", nil},
		{500, "KMSInternalException", nil},
	}
	d := newKMSDouble(t)
	b := awskms.New(awskms.WithConfig(testConfig()), awskms.WithMaxAttempts(1))
	ctx := context.Background()
	s, err := b.OpenSigner(ctx, d.ref())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("payload"))
	all := []error{keys.ErrPermissionDenied, keys.ErrKeyDisabled, keys.ErrWrongKeyUsage, keys.ErrThrottled, keys.ErrNotFound, keys.ErrRemoteTimeout}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			// The cases share one double and run one after another,
			// each setting the answer it tests.
			d.set(func(d *kmsDouble) { d.signErr = answer(tt.status, tt.code); d.pubAnswer = answer(tt.status, tt.code) })
			sig, err := s.Sign(nil, sum[:], crypto.SHA512)
			if err == nil || sig != nil {
				t.Fatalf("Sign: %d bytes, %v", len(sig), err)
			}
			_, openErr := b.Open(ctx, d.ref())
			for _, e := range []error{err, openErr} {
				for _, sentinel := range all {
					if errors.Is(e, sentinel) != (sentinel == tt.want) {
						t.Fatalf("error %v: errors.Is(%v) = %v", e, sentinel, errors.Is(e, sentinel))
					}
				}
				var ae smithy.APIError
				if !errors.As(e, &ae) || !strings.HasSuffix(tt.code, ae.ErrorCode()) {
					t.Fatalf("error %v does not carry the KMS error code %s", e, tt.code)
				}
				if !strings.Contains(e.Error(), "the service says no") {
					t.Fatalf("error %q lacks the service's message", e)
				}
			}
		})
	}
}

// A throttled sign is retried a bounded number of times, then fails with
// keys.ErrThrottled.
func TestThrottledSignIsBounded(t *testing.T) {
	t.Parallel()
	for _, attempts := range []int{0, 1, 2} {
		t.Run(fmt.Sprint(attempts), func(t *testing.T) {
			t.Parallel()
			throttledSign(t, attempts)
		})
	}
}

func throttledSign(t *testing.T, attempts int) {
	{
		d := newKMSDouble(t)
		d.set(func(d *kmsDouble) { d.signErr = answer(400, "ThrottlingException") })
		b := awskms.New(awskms.WithConfig(testConfig()), awskms.WithMaxAttempts(attempts))
		s, err := b.Open(context.Background(), d.ref())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha512.Sum512([]byte("payload"))
		_, err = s.Sign(nil, sum[:], crypto.SHA512)
		errorsIs(t, err, keys.ErrThrottled)
		want := int64(attempts)
		if attempts == 0 {
			want = awskms.DefaultMaxAttempts
		}
		if got := d.signCalls.Load(); got != want {
			t.Fatalf("WithMaxAttempts(%d): %d Sign calls, want %d", attempts, got, want)
		}
	}
}

// An injected config's retryer (even one asking for 50 attempts) is bounded too.
func TestInjectedRetryerIsBounded(t *testing.T) {
	t.Parallel()
	d := newKMSDouble(t)
	d.set(func(d *kmsDouble) { d.signErr = answer(500, "KMSInternalException") })
	cfg := testConfig()
	cfg.RetryMaxAttempts = 50
	s, err := awskms.New(awskms.WithConfig(cfg), awskms.WithMaxAttempts(2)).Open(context.Background(), d.ref())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("payload"))
	if _, err := s.Sign(nil, sum[:], crypto.SHA512); err == nil {
		t.Fatal("signed")
	}
	if got := d.signCalls.Load(); got != 2 {
		t.Fatalf("%d Sign calls, want 2", got)
	}
}

// A KMS that does not answer within the sign timeout gives
// keys.ErrRemoteTimeout, in about that time.
func TestSignTimeout(t *testing.T) {
	t.Parallel()
	d := newKMSDouble(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	d.set(func(d *kmsDouble) {
		d.signErr = func(http.ResponseWriter) bool {
			select {
			case <-release:
			case <-time.After(30 * time.Second):
			}
			return false
		}
	})
	s, err := awskms.New(awskms.WithConfig(testConfig()), awskms.WithSignTimeout(300*time.Millisecond)).Open(context.Background(), d.ref())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("payload"))
	start := time.Now()
	_, err = s.Sign(nil, sum[:], crypto.SHA512)
	errorsIs(t, err, keys.ErrRemoteTimeout)
	errorsIs(t, err, context.DeadlineExceeded)
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("Sign returned after %s", el)
	}
	// A caller's earlier deadline applies too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = s.(*awskms.Signer).SignContext(ctx, sum[:], crypto.SHA512)
	errorsIs(t, err, keys.ErrRemoteTimeout)
}

// What GetPublicKey answers decides whether Open accepts the key.
func TestOpenChecksThePublicKey(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallDER, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 2<<20)
	tests := []struct {
		name string
		mod  func(d *kmsDouble)
		want error
	}{
		{"encryption key", func(d *kmsDouble) { d.usage = "ENCRYPT_DECRYPT" }, keys.ErrWrongKeyUsage},
		{"MAC key", func(d *kmsDouble) { d.usage = "GENERATE_VERIFY_MAC" }, keys.ErrWrongKeyUsage},
		{"1024-bit key", func(d *kmsDouble) { d.pubDER = smallDER }, keys.ErrKeyTooSmall},
		{"garbage key", func(d *kmsDouble) { d.pubDER = []byte("not DER") }, keys.ErrMalformed},
		{"oversized answer", func(d *kmsDouble) {
			d.pubAnswer = func(w http.ResponseWriter) bool {
				_, _ = io.WriteString(w, `{"KeyId":"`+big+`"}`)
				return true
			}
		}, httpx.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newKMSDouble(t)
			d.set(tt.mod)
			s, err := awskms.New(awskms.WithConfig(testConfig()), awskms.WithMaxAttempts(1)).Open(context.Background(), d.ref())
			if err == nil || s != nil {
				t.Fatalf("opened: %v", err)
			}
			errorsIs(t, err, tt.want)
		})
	}
}

// A signature that does not verify with the public key is refused.
func TestWrongSignatureRefused(t *testing.T) {
	t.Parallel()
	d := newKMSDouble(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b := awskms.New(awskms.WithConfig(testConfig()))
	s, err := b.Open(context.Background(), d.ref())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("payload"))
	if _, err := s.Sign(nil, sum[:], crypto.SHA512); err != nil {
		t.Fatalf("right key: %v", err)
	}
	d.set(func(d *kmsDouble) { d.signWith = other })
	sig, err := s.Sign(nil, sum[:], crypto.SHA512)
	if sig != nil {
		t.Fatal("returned a signature")
	}
	errorsIs(t, err, awskms.ErrBadSignature)
	// An algorithm the key does not list is refused before any call.
	calls := d.signCalls.Load()
	_, err = s.Sign(nil, sum[:48], crypto.SHA384)
	errorsIs(t, err, keys.ErrWrongKeyUsage)
	if d.signCalls.Load() != calls {
		t.Fatal("Sign called KMS for an algorithm the key does not allow")
	}
}

// WithClient: the injected client, with the reference's region and
// endpoint applied per call.
func TestWithClient(t *testing.T) {
	t.Parallel()
	d := newKMSDouble(t)
	client := kms.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: testConfig().Credentials})
	s, err := awskms.New(awskms.WithClient(client)).Open(context.Background(), d.ref())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("payload"))
	if _, err := s.Sign(nil, sum[:], crypto.SHA512); err != nil {
		t.Fatal(err)
	}
	if d.signCalls.Load() != 1 {
		t.Fatalf("%d sign calls", d.signCalls.Load())
	}
}
