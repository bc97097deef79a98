// Package awskms keeps pkjwt's signing key in AWS KMS: the private key never
// leaves KMS, and each client assertion's digest is signed there with the
// KMS Sign operation. [Backend] implements [keys.Backend] for "awskms"
// references: [New] makes one (a key directory's Backends take it, to load
// the keys the directory records by reference), and [Backend.Open] returns
// a crypto.Signer, also a [keys.ContextSigner], that plugs into [keys.New]
// like a local key.
//
// # Creating the key
//
// NHS England asks for RS512 with a 4096-bit RSA key:
//
//	aws kms create-key --key-spec RSA_4096 --key-usage SIGN_VERIFY \
//	    --description "pkjwt client assertion signing key" --region eu-west-2
//	aws kms create-alias --alias-name alias/pkjwt --target-key-id KEY-ID --region eu-west-2
//
// or from Go, [Backend.Create] (what key rotation uses): it creates an RSA_4096
// SIGN_VERIFY key (ECC_NIST_P256/P384 for ES256/ES384), tagged
// "pkjwt:created" and "pkjwt:alg", and returns its reference.
//
// # References
//
//	awskms:///alias/pkjwt?region=eu-west-2
//	awskms:///1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-west-2
//	awskms:///arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
//	awskms:///arn:aws:kms:eu-west-2:111122223333:alias/pkjwt
//	awskms:///alias/pkjwt?region=eu-west-2&endpoint=https://vpce-0123-abcd.kms.eu-west-2.vpce.amazonaws.com
//
// Three slashes: the key is the path, and there is no host. The region is
// the ARN's, or the region parameter, or else the AWS SDK's (AWS_REGION, the
// profile). endpoint overrides the KMS endpoint: https to any host (a VPC
// endpoint), plain http only to a loopback address (a local test server).
// Any other parameter, a host, a fragment or a malformed key id is an error
// ([ErrBadRef]). A key opened by alias signs with the key the alias named when
// it was opened, so its signatures always match its public key and kid;
// reopen it to follow an alias that moved.
//
// # Credentials and permissions
//
// By default a Backend uses the AWS SDK's default credential chain
// (config.LoadDefaultConfig: environment variables, shared config and
// credentials files, SSO, web identity, ECS and EC2 roles). [WithConfig]
// injects an aws.Config; [WithClient] a *kms.Client. The IAM policy of the
// identity needs, on the key:
//
//	kms:GetPublicKey   Open (once per key, to publish and check the public key)
//	kms:Sign           every token request
//	kms:CreateKey      Create (key rotation), plus kms:TagResource for the tags
//
// # Failures
//
// crypto.Signer's Sign has no context, so each Sign has its own deadline
// ([WithSignTimeout], default 10 s); SignContext takes a context as well. The
// AWS SDK retries throttling and transient errors at most [WithMaxAttempts]
// times in all (default 3, whatever AWS_MAX_ATTEMPTS says), waiting at most
// 2 s between tries. A sign that still fails is an error, and pkjwt's token
// source sends no token request for it. KMS errors match the [keys]
// sentinels with errors.Is:
//
//	AccessDeniedException, UnrecognizedClientException, ...          keys.ErrPermissionDenied
//	DisabledException, KMSInvalidStateException, KeyUnavailableException  keys.ErrKeyDisabled
//	InvalidKeyUsageException, UnsupportedOperationException          keys.ErrWrongKeyUsage
//	ThrottlingException, LimitExceededException, HTTP 429            keys.ErrThrottled
//	NotFoundException                                                keys.ErrNotFound
//	the deadline passed, DependencyTimeoutException                  keys.ErrRemoteTimeout
//
// and errors.As still finds the SDK's error (smithy.APIError). Every
// signature KMS returns is verified with the public key before it is used
// ([ErrBadSignature] otherwise). An answer body over 1 MiB is refused while
// it is read.
//
// # Tests
//
// The tests run against local-kms (github.com/nsmithuk/local-kms), a local
// server of the KMS API, built from the separate Go module tools/localkms so
// that it never enters pkjwt's module graph. Upstream's own main listens on
// every interface; tools/localkms instead serves upstream's request handler
// from a listener it binds to 127.0.0.1 and refuses any non-loopback
// address, so no test exposes a server on the host's network (no network
// namespace is needed). "make test" builds it once into
// ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/local-kms and sets
// PKJWT_REQUIRE_LOCALKMS=1; without that variable the tests that need it
// skip when it is missing. A small double of the KMS JSON API covers the
// errors local-kms will not give on demand (throttling, access denied, a
// slow answer).
package awskms
