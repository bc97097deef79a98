package azurekv_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/azurekv"
)

const keyRef = "azurekv://" + testVault + "/keys/nhs-signing"

// signJWS signs payload through go-jose's opaque-signer path (the path
// pkjwt.Assertion uses) and verifies it with go-jose and pub.
func signJWS(t *testing.T, s crypto.Signer, alg jose.SignatureAlgorithm, pub *rsa.PublicKey) {
	t.Helper()
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: cryptosigner.Opaque(s)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := js.Sign([]byte(`{"iss":"test"}`))
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	compact, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := parsed.Verify(pub)
	if err != nil {
		t.Fatalf("%s signature from the vault does not verify: %v", alg, err)
	}
	if string(payload) != `{"iss":"test"}` {
		t.Fatalf("payload %q", payload)
	}
}

func TestOpenAndSign(t *testing.T) {
	v := newFakeVault(t)
	priv := testRSAKey(t, 0)
	vk := v.addKey("nhs-signing", priv)
	b := v.backend()
	if b.Scheme() != "azurekv" {
		t.Fatalf("scheme %q", b.Scheme())
	}
	signer, err := b.Open(context.Background(), keyRef)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.PublicKey.Equal(signer.Public()) {
		t.Fatal("public key differs from the vault's")
	}
	s := signer.(*azurekv.Signer)
	if s.Version() != vk.version || s.Ref() != keyRef+"/"+vk.version {
		t.Fatalf("version %q ref %q, want version %q", s.Version(), s.Ref(), vk.version)
	}
	if want := "https://pkjwt-test.vault.azure.net/keys/nhs-signing/" + vk.version; s.KeyID() != want {
		t.Fatalf("KeyID %q, want %q", s.KeyID(), want)
	}
	if ops := s.Operations(); len(ops) != 2 || ops[0] != "sign" {
		t.Fatalf("operations %v", ops)
	}

	// The signer is usable as a keys.Key, RS512 as NHS England requires.
	k, err := keys.New(signer, "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if k.Bits() != 2048 {
		t.Fatalf("bits %d", k.Bits())
	}
	for _, alg := range []jose.SignatureAlgorithm{jose.RS512, jose.RS256, jose.PS512, jose.RS512} {
		signJWS(t, signer, alg, &priv.PublicKey)
	}
	want := []string{"RS512", "RS256", "PS512", "RS512"}
	calls := v.signCalls()
	if len(calls) != len(want) {
		t.Fatalf("sign calls %v", calls)
	}
	for i, c := range calls {
		if c != "nhs-signing/"+vk.version+" "+want[i] {
			t.Errorf("sign call %d = %q, want version %s alg %s", i, c, vk.version, want[i])
		}
	}
	// One GetKey for the whole life of the signer.
	if n := v.count("GET /keys/nhs-signing/"); n != 1 {
		t.Errorf("%d GetKey calls, want 1", n)
	}
}

