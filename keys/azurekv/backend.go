package azurekv

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/pkjwt/pkjwt/keys"
)

// defaultSignTimeout bounds one Sign call (the Key Vault round trip,
// retries included) when [WithSignTimeout] is not given.
const defaultSignTimeout = 10 * time.Second

// Backend opens and creates keys in Azure Key Vault. It implements
// [keys.Backend] with the scheme "azurekv" ([Scheme]); [New] makes one. It
// is safe for concurrent use; it keeps one SDK client per vault and kind.
type Backend struct {
	cred        azcore.TokenCredential
	clientOpts  azcore.ClientOptions
	vaultURL    string
	signTimeout time.Duration
	now         func() time.Time

	mu        sync.Mutex
	credErr   error
	keyClient map[string]*azkeys.Client
	secClient map[string]*azsecrets.Client
}

var _ keys.Backend = (*Backend)(nil)

// Option configures a Backend.
type Option func(*Backend)

// WithCredential sets the Azure credential. The default is
// [azidentity.NewDefaultAzureCredential] (environment, workload identity,
// managed identity, Azure CLI, Azure Developer CLI), made on first use.
func WithCredential(cred azcore.TokenCredential) Option {
	return func(b *Backend) { b.cred = cred }
}

// WithClientOptions sets the SDK client options (transport, retries,
// cloud) of the keys and secrets clients. Tests pass the SDK's fake server
// transports here.
func WithClientOptions(o *azcore.ClientOptions) Option {
	return func(b *Backend) {
		if o != nil {
			b.clientOpts = *o
		}
	}
}

// WithVaultURL makes every reference use vaultURL (for example
// "https://myvault.privatelink.vaultcore.azure.net/") instead of the URL
// derived from its VAULT part.
func WithVaultURL(vaultURL string) Option {
	return func(b *Backend) { b.vaultURL = vaultURL }
}

// WithSignTimeout sets the deadline of one Sign call, retries included
// (default 10 s); SignContext applies it too when its context's deadline
// is later. d <= 0 keeps the default.
func WithSignTimeout(d time.Duration) Option {
	return func(b *Backend) { b.signTimeout = d }
}

// withClock sets the clock used to name keys made by Create and to check
// key validity dates; nil means time.Now. The tests use it.
func withClock(now func() time.Time) Option {
	return func(b *Backend) { b.now = now }
}

// New returns a Backend. No network call is made until a key is opened.
func New(opts ...Option) *Backend {
	b := &Backend{
		signTimeout: defaultSignTimeout,
		now:         time.Now,
		keyClient:   map[string]*azkeys.Client{},
		secClient:   map[string]*azsecrets.Client{},
	}
	for _, o := range opts {
		o(b)
	}
	if b.signTimeout <= 0 {
		b.signTimeout = defaultSignTimeout
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b
}

// Scheme returns "azurekv" ([Scheme]).
func (b *Backend) Scheme() string { return Scheme }

// credential returns the configured credential, making the default one on
// first use.
func (b *Backend) credential() (azcore.TokenCredential, error) {
	if b.cred != nil || b.credErr != nil {
		return b.cred, b.credErr
	}
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: b.clientOpts})
	if err != nil {
		b.credErr = fmt.Errorf("azurekv: Azure credentials: %w", err)
		return nil, b.credErr
	}
	b.cred = cred
	return cred, nil
}

func (b *Backend) urlFor(vault string) string {
	if b.vaultURL != "" {
		return b.vaultURL
	}
	return vaultURL(vault)
}

func (b *Backend) keysClient(vault string) (*azkeys.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.urlFor(vault)
	if c := b.keyClient[u]; c != nil {
		return c, nil
	}
	cred, err := b.credential()
	if err != nil {
		return nil, err
	}
	c, err := azkeys.NewClient(u, cred, &azkeys.ClientOptions{ClientOptions: b.sdkOptions()})
	if err != nil {
		return nil, fmt.Errorf("azurekv: keys client for %s: %w", u, err)
	}
	b.keyClient[u] = c
	return c, nil
}

