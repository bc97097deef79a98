package azurekv_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	keysfake "github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	secretsfake "github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets/fake"

	"github.com/pkjwt/pkjwt/keys/azurekv"
)

// testVault is the vault name the tests use; the SDK's fake authentication
// challenge needs a host of at least three labels, which
// https://pkjwt-test.vault.azure.net/ is.
const testVault = "pkjwt-test"

// Test RSA keys, made once per test binary (2048 bits keeps the suite fast;
// Create asks for, and the fake makes, 4096).
var (
	keyOnce sync.Once
	keyPool []*rsa.PrivateKey
)

func testRSAKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keyPool = append(keyPool, k)
		}
	})
	return keyPool[i]
}

// vaultKey is one version of a key in the fake vault.
type vaultKey struct {
	version string
	priv    *rsa.PrivateKey
	enabled bool
	ops     []azkeys.KeyOperation
}

// vaultSecret is one secret in the fake vault.
type vaultSecret struct {
	value       string
	contentType string
	version     string
}

// injected is an error answer the vault gives, as Key Vault sends it.
type injected struct {
	status int
	body   string
}

// fakeVault is the state behind the SDK's fake servers: keys with
// versions, secrets, error answers to inject, and a record of calls.
type fakeVault struct {
	t  testing.TB // nil in examples
	mu sync.Mutex
	// keys maps a key name to its versions, newest last.
	keys    map[string][]*vaultKey
	secrets map[string]*vaultSecret
	// fail maps "METHOD /path-prefix" to an error answer (a real HTTP
	// response through the SDK's pipeline).
	fail map[string]injected
	// signDelay, when set, makes a sign request wait that long or until
	// the request is cancelled.
	signDelay time.Duration
	// signHeld, when set, gets a value each time a sign request starts
	// waiting out signDelay, unless it is full.
	signHeld chan struct{}
	// signs records "name/version alg" of every Sign call.
	signs []string
	// requests counts authenticated requests by "METHOD path".
	requests map[string]int
	created  []azkeys.CreateKeyParameters
}

func newFakeVault(t testing.TB) *fakeVault {
	return &fakeVault{t: t, keys: map[string][]*vaultKey{}, secrets: map[string]*vaultSecret{},
		fail: map[string]injected{}, requests: map[string]int{}}
}

func (v *fakeVault) addKey(name string, priv *rsa.PrivateKey, ops ...azkeys.KeyOperation) *vaultKey {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(ops) == 0 {
		ops = []azkeys.KeyOperation{azkeys.KeyOperationSign, azkeys.KeyOperationVerify}
	}
	k := &vaultKey{version: fmt.Sprintf("%032x", len(v.keys[name])+1+0xabc0), priv: priv, enabled: true, ops: ops}
	v.keys[name] = append(v.keys[name], k)
	return k
}

func (v *fakeVault) setSecret(name, value, contentType string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.secrets[name] = &vaultSecret{value: value, contentType: contentType, version: "0123456789abcdef0123456789abcdef"}
}

func (v *fakeVault) failWith(methodPath string, status int, body string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.fail[methodPath] = injected{status, body}
}

func (v *fakeVault) signCalls() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.signs...)
}

func (v *fakeVault) count(methodPath string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.requests[methodPath]
}

// splitName undoes the SDK fake's path pattern, which lets a name swallow
// the slash and version after it ("nhs-signing/" for GET
// /keys/nhs-signing/, "nhs-signing/VERSION" for POST .../VERSION/sign).
func splitName(name, version string) (string, string) {
	if n, ver, ok := strings.Cut(name, "/"); ok {
		name = n
		if version == "" {
			version = ver
		}
	}
	return name, version
}

func (v *fakeVault) find(name, version string) *vaultKey {
	v.mu.Lock()
	defer v.mu.Unlock()
	vs := v.keys[name]
	if len(vs) == 0 {
		return nil
	}
	if version == "" {
		return vs[len(vs)-1]
	}
	for _, k := range vs {
		if k.version == version {
			return k
		}
	}
	return nil
}

func keyID(name, version string) *azkeys.ID {
	return to.Ptr(azkeys.ID("https://" + testVault + ".vault.azure.net/keys/" + name + "/" + version))
}

