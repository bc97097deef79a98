package awskms_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha512"
	"crypto/x509"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/awskms"
)

// kmsPublicKey asks local-kms itself for key's public key, so that a test
// verifies with a key that did not come through the package under test.
func (l *localKMS) publicKey(t testing.TB, key string) crypto.PublicKey {
	t.Helper()
	out, err := l.client.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// verifyAssertion parses a signed client assertion and checks its signature
// with pub and its claims.
func verifyAssertion(t testing.TB, assertion, alg, kid string, pub crypto.PublicKey) {
	t.Helper()
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("%s: parse: %v", alg, err)
	}
	if h := tok.Headers[0]; h.KeyID != kid || h.Algorithm != alg {
		t.Fatalf("%s: header kid %q alg %q, want %q %q", alg, h.KeyID, h.Algorithm, kid, alg)
	}
	var claims jwt.Claims
	if err := tok.Claims(pub, &claims); err != nil {
		t.Fatalf("%s: signature does not verify with the KMS public key: %v", alg, err)
	}
	if claims.Issuer != "client-1" || claims.Subject != "client-1" || claims.ID == "" {
		t.Fatalf("%s: claims %+v", alg, claims)
	}
}

func TestLocalKMSCreateOpenSign(t *testing.T) {
	t.Parallel()
	l := startLocalKMS(t)
	b := l.backend()
	ctx := context.Background()
	ref, created := l.create(t, b)

	r, err := awskms.ParseRef(ref)
	if err != nil {
		t.Fatalf("Create returned ref %q: %v", ref, err)
	}
	if r.Region != testRegion || r.Endpoint != l.endpoint || uuid.Validate(r.KeyID) != nil {
		t.Fatalf("Create returned ref %+v", r)
	}
	if created.KeySpec() != "RSA_4096" {
		t.Fatalf("key spec %s", created.KeySpec())
	}
	desc, err := l.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(r.KeyID)})
	if err != nil {
		t.Fatal(err)
	}
	if desc.KeyMetadata.KeyUsage != types.KeyUsageTypeSignVerify || desc.KeyMetadata.KeySpec != types.KeySpecRsa4096 {
		t.Fatalf("created key: usage %s spec %s", desc.KeyMetadata.KeyUsage, desc.KeyMetadata.KeySpec)
	}
	tags, err := l.client.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(r.KeyID)})
	if err != nil {
		t.Fatal(err)
	}
	gotTags := map[string]string{}
	for _, tag := range tags.Tags {
		gotTags[aws.ToString(tag.TagKey)] = aws.ToString(tag.TagValue)
	}
	if gotTags["pkjwt:alg"] != "RS512" {
		t.Fatalf("tags %v: no pkjwt:alg=RS512", gotTags)
	}
	if c, err := time.Parse(time.RFC3339, gotTags["pkjwt:created"]); err != nil || time.Since(c) > time.Hour {
		t.Fatalf("tag pkjwt:created %q: %v", gotTags["pkjwt:created"], err)
	}

	want := l.publicKey(t, r.KeyID).(*rsa.PublicKey)
	if want.N.BitLen() != 4096 || !want.Equal(created.Public()) {
		t.Fatalf("created signer's public key differs from KMS's (%d bits)", want.N.BitLen())
	}
	if _, err := l.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/pkjwt-test"), TargetKeyId: aws.String(r.KeyID)}); err != nil {
		t.Fatal(err)
	}

	// The same key by id (the returned ref), by alias and by ARN; every
	// JWS algorithm an RSA_4096 key allows.
	for _, key := range []string{"", "alias/pkjwt-test", created.KeyARN()} {
		openRef := ref
		if key != "" {
			openRef = l.ref(key)
		}
		signer, err := b.Open(ctx, openRef)
		if err != nil {
			t.Fatalf("Open %s: %v", openRef, err)
		}
		if s := signer.(*awskms.Signer); s.KeyARN() != created.KeyARN() || !want.Equal(s.Public()) {
			t.Fatalf("Open %s: ARN %s, public key equal %v", openRef, s.KeyARN(), want.Equal(s.Public()))
		}
		for _, alg := range []string{"RS512", "RS256", "RS384", "PS256", "PS384", "PS512"} {
			k, err := keys.New(signer, alg, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			assertion, err := pkjwt.Assertion{ClientID: "client-1", Audience: "https://auth.example/oauth2/token"}.Sign(t.Context(), k)
			if err != nil {
				t.Fatalf("Open %s: sign %s: %v", openRef, alg, err)
			}
			verifyAssertion(t, assertion, alg, k.ID, want)
		}
	}
}