func TestSignContextChecksInput(t *testing.T) {
	v := newFakeVault(t)
	v.addKey("nhs-signing", testRSAKey(t, 0))
	s, err := v.backend().OpenKey(context.Background(), keyRef)
	if err != nil {
		t.Fatal(err)
	}
	d256 := sha256.Sum256([]byte("x"))
	d512 := sha512.Sum512([]byte("x"))
	tests := []struct {
		name    string
		digest  []byte
		opts    crypto.SignerOpts
		wantErr error
	}{
		{"digest length mismatch", d256[:], crypto.SHA512, nil},
		{"SHA-1 refused", d256[:20], crypto.SHA1, keys.ErrUnsupportedAlgorithm},
		{"PSS salt length refused", d512[:], &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: 20}, keys.ErrUnsupportedAlgorithm},
		{"no options", d512[:], nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SignContext(context.Background(), tt.digest, tt.opts)
			if err == nil {
				t.Fatal("signed")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
	if calls := v.signCalls(); len(calls) != 0 {
		t.Fatalf("refused input reached the vault: %v", calls)
	}
}

// After Open, a new key version in the vault does not change the key that
// signs: every Sign names the version fetched at Open.
func TestVersionPin(t *testing.T) {
	v := newFakeVault(t)
	old := testRSAKey(t, 0)
	oldV := v.addKey("nhs-signing", old)
	b := v.backend()
	ctx := context.Background()
	pinned, err := b.Open(ctx, keyRef)
	if err != nil {
		t.Fatal(err)
	}
	newer := testRSAKey(t, 1)
	newV := v.addKey("nhs-signing", newer)

	signJWS(t, pinned, jose.RS512, &old.PublicKey)
	if calls := v.signCalls(); len(calls) != 1 || calls[0] != "nhs-signing/"+oldV.version+" RS512" {
		t.Fatalf("sign calls %v, want the version fetched at Open (%s)", calls, oldV.version)
	}

	latest, err := b.Open(ctx, keyRef)
	if err != nil {
		t.Fatal(err)
	}
	if !newer.PublicKey.Equal(latest.Public()) {
		t.Fatal("a new Open did not get the newest version")
	}
	explicit, err := b.Open(ctx, keyRef+"/"+oldV.version)
	if err != nil {
		t.Fatal(err)
	}
	if !old.PublicKey.Equal(explicit.Public()) || explicit.(*azurekv.Signer).Version() != oldV.version {
		t.Fatal("a versioned reference did not open that version")
	}
	signJWS(t, explicit, jose.RS512, &old.PublicKey)
	if _, err := b.Open(ctx, keyRef+"/"+strings.Repeat("f", 32)); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("unknown version: %v, want keys.ErrNotFound", err)
	}
	_ = newV
}

func TestErrorMapping(t *testing.T) {
	const (
		getPath  = "GET /keys/nhs-signing/"
		signPath = "POST /keys/nhs-signing/"
	)
	tests := []struct {
		name string
		// setup prepares the vault; failAt/status/body inject an answer.
		setup    func(v *fakeVault)
		failAt   string
		status   int
		body     string
		wantErr  error
		atOpen   bool
		wantText string
	}{
		{name: "disabled key at open", setup: func(v *fakeVault) {
			v.find("nhs-signing", "").enabled = false
		}, wantErr: keys.ErrKeyDisabled, atOpen: true, wantText: "enabled attribute is false"},
		{name: "disabled key at sign", failAt: signPath, status: 403,
			body:    kvError("Forbidden", "Operation sign is not allowed on a disabled key.", "KeyDisabled"),
			wantErr: keys.ErrKeyDisabled, wantText: "HTTP 403 Forbidden/KeyDisabled"},
		{name: "disabled key, message only", failAt: signPath, status: 403,
			body:    kvError("Forbidden", "Operation sign is not allowed on a disabled key.", ""),
			wantErr: keys.ErrKeyDisabled},
		{name: "disabled key, inner code only", failAt: signPath, status: 403,
			body: kvError("Forbidden", "Forbidden.", "KeyDisabled"), wantErr: keys.ErrKeyDisabled},
		{name: "operation forbidden, inner code only", failAt: signPath, status: 403,
			body: kvError("Forbidden", "Forbidden.", "KeyOperationForbidden"), wantErr: keys.ErrWrongKeyUsage},
		{name: "access policy forbids get", failAt: getPath, status: 403,
			body:    kvError("Forbidden", "The user, group or application 'appid=00000000-0000-0000-0000-000000000000' does not have keys get permission on key vault 'pkjwt-test'.", "AccessDenied"),
			wantErr: keys.ErrPermissionDenied, atOpen: true, wantText: "does not have keys get permission"},
		{name: "RBAC forbids sign", failAt: signPath, status: 403,
			body:    kvError("Forbidden", "Caller is not authorized to perform action on resource.", "ForbiddenByRbac"),
			wantErr: keys.ErrPermissionDenied},
		{name: "unauthorized", failAt: signPath, status: 401,
			body:    kvError("Unauthorized", "AKV10032: Invalid issuer.", ""),
			wantErr: keys.ErrPermissionDenied},
		{name: "throttled", failAt: signPath, status: 429,
			body:    kvError("Throttled", "Request was not processed because too many requests were received.", ""),
			wantErr: keys.ErrThrottled},
		{name: "key not found", failAt: getPath, status: 404,
			body:    kvError("KeyNotFound", "A key with (name/id) nhs-signing was not found in this key vault.", ""),
			wantErr: keys.ErrNotFound, atOpen: true},
		{name: "key without sign operation", setup: func(v *fakeVault) {
			v.find("nhs-signing", "").ops = []azkeys.KeyOperation{azkeys.KeyOperationEncrypt, azkeys.KeyOperationDecrypt}
		}, wantErr: keys.ErrWrongKeyUsage, atOpen: true, wantText: "sign is not among them"},
		{name: "operation forbidden at sign", failAt: signPath, status: 403,
			body:    kvError("Forbidden", "Operation sign is not permitted on this key.", "KeyOperationForbidden"),
			wantErr: keys.ErrWrongKeyUsage},
		{name: "operation not permitted, 400", failAt: signPath, status: 400,
			body:    kvError("BadParameter", "Operation sign is not permitted on this key.", ""),
			wantErr: keys.ErrWrongKeyUsage},
		{name: "server error is not classified", failAt: signPath, status: 400,
			body: kvError("BadParameter", "Something else.", ""), wantText: "HTTP 400 BadParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newFakeVault(t)
			v.addKey("nhs-signing", testRSAKey(t, 0))
			if tt.setup != nil {
				tt.setup(v)
			}
			b := v.backend()
			ctx := context.Background()
			var err error
			if tt.atOpen {
				if tt.failAt != "" {
					v.failWith(tt.failAt, tt.status, tt.body)
				}
				var s crypto.Signer
				if s, err = b.Open(ctx, keyRef); s != nil {
					t.Fatalf("a failed Open returned a signer (%T) beside %v", s, err)
				}
			} else {
				var s crypto.Signer
				s, err = b.Open(ctx, keyRef)
				if err != nil {
					t.Fatal(err)
				}
				v.failWith(tt.failAt, tt.status, tt.body)
				d := sha512.Sum512([]byte("x"))
				_, err = s.Sign(nil, d[:], crypto.SHA512)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, sentinel := range []error{keys.ErrKeyDisabled, keys.ErrPermissionDenied, keys.ErrThrottled,
				keys.ErrNotFound, keys.ErrWrongKeyUsage, keys.ErrRemoteTimeout} {
				if errors.Is(err, sentinel) != (sentinel == tt.wantErr) {
					t.Errorf("errors.Is(%v, %v) = %v", err, sentinel, !(sentinel == tt.wantErr))
				}
			}
			var kvErr *azurekv.Error
			if !errors.As(err, &kvErr) {
				t.Fatalf("%v is not an *azurekv.Error", err)
			}
			if tt.status != 0 {
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != tt.status || kvErr.StatusCode != tt.status {
					t.Errorf("no *azcore.ResponseError with status %d in %v", tt.status, err)
				}
			}
			msg := err.Error()
			if !strings.Contains(msg, keyRef) || !strings.Contains(msg, tt.wantText) {
				t.Errorf("message %q lacks the reference or %q", msg, tt.wantText)
			}
			if strings.Contains(msg, "fake_token") || strings.Contains(msg, "Bearer") || strings.Contains(msg, "\n") {
				t.Errorf("message %q carries a token or the raw SDK dump", msg)
			}
		})
	}
}

// The SDK retries a 429 (once, as the tests configure it); the answer of the
// last attempt decides.
func TestThrottledIsRetriedThenReported(t *testing.T) {
	v := newFakeVault(t)
	v.addKey("nhs-signing", testRSAKey(t, 0))
	s, err := v.backend().Open(context.Background(), keyRef)
	if err != nil {
		t.Fatal(err)
	}
	v.failWith("POST /keys/nhs-signing/", 429, kvError("Throttled", "Too many requests.", ""))
	d := sha512.Sum512([]byte("x"))
	if _, err := s.Sign(nil, d[:], crypto.SHA512); !errors.Is(err, keys.ErrThrottled) {
		t.Fatalf("err %v, want keys.ErrThrottled", err)
	}
	if n := v.count("POST /keys/nhs-signing/" + s.(*azurekv.Signer).Version() + "/sign"); n != 2 {
		t.Fatalf("%d sign requests, want 2 (one retry)", n)
	}
}

func TestSignDeadline(t *testing.T) {
	v := newFakeVault(t)
	priv := testRSAKey(t, 0)
	v.addKey("nhs-signing", priv)
	// The timeout is the one bound here: generous, so that the last sign
	// (the vault answering at once) fits in it on a busy machine.
	s, err := v.backend(azurekv.WithSignTimeout(2*time.Second)).OpenKey(context.Background(), keyRef)
	if err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	v.signDelay = time.Minute
	v.mu.Unlock()
	d := sha512.Sum512([]byte("x"))
	_, err = s.Sign(nil, d[:], crypto.SHA512)
	if !errors.Is(err, keys.ErrRemoteTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want keys.ErrRemoteTimeout and context.DeadlineExceeded", err)
	}

	// A caller's cancellation, while the vault holds the request, is
	// reported as such, not as a timeout (a signer with the default
	// timeout, so that only the cancellation can end the wait).
	held := make(chan struct{}, 1)
	v.mu.Lock()
	v.signHeld = held
	v.mu.Unlock()
	patient, err := v.backend().OpenKey(context.Background(), keyRef)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-held; cancel() }()
	_, err = patient.SignContext(ctx, d[:], crypto.SHA512)
	if !errors.Is(err, context.Canceled) || errors.Is(err, keys.ErrRemoteTimeout) {
		t.Fatalf("err %v, want context.Canceled only", err)
	}

	// The signer works again once the vault answers.
	v.mu.Lock()
	v.signDelay = 0
	v.mu.Unlock()
	signJWS(t, s, jose.RS512, &priv.PublicKey)
}