func bundle(name string, k *vaultKey) azkeys.KeyBundle {
	pub := &k.priv.PublicKey
	var ops []*azkeys.KeyOperation
	for _, op := range k.ops {
		ops = append(ops, to.Ptr(op))
	}
	return azkeys.KeyBundle{
		Attributes: &azkeys.KeyAttributes{Enabled: to.Ptr(k.enabled)},
		Key: &azkeys.JSONWebKey{
			KID:    keyID(name, k.version),
			Kty:    to.Ptr(azkeys.KeyTypeRSA),
			N:      pub.N.Bytes(),
			E:      []byte{1, 0, 1},
			KeyOps: ops,
		},
	}
}

// keysServer is the azkeys fake: GetKey, Sign (with the test's private
// key) and CreateKey.
func (v *fakeVault) keysServer() *keysfake.Server {
	return &keysfake.Server{
		GetKey: func(ctx context.Context, name, version string, _ *azkeys.GetKeyOptions) (resp azfake.Responder[azkeys.GetKeyResponse], errResp azfake.ErrorResponder) {
			name, version = splitName(name, version)
			k := v.find(name, version)
			if k == nil {
				errResp.SetResponseError(http.StatusNotFound, "KeyNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, azkeys.GetKeyResponse{KeyBundle: bundle(name, k)}, nil)
			return
		},
		Sign: func(ctx context.Context, name, version string, p azkeys.SignParameters, _ *azkeys.SignOptions) (resp azfake.Responder[azkeys.SignResponse], errResp azfake.ErrorResponder) {
			name, version = splitName(name, version)
			v.mu.Lock()
			v.signs = append(v.signs, name+"/"+version+" "+string(*p.Algorithm))
			v.mu.Unlock()
			k := v.find(name, version)
			if k == nil || version == "" {
				errResp.SetResponseError(http.StatusNotFound, "KeyNotFound")
				return
			}
			var sig []byte
			var err error
			switch *p.Algorithm {
			case azkeys.SignatureAlgorithmRS256:
				sig, err = rsa.SignPKCS1v15(nil, k.priv, crypto.SHA256, p.Value)
			case azkeys.SignatureAlgorithmRS384:
				sig, err = rsa.SignPKCS1v15(nil, k.priv, crypto.SHA384, p.Value)
			case azkeys.SignatureAlgorithmRS512:
				sig, err = rsa.SignPKCS1v15(nil, k.priv, crypto.SHA512, p.Value)
			case azkeys.SignatureAlgorithmPS512:
				sig, err = rsa.SignPSS(rand.Reader, k.priv, crypto.SHA512, p.Value, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			default:
				errResp.SetResponseError(http.StatusBadRequest, "BadParameter")
				return
			}
			if err != nil {
				errResp.SetError(err)
				return
			}
			resp.SetResponse(http.StatusOK, azkeys.SignResponse{KeyOperationResult: azkeys.KeyOperationResult{
				KID: keyID(name, version), Result: sig,
			}}, nil)
			return
		},
		CreateKey: func(ctx context.Context, name string, p azkeys.CreateKeyParameters, _ *azkeys.CreateKeyOptions) (resp azfake.Responder[azkeys.CreateKeyResponse], errResp azfake.ErrorResponder) {
			if p.Kty == nil || *p.Kty != azkeys.KeyTypeRSA || p.KeySize == nil {
				errResp.SetResponseError(http.StatusBadRequest, "BadParameter")
				return
			}
			priv, err := rsa.GenerateKey(rand.Reader, int(*p.KeySize))
			if err != nil {
				errResp.SetError(err)
				return
			}
			var ops []azkeys.KeyOperation
			for _, op := range p.KeyOps {
				ops = append(ops, *op)
			}
			k := v.addKey(name, priv, ops...)
			v.mu.Lock()
			v.created = append(v.created, p)
			v.mu.Unlock()
			resp.SetResponse(http.StatusOK, azkeys.CreateKeyResponse{KeyBundle: bundle(name, k)}, nil)
			return
		},
	}
}

// secretsServer is the azsecrets fake: GetSecret.
func (v *fakeVault) secretsServer() *secretsfake.Server {
	return &secretsfake.Server{
		GetSecret: func(ctx context.Context, name, version string, _ *azsecrets.GetSecretOptions) (resp azfake.Responder[azsecrets.GetSecretResponse], errResp azfake.ErrorResponder) {
			name, version = splitName(name, version)
			v.mu.Lock()
			s := v.secrets[name]
			v.mu.Unlock()
			if s == nil || (version != "" && version != s.version) {
				errResp.SetResponseError(http.StatusNotFound, "SecretNotFound")
				return
			}
			sec := azsecrets.Secret{
				ID:    to.Ptr(azsecrets.ID("https://" + testVault + ".vault.azure.net/secrets/" + name + "/" + s.version)),
				Value: to.Ptr(s.value),
			}
			if s.contentType != "" {
				sec.ContentType = to.Ptr(s.contentType)
			}
			resp.SetResponse(http.StatusOK, azsecrets.GetSecretResponse{Secret: sec}, nil)
			return
		},
	}
}

// transport sends /keys/ requests to the keys fake and /secrets/ requests
// to the secrets fake, after answering any injected error the way Key
// Vault does (an HTTP response with a JSON error body, which the SDK turns
// into an *azcore.ResponseError itself).
type transport struct {
	v       *fakeVault
	keys    policy.Transporter
	secrets policy.Transporter
}

func (tr *transport) Do(req *http.Request) (*http.Response, error) {
	path := req.URL.Path
	if req.Header.Get("Authorization") != "" {
		if !strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") && tr.v.t != nil {
			tr.v.t.Errorf("request without a bearer token: %s %s", req.Method, path)
		}
		tr.v.mu.Lock()
		tr.v.requests[req.Method+" "+path]++
		delay, held := tr.v.signDelay, tr.v.signHeld
		tr.v.mu.Unlock()
		// A slow vault. (The delay lives here, not in the fake's Sign
		// handler: the SDK fake panics when a handler returns after the
		// request's context is done.)
		if delay > 0 && strings.HasSuffix(path, "/sign") {
			select {
			case held <- struct{}{}:
			default:
			}
			select {
			case <-time.After(delay):
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
		tr.v.mu.Lock()
		var inj *injected
		for prefix, in := range tr.v.fail {
			if strings.HasPrefix(req.Method+" "+path, prefix) {
				inj = &in
			}
		}
		tr.v.mu.Unlock()
		if inj != nil {
			if req.Body != nil {
				_, _ = io.Copy(io.Discard, req.Body)
			}
			return &http.Response{
				Request: req, StatusCode: inj.status, Status: fmt.Sprintf("%d %s", inj.status, http.StatusText(inj.status)),
				Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
				Body:   io.NopCloser(bytes.NewReader([]byte(inj.body))),
			}, nil
		}
	}
	switch {
	case strings.HasPrefix(path, "/keys"):
		return tr.keys.Do(req)
	case strings.HasPrefix(path, "/secrets"):
		return tr.secrets.Do(req)
	}
	return nil, fmt.Errorf("fake vault: no route for %s", path)
}

// options returns backend options that reach v through the SDK fakes,
// with SDK retries shortened so that an injected 429 does not slow the
// suite.
func (v *fakeVault) options(extra ...azurekv.Option) []azurekv.Option {
	tr := &transport{v: v, keys: keysfake.NewServerTransport(v.keysServer()), secrets: secretsfake.NewServerTransport(v.secretsServer())}
	opts := []azurekv.Option{
		azurekv.WithCredential(&azfake.TokenCredential{}),
		azurekv.WithClientOptions(&azcore.ClientOptions{
			Transport: tr,
			Retry:     policy.RetryOptions{MaxRetries: 1, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond},
		}),
	}
	return append(opts, extra...)
}

func (v *fakeVault) backend(extra ...azurekv.Option) *azurekv.Backend {
	return azurekv.New(v.options(extra...)...)
}

// kvError is the JSON body Key Vault sends with an error status.
func kvError(code, message, inner string) string {
	if inner == "" {
		return fmt.Sprintf(`{"error":{"code":%q,"message":%q}}`, code, message)
	}
	return fmt.Sprintf(`{"error":{"code":%q,"message":%q,"innererror":{"code":%q}}}`, code, message, inner)
}
