package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/jwks"
)

// kmsFixture is a local-kms server on loopback, a KMS client of the test's
// own (the raw AWS SDK, not pkjwt's backend) to create, inspect and disable
// keys with, and the environment the CLI processes reach it with.
type kmsFixture struct {
	*testutil.LocalKMS
	client *kms.Client
}

// startKMS starts local-kms and puts the AWS environment of
// testutil.LocalKMSEnv into this test's environment, so that every pkjwt
// process the test starts (runCLI, startProc) reaches local-kms through
// the AWS SDK's default credential chain, as in production.
func startKMS(t *testing.T) *kmsFixture {
	t.Helper()
	l := testutil.StartLocalKMS(t)
	for _, kv := range testutil.LocalKMSEnv(t.TempDir()) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	client := kms.New(kms.Options{
		Region:       l.Region,
		BaseEndpoint: aws.String(l.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(testutil.LocalKMSAccessKeyID, testutil.LocalKMSSecretAccessKey, ""),
	})
	return &kmsFixture{LocalKMS: l, client: client}
}

// createKey makes an RSA-4096 signing key in local-kms with the raw SDK and
// returns its key id.
func (f *kmsFixture) createKey(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := f.client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa4096, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

// publicJWK returns the public key KMS holds for keyID as a JWK with kid =
// its RFC 7638 thumbprint, worked out by go-jose from KMS's GetPublicKey:
// an oracle independent of pkjwt's code.
func (f *kmsFixture) publicJWK(t *testing.T, keyID string) jose.JSONWebKey {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := f.client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		t.Fatalf("GetPublicKey %s: %v", keyID, err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: pub, Algorithm: "RS512", Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return jwk
}

// kmsKeyID returns the key id in an awskms:// reference, checking that the
// reference names this local-kms.
func (f *kmsFixture) kmsKeyID(t *testing.T, ref string) string {
	t.Helper()
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "awskms" || u.Query().Get("endpoint") != f.Endpoint {
		t.Fatalf("ref %q (%v) is not a key of local-kms %s", ref, err, f.Endpoint)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// countingEmulator is the NHS emulator on loopback, counting the token
// requests it receives.
type countingEmulator struct {
	emu      *emulator.Server
	tokenURL string
	posts    atomic.Int64
}

func startEmulator(t *testing.T, cfg emulator.Config) *countingEmulator {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ce := &countingEmulator{emu: emu}
	h := emu.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/token") {
			ce.posts.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ce.tokenURL = srv.URL + "/oauth2/token"
	return ce
}

func (ce *countingEmulator) addApp(t *testing.T, apiKey, jwksURL string) {
	t.Helper()
	if err := ce.emu.AddApp(emulator.App{Name: apiKey, APIKey: apiKey, JWKSURL: jwksURL, Scopes: []string{emulator.PDSScope}}); err != nil {
		t.Fatal(err)
	}
}

// tokenKID runs 'pkjwt token' with args, requires success, and returns the
// kid it reports.
func tokenKID(t *testing.T, args ...string) string {
	t.Helper()
	r := runCLI(t, nil, append([]string{"token"}, args...)...)
	if r.Code != 0 {
		t.Fatalf("pkjwt token %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.Code, r.Stdout, r.Stderr)
	}
	var info struct {
		TokenType string `json:"token_type"`
		KID       string `json:"kid"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil || info.TokenType == "" {
		t.Fatalf("pkjwt token output %q: %v", r.Stdout, err)
	}
	return info.KID
}

// TestRemoteKeysRefAWSKMS: --keys awskms:///KEYID?region=…&endpoint=… signs
// token requests inside local-kms. The emulator's app is registered with a
// JWKS holding only the KMS key's public half (read from KMS by the test
// with the raw SDK), so a token proves the signature was made by the key in
// KMS; 'check' with the same --keys passes its keys and token checks; and a
// key disabled in KMS fails with a clear error and no request to the token
// endpoint.
func TestRemoteKeysRefAWSKMS(t *testing.T) {
	f := startKMS(t)
	keyID := f.createKey(t)
	jwk := f.publicJWK(t, keyID)
	doc, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	if err != nil {
		t.Fatal(err)
	}
	jwksURL := jwksServer(t, doc).URL + jwks.Path
	emu := startEmulator(t, emulator.Config{})
	emu.addApp(t, "kms-app", jwksURL)
	ref := f.Ref(keyID)
	client := []string{"--keys", ref, "--profile", "local", "--token-url", emu.tokenURL, "--client-id", "kms-app"}

	if kid := tokenKID(t, client...); kid != jwk.KeyID {
		t.Fatalf("token signed under kid %q, want the KMS key's thumbprint %s", kid, jwk.KeyID)
	}
	if n := emu.posts.Load(); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}

	// A kid of the reference's own replaces the thumbprint; the emulator
	// refuses it, since the registered JWKS knows the key by its thumbprint.
	r := runCLI(t, nil, "token", "--keys", ref+"&kid=other-kid", "--profile", "local", "--token-url", emu.tokenURL, "--client-id", "kms-app")
	if r.Code != 1 || !strings.Contains(r.Stderr, "Invalid 'kid'") {
		t.Fatalf("token with ?kid=other-kid: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}

	// check: the key, the published JWKS and a real token request.
	r = runCLI(t, nil, append([]string{"check", "--jwks-url", jwksURL}, client...)...)
	for _, want := range []string{"ok    keys", "ok    jwks   " + jwksURL + " holds the signing key " + jwk.KeyID, "ok    token  got a Bearer token"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("check output lacks %q", want)
		}
	}
	if r.Code != 0 || t.Failed() {
		t.Fatalf("check --keys %s: exit %d\nstdout:\n%s\nstderr:\n%s", ref, r.Code, r.Stdout, r.Stderr)
	}

	// The key disabled in KMS: the sign fails before anything is sent.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := f.client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	before := emu.posts.Load()
	r = runCLI(t, nil, append([]string{"token"}, client...)...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "disabled") {
		t.Fatalf("token with the key disabled in KMS: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if n := emu.posts.Load() - before; n != 0 {
		t.Fatalf("%d token requests with the key disabled, want none", n)
	}
}

// TestRemoteKeysRotationAWSKMS drives a whole rotation of a key directory
// whose keys are made in local-kms by 'pkjwt keys rotate --new-key', with
// the CLI as a process: add → publish ('jwks publish' to a file the
// emulator fetches) → activate → retire → remove, durations scaled down by
// --lead and --grace and the emulator's JWKS cache. The directory holds
// metadata only (no .pem); 'token --dir' signs in KMS with the key the
// rotation activated; then 'serve --dir' serves the JWKS holding the
// remote keys and its System to System Call works against the emulator.
func TestRemoteKeysRotationAWSKMS(t *testing.T) {
	f := startKMS(t)
	dir := filepath.Join(t.TempDir(), "keys")
	site := filepath.Join(t.TempDir(), "site")
	published := filepath.Join(site, ".well-known", "jwks.json")
	// The published file, as a CDN would serve it.
	fileSrv := httptest.NewServer(http.FileServer(http.Dir(site)))
	t.Cleanup(fileSrv.Close)
	// NHS caches a JWKS for an hour; here 400 ms, shorter than the 1 s lead.
	// Time passes by the emulator's clock and the directory's dates
	// together, not by sleeping.
	clock := &testClock{}
	emu := startEmulator(t, emulator.Config{JWKSCacheTTL: 400 * time.Millisecond, Now: clock.Now})
	emu.addApp(t, "rotation-app", fileSrv.URL+jwks.Path)
	client := []string{"--dir", dir, "--profile", "local", "--token-url", emu.tokenURL, "--client-id", "rotation-app"}
	const lead, grace = "1s", "1s"
	pause := func() { // past the lead or the grace, and the emulator's cache
		clock.Advance(1100 * time.Millisecond)
		ageKeys(t, dir, 1100*time.Millisecond)
	}

	rotate := func(want string) rotateReport {
		t.Helper()
		r := runCLI(t, nil, "keys", "rotate", "--dir", dir, "--new-key", f.Template(), "--lead", lead, "--grace", grace, "--json")
		if r.Code != 0 {
			t.Fatalf("keys rotate: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
		}
		var rep rotateReport
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("keys rotate --json: %v\n%s", err, r.Stdout)
		}
		if got := actions(rep); got != want {
			t.Fatalf("keys rotate did %q, want %q: %+v", got, want, rep)
		}
		return rep
	}
	publish := func() {
		t.Helper()
		r := runCLI(t, nil, "jwks", "publish", "--dir", dir, "--to", "file://"+filepath.ToSlash(published))
		if r.Code != 0 {
			t.Fatalf("jwks publish: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
		}
	}
	// checkRemote checks, for every key in the directory, that 'keys list'
	// shows a reference to a key of this local-kms whose public key (read
	// from KMS) has the key's kid as its thumbprint, and that no private
	// key file exists.
	checkRemote := func() map[string]keyListing {
		t.Helper()
		ks := listKeys(t, dir)
		for kid, l := range ks {
			if l.Ref == "" {
				t.Fatalf("key %s has no ref: %+v", kid, l)
			}
			if jwk := f.publicJWK(t, f.kmsKeyID(t, l.Ref)); jwk.KeyID != kid {
				t.Fatalf("key %s: KMS holds the key with thumbprint %s under %s", kid, jwk.KeyID, l.Ref)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".pem") {
				t.Fatalf("a private key file %s is in a directory of remote keys", e.Name())
			}
		}
		return ks
	}

	// 1. An empty directory: add a key, made in KMS.
	rep := rotate("add")
	if len(rep.Added) != 1 {
		t.Fatalf("added %v", rep.Added)
	}
	k1 := rep.Added[0]
	if l := checkRemote()[k1]; l.State != "pending" || l.Signing || l.Bits != 4096 || l.Algorithm != "RS512" {
		t.Fatalf("added key %+v", l)
	}
	// Nothing signs yet.
	if r := runCLI(t, nil, append([]string{"token"}, client...)...); r.Code != 1 {
		t.Fatalf("token with only a pending key: %v", r)
	}
	// 2. Published, then past the lead: it is activated, and the next key
	// is added.
	publish()
	pause()
	rep = rotate("activate add")
	k2 := rep.Added[0]
	ks := checkRemote()
	if !ks[k1].Signing || ks[k2].State != "pending" {
		t.Fatalf("after the first activation: %+v", ks)
	}
	if kid := tokenKID(t, client...); kid != k1 {
		t.Fatalf("token signed by %s, want %s", kid, k1)
	}
	// 3. The next key waits for its publication, then takes over.
	rotate("wait")
	publish()
	pause() // the emulator's cache (400 ms) has run out: it knows k2
	rep = rotate("activate retire add")
	k3 := rep.Added[0]
	ks = checkRemote()
	if !ks[k2].Signing || ks[k1].State != "retired" || ks[k3].State != "pending" {
		t.Fatalf("after the second activation: %+v", ks)
	}
	if kid := tokenKID(t, client...); kid != k2 {
		t.Fatalf("token signed by %s, want %s", kid, k2)
	}
	// 4. Past the grace, the retired key is removed; the key stays in KMS,
	// and the command says to delete it there.
	pause()
	ref1 := ks[k1].Ref
	r := runCLI(t, nil, "keys", "remove", "--dir", dir, "--kid", k1, "--grace", grace)
	if r.Code != 0 || !strings.Contains(r.Stderr, "delete or disable it there") || !strings.Contains(r.Stderr, ref1) {
		t.Fatalf("keys remove of a remote key: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	ks = checkRemote()
	if _, ok := ks[k1]; ok || len(ks) != 2 {
		t.Fatalf("after remove: %+v", ks)
	}
	// Forgotten here, not deleted in KMS: the key is still there, enabled.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := f.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(f.kmsKeyID(t, ref1))}); err != nil || out.KeyMetadata.KeyState != types.KeyStateEnabled {
		t.Fatalf("the removed key in KMS: %v", err)
	}
	publish()
	got, err := os.ReadFile(published)
	if err != nil {
		t.Fatal(err)
	}
	if kids := checkStrictJWKS(t, string(got)); strings.Join(kids, " ") != k3+" "+k2 && strings.Join(kids, " ") != k2+" "+k3 {
		t.Fatalf("published kids %v, want %s and %s", kids, k2, k3)
	}
	if kid := tokenKID(t, client...); kid != k2 {
		t.Fatalf("token after the removal signed by %s, want %s", kid, k2)
	}

	// 5. serve --dir: its JWKS holds the remote keys, and its System to
	// System Call gets a token signed in KMS from the emulator, which
	// fetches the web app's own JWKS.
	p, web := startServer(t, "serve", "--dir", dir, "--profile", "local", "--token-url", emu.tokenURL, "--client-id", "serve-app")
	emu.addApp(t, "serve-app", web+jwks.Path)
	resp, body := httpGet(t, web+jwks.Path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("serve's JWKS: %s", resp.Status)
	}
	kids := checkStrictJWKS(t, body)
	if len(kids) != 2 || !strings.Contains(body, `"kid":"`+k2+`"`) || !strings.Contains(body, `"kid":"`+k3+`"`) {
		t.Fatalf("serve's JWKS holds %v, want %s and %s", kids, k2, k3)
	}
	before := emu.posts.Load()
	resp, body = httpGet(t, web+"/system-to-system")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Jane") {
		t.Fatalf("System to System Call: %s\n%s\nserve's log:\n%s", resp.Status, excerpt(body), p.Stderr)
	}
	if m := regexp.MustCompile(`<code id="token-kid">([^<]+)</code>`).FindStringSubmatch(body); m == nil || m[1] != k2 {
		t.Fatalf("the call's token was signed by %v, want %s", m, k2)
	}
	if emu.posts.Load() == before {
		t.Fatal("the System to System Call made no token request")
	}
	if code := p.Interrupt(t); code != 0 {
		t.Fatalf("serve exited %d\n%s", code, p.Stderr)
	}
}

// TestRemoteKeysDirFailures: a directory key whose KMS key cannot sign
// fails clearly, with no request to the token endpoint (a failed sign
// never sends an assertion): the key disabled or scheduled for deletion in
// KMS, and a directory entry whose ref was changed to point at another KMS
// key (the recorded public key, hence the kid, no longer matches: signing
// under the recorded kid with another key is refused). 'serve' answers the
// System to System Call with 502 and the reason, and keeps serving.
func TestRemoteKeysDirFailures(t *testing.T) {
	f := startKMS(t)
	emu := startEmulator(t, emulator.Config{})
	// newDir makes a directory with one active key made in KMS, and an app
	// of the emulator registered with its JWKS.
	newDir := func(t *testing.T, app string) (dir, kid, metaFile string) {
		t.Helper()
		dir = filepath.Join(t.TempDir(), "keys")
		r := runCLI(t, nil, "keys", "rotate", "--dir", dir, "--new-key", f.Template(), "--json")
		if r.Code != 0 {
			t.Fatalf("keys rotate: %v", r)
		}
		var rep rotateReport
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || len(rep.Added) != 1 {
			t.Fatalf("keys rotate --json: %v\n%s", err, r.Stdout)
		}
		kid = rep.Added[0]
		if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", kid, "--force"); r.Code != 0 {
			t.Fatalf("keys activate --force: %v", r)
		}
		doc := runCLI(t, nil, "jwks", "--dir", dir)
		if doc.Code != 0 {
			t.Fatalf("jwks: %v", doc)
		}
		emu.addApp(t, app, jwksServer(t, []byte(doc.Stdout)).URL+jwks.Path)
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || len(files) != 1 {
			t.Fatalf("metadata files %v (%v)", files, err)
		}
		return dir, kid, files[0]
	}
	// keyIDOf is the KMS key id of the directory key kid.
	keyIDOf := func(t *testing.T, dir, kid string) string {
		return f.kmsKeyID(t, listKeys(t, dir)[kid].Ref)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cases := []struct {
		name     string
		breakKey func(t *testing.T, dir, kid, metaFile string)
		want     string
	}{
		{"disabled in KMS", func(t *testing.T, dir, kid, _ string) {
			if _, err := f.client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyIDOf(t, dir, kid))}); err != nil {
				t.Fatal(err)
			}
		}, "disabled"},
		{"scheduled for deletion in KMS", func(t *testing.T, dir, kid, _ string) {
			if _, err := f.client.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyIDOf(t, dir, kid)), PendingWindowInDays: aws.Int32(7)}); err != nil {
				t.Fatal(err)
			}
		}, "disabled"},
		{"ref pointed at another KMS key", func(t *testing.T, _, _, metaFile string) {
			other := f.Ref(f.createKey(t))
			b, err := os.ReadFile(metaFile)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			m["ref"] = other
			if b, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(metaFile, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "another public key than the one recorded"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := "broken-app-" + string(rune('a'+i))
			dir, kid, metaFile := newDir(t, app)
			client := []string{"--dir", dir, "--profile", "local", "--token-url", emu.tokenURL, "--client-id", app}
			if got := tokenKID(t, client...); got != kid { // works before it breaks
				t.Fatalf("token signed by %s, want %s", got, kid)
			}
			tc.breakKey(t, dir, kid, metaFile)
			before := emu.posts.Load()
			r := runCLI(t, nil, append([]string{"token"}, client...)...)
			if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) || !strings.Contains(r.Stderr, kid) {
				t.Fatalf("token: exit %d, want 1 and %q with the kid\nstdout:\n%s\nstderr:\n%s", r.Code, tc.want, r.Stdout, r.Stderr)
			}
			if n := emu.posts.Load() - before; n != 0 {
				t.Fatalf("%d token requests after a failed sign, want none", n)
			}
			// check, even without a token request, has the key service sign
			// a test digest and reports the broken key.
			r = runCLI(t, nil, append([]string{"check", "--no-token"}, client...)...)
			if r.Code != 1 || !strings.Contains(r.Stdout, "FAIL  keys") || !strings.Contains(r.Stdout, tc.want) {
				t.Fatalf("check --no-token of a broken remote key: exit %d\n%s", r.Code, r.Stdout)
			}
			// serve: the System to System Call fails with the reason; the
			// JWKS and the home page are still served.
			p, web := startServer(t, append([]string{"serve"}, client...)...)
			resp, body := httpGet(t, web+"/system-to-system")
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, tc.want) {
				t.Fatalf("System to System Call: %s, want 502 with %q\n%s", resp.Status, tc.want, excerpt(body))
			}
			if resp, _ := httpGet(t, web+jwks.Path); resp.StatusCode != http.StatusOK {
				t.Fatalf("JWKS: %s", resp.Status)
			}
			if n := emu.posts.Load() - before; n != 0 {
				t.Fatalf("%d token requests from serve after a failed sign, want none", n)
			}
			if code := p.Interrupt(t); code != 0 {
				t.Fatalf("serve exited %d\n%s", code, p.Stderr)
			}
		})
	}
}