// A signer opened by alias keeps signing with the key the alias named then,
// so its signatures always match its Public key and its kid.
func TestLocalKMSAliasMovedAfterOpen(t *testing.T) {
	t.Parallel()
	l := startLocalKMS(t)
	b := l.backend()
	ctx := context.Background()
	_, first := l.create(t, b)
	_, second := l.create(t, b)
	alias := aws.String("alias/pkjwt-moving")
	if _, err := l.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: alias, TargetKeyId: aws.String(first.KeyARN())}); err != nil {
		t.Fatal(err)
	}
	signer, err := b.Open(ctx, l.ref("alias/pkjwt-moving"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: alias, TargetKeyId: aws.String(second.KeyARN())}); err != nil {
		t.Fatal(err)
	}
	k, err := keys.New(signer, "RS512", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := pkjwt.Assertion{ClientID: "client-1", Audience: "https://auth.example/oauth2/token"}.Sign(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	verifyAssertion(t, assertion, "RS512", k.ID, l.publicKey(t, first.KeyARN()))
	reopened, err := b.Open(ctx, l.ref("alias/pkjwt-moving"))
	if err != nil {
		t.Fatal(err)
	}
	if !second.Public().(*rsa.PublicKey).Equal(reopened.Public()) {
		t.Fatal("reopening the alias did not give the key it now names")
	}
}

func TestLocalKMSECKey(t *testing.T) {
	t.Parallel()
	l := startLocalKMS(t)
	b := l.backend()
	ctx := context.Background()
	ref, s, err := b.CreateSigner(ctx, l.template(), "ES256")
	if err != nil {
		t.Fatal(err)
	}
	if s.KeySpec() != "ECC_NIST_P256" {
		t.Fatalf("ES256 key spec %s", s.KeySpec())
	}
	if _, ok := s.Public().(*ecdsa.PublicKey); !ok {
		t.Fatalf("ES256 key public %T", s.Public())
	}
	errorsIs(t, s.Supports("RS512"), keys.ErrAlgorithmMismatch)
	errorsIs(t, s.Supports("ES384"), keys.ErrAlgorithmMismatch)
	k, err := keys.New(s, "ES256", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := pkjwt.Assertion{ClientID: "client-1", Audience: "https://auth.example/oauth2/token"}.Sign(t.Context(), k)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	r, _ := awskms.ParseRef(ref)
	verifyAssertion(t, assertion, "ES256", k.ID, l.publicKey(t, r.KeyID))
}

// Errors KMS itself (local-kms) gives, mapped to the keys sentinels.
func TestLocalKMSErrors(t *testing.T) {
	t.Parallel()
	l := startLocalKMS(t)
	b := l.backend(awskms.WithMaxAttempts(1))
	ctx := context.Background()
	newKey := func(spec types.KeySpec, usage types.KeyUsageType) string {
		out, err := l.client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.KeyMetadata.KeyId)
	}
	disabled := newKey(types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	if _, err := l.client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(disabled)}); err != nil {
		t.Fatal(err)
	}
	deleting := newKey(types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	if _, err := l.client.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(deleting), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
		want error
	}{
		{"missing alias", "alias/no-such-alias", keys.ErrNotFound},
		{"missing key id", uuid.NewString(), keys.ErrNotFound},
		{"missing ARN", "arn:aws:kms:" + testRegion + ":111122223333:key/" + uuid.NewString(), keys.ErrNotFound},
		{"disabled key", disabled, keys.ErrKeyDisabled},
		{"pending deletion", deleting, keys.ErrKeyDisabled},
		{"RSA encryption key", newKey(types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt), keys.ErrWrongKeyUsage},
		{"symmetric key", newKey(types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt), keys.ErrWrongKeyUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := b.Open(ctx, l.ref(tt.key))
			if s != nil {
				t.Fatalf("Open returned a signer with error %v", err)
			}
			errorsIs(t, err, tt.want)
		})
	}
}