func (b *Backend) secretsClient(vault string) (*azsecrets.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.urlFor(vault)
	if c := b.secClient[u]; c != nil {
		return c, nil
	}
	cred, err := b.credential()
	if err != nil {
		return nil, err
	}
	c, err := azsecrets.NewClient(u, cred, &azsecrets.ClientOptions{ClientOptions: b.sdkOptions()})
	if err != nil {
		return nil, fmt.Errorf("azurekv: secrets client for %s: %w", u, err)
	}
	b.secClient[u] = c
	return c, nil
}

// Open returns a signer for ref, azurekv://VAULT/keys/NAME[/VERSION] or
// azurekv://VAULT/secrets/NAME[/VERSION]. For a key, one GetKey call
// fetches the public key, its permitted operations, its attributes and its
// current version; the signer, also a [keys.ContextSigner], signs in the
// vault with that version (or the one the reference names) within the
// sign deadline. For a secret it is the private key of the PFX the secret
// holds, in memory (see [Backend.OpenSecret], which returns the
// certificate too). A malformed reference is an error matching
// [ErrBadRef]; a failed Key Vault call unwraps to the [keys] sentinels.
func (b *Backend) Open(ctx context.Context, ref string) (crypto.Signer, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	if r.Kind == kindSecret {
		s, _, err := b.openSecret(ctx, r)
		return s, err
	}
	s, err := b.openKey(ctx, r)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return s, nil
}

// openKey opens a keys/ reference.
func (b *Backend) openKey(ctx context.Context, r vaultRef) (*vaultSigner, error) {
	c, err := b.keysClient(r.Vault)
	if err != nil {
		return nil, err
	}
	resp, err := c.GetKey(ctx, r.Name, r.Version, nil)
	if err != nil {
		return nil, wrapErr("get key", r.String(), err)
	}
	return b.newSigner(c, r, resp.KeyBundle)
}

// Create makes a new RSA 4096 key with the operations sign and verify in
// the vault of template (azurekv://VAULT/keys/NAME), named NAME plus a UTC
// timestamp ("NAME-20260102T150405Z"), and returns its versioned reference
// (azurekv://VAULT/keys/NAME-.../VERSION) and its signer. alg must be an RSA algorithm (RS256/384/512,
// PS256/384/512).
func (b *Backend) Create(ctx context.Context, template, alg string) (string, crypto.Signer, error) {
	r, err := parseRef(template)
	if err != nil {
		return "", nil, err
	}
	if r.Kind != kindKey || r.Version != "" {
		return "", nil, fmt.Errorf("%w: %q: a template is azurekv://VAULT/keys/NAME", ErrBadRef, template)
	}
	if !strings.HasPrefix(alg, "RS") && !strings.HasPrefix(alg, "PS") {
		return "", nil, fmt.Errorf("azurekv: create key for %s: only RSA algorithms: %w", alg, keys.ErrUnsupportedAlgorithm)
	}
	if curve, err := keys.AlgorithmCurve(alg); err != nil || curve != nil {
		return "", nil, fmt.Errorf("azurekv: create key for %s: %w", alg, keys.ErrUnsupportedAlgorithm)
	}
	name := r.Name + "-" + b.now().UTC().Format("20060102T150405Z")
	if err := checkName(name); err != nil {
		return "", nil, fmt.Errorf("%w: %q: %v", ErrBadRef, template, err)
	}
	c, err := b.keysClient(r.Vault)
	if err != nil {
		return "", nil, err
	}
	r.Name = name
	resp, err := c.CreateKey(ctx, name, azkeys.CreateKeyParameters{
		Kty:     to.Ptr(azkeys.KeyTypeRSA),
		KeySize: to.Ptr(int32(keys.DefaultRSABits)),
		KeyOps:  []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperationSign), to.Ptr(azkeys.KeyOperationVerify)},
		Tags:    map[string]*string{"created-by": to.Ptr("pkjwt"), "alg": to.Ptr(alg)},
	}, nil)
	if err != nil {
		return "", nil, wrapErr("create key", r.String(), err)
	}
	s, err := b.newSigner(c, r, resp.KeyBundle)
	if err != nil {
		return "", nil, err
	}
	if err := keys.CheckAlgorithm(s.Public(), alg); err != nil {
		return "", nil, fmt.Errorf("azurekv: created key %s: %w", s.Ref(), err)
	}
	return s.Ref(), s, nil
}

// errNoKey is returned when Key Vault answers without the key material.
var errNoKey = errors.New("azurekv: Key Vault answered without a key")