// A vault answering with a signature by another key is caught.
func TestSignatureCheckedAgainstOpenedKey(t *testing.T) {
	v := newFakeVault(t)
	vk := v.addKey("nhs-signing", testRSAKey(t, 0))
	s, err := v.backend().Open(context.Background(), keyRef)
	if err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	vk.priv = testRSAKey(t, 1) // the vault now signs with another private key
	v.mu.Unlock()
	d := sha512.Sum512([]byte("x"))
	if _, err := s.Sign(nil, d[:], crypto.SHA512); !errors.Is(err, azurekv.ErrBadSignature) {
		t.Fatalf("err %v, want ErrBadSignature", err)
	}
}

func TestCreate(t *testing.T) {
	v := newFakeVault(t)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	b := v.backend(azurekv.WithClock(func() time.Time { return clock }))
	ctx := context.Background()
	ref, signer, err := b.Create(ctx, "azurekv://"+testVault+"/keys/nhs", "RS512")
	if err != nil {
		t.Fatal(err)
	}
	vk := v.find("nhs-20260102T020405Z", "")
	if vk == nil {
		t.Fatalf("no key nhs-20260102T020405Z in the vault; ref %s", ref)
	}
	if want := "azurekv://" + testVault + "/keys/nhs-20260102T020405Z/" + vk.version; ref != want {
		t.Fatalf("ref %q, want %q", ref, want)
	}
	v.mu.Lock()
	p := v.created[0]
	v.mu.Unlock()
	if *p.Kty != azkeys.KeyTypeRSA || *p.KeySize != 4096 || len(p.KeyOps) != 2 ||
		*p.KeyOps[0] != azkeys.KeyOperationSign || *p.KeyOps[1] != azkeys.KeyOperationVerify {
		t.Fatalf("create parameters kty %v size %v ops %v", *p.Kty, *p.KeySize, p.KeyOps)
	}
	k, err := keys.New(signer, "RS512", clock)
	if err != nil {
		t.Fatal(err)
	}
	if k.Bits() != 4096 {
		t.Fatalf("created a %d-bit key", k.Bits())
	}
	signJWS(t, signer, jose.RS512, &vk.priv.PublicKey)
	reopened, err := b.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !vk.priv.PublicKey.Equal(reopened.Public()) {
		t.Fatal("reopening the returned ref gives another key")
	}

	for _, bad := range []struct{ template, alg string }{
		{"azurekv://" + testVault + "/keys/nhs", "ES256"},
		{"azurekv://" + testVault + "/keys/nhs", "HS256"},
		{"azurekv://" + testVault + "/keys/nhs/" + vk.version, "RS512"},
		{"azurekv://" + testVault + "/secrets/nhs", "RS512"},
		{"azurekv://" + testVault + "/keys/" + strings.Repeat("n", 120), "RS512"},
	} {
		if _, _, err := b.Create(ctx, bad.template, bad.alg); err == nil {
			t.Errorf("Create(%q, %q) succeeded", bad.template, bad.alg)
		}
	}
	v.mu.Lock()
	n := len(v.created)
	v.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d keys created, want 1", n)
	}
}