// A key disabled after Open: Sign fails with keys.ErrKeyDisabled; enabled
// again, it signs. Bad digests and options fail before any call.
func TestLocalKMSSignErrors(t *testing.T) {
	t.Parallel()
	l := startLocalKMS(t)
	b := l.backend(awskms.WithMaxAttempts(1))
	ctx := context.Background()
	out, err := l.client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	id := out.KeyMetadata.KeyId
	s, err := b.OpenSigner(ctx, l.ref(*id))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("payload"))
	if _, err := s.Sign(nil, sum[:], crypto.SHA512); err != nil {
		t.Fatalf("enabled key: %v", err)
	}
	if _, err := l.client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Sign(nil, sum[:], crypto.SHA512)
	errorsIs(t, err, keys.ErrKeyDisabled)
	if _, err := l.client.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id}); err != nil {
		t.Fatal(err)
	}
	sig, err := s.SignContext(ctx, sum[:], &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		t.Fatalf("enabled again: %v", err)
	}
	if err := rsa.VerifyPSS(s.Public().(*rsa.PublicKey), crypto.SHA512, sum[:], sig, nil); err != nil {
		t.Fatalf("PSS signature: %v", err)
	}

	short := sha1.Sum([]byte("payload"))
	for _, tt := range []struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
		want   error
	}{
		{"SHA-1", short[:], crypto.SHA1, keys.ErrUnsupportedAlgorithm},
		{"no hash", sum[:], crypto.Hash(0), keys.ErrUnsupportedAlgorithm},
		{"PSS salt 10", sum[:], &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: 10}, keys.ErrUnsupportedAlgorithm},
		{"short digest", sum[:32], crypto.SHA512, nil},
		{"long digest", append(sum[:], 0), crypto.SHA512, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := s.Sign(nil, tt.digest, tt.opts)
			if err == nil || sig != nil {
				t.Fatalf("signed (%d bytes) with error %v", len(sig), err)
			}
			if tt.want != nil {
				errorsIs(t, err, tt.want)
			}
		})
	}
}

// The AWS SDK's default credential chain (environment variables here), with
// no option: what a program gets from awskms.New().
func TestLocalKMSDefaultChain(t *testing.T) {
	l := startLocalKMS(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDLOCALKMSTEST",
		"AWS_SECRET_ACCESS_KEY":       "local-kms-test-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_CONFIG_FILE":             dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_KMS":        "",
		"AWS_MAX_ATTEMPTS":            "50",
	} {
		t.Setenv(k, v)
	}
	_, created := l.create(t, awskms.New(awskms.WithConfig(testConfig())))
	s, err := awskms.New().Open(context.Background(), l.ref(created.KeyARN()))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("payload"))
	sig, err := s.Sign(nil, sum[:], crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(l.publicKey(t, created.KeyARN()).(*rsa.PublicKey), crypto.SHA512, sum[:], sig); err != nil {
		t.Fatal(err)
	}
	// Without a region anywhere, Open says so.
	_, err = awskms.New().Open(context.Background(), "awskms:///alias/x?endpoint="+l.endpoint)
	errorsIs(t, err, awskms.ErrBadRef)
}
