package azurekv

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/pkjwt/pkjwt/keys"
)

// ErrBadSignature is returned by a signer's Sign when Key Vault answers
// with a signature that does not verify under the public key fetched by
// [Backend.Open] (another key version answered, or the answer was
// damaged). The signature is not used.
var ErrBadSignature = errors.New("azurekv: Key Vault returned a signature that does not verify")

// vaultSigner is the crypto.Signer Open and Create return for a Key Vault
// key, whose private key stays in the vault. Public returns the public key
// fetched once by Open; Sign sends the digest to Key Vault's sign operation
// for the key version fetched at Open, within the backend's sign deadline,
// and checks the answer against the public key. Its exported methods
// beside the crypto.Signer ones (Ref, KeyID, Version, Operations) are
// reachable through an interface assertion.
type vaultSigner struct {
	client  *azkeys.Client
	ref     vaultRef
	keyID   string
	pub     crypto.PublicKey
	ops     []string
	timeout time.Duration
}

var _ crypto.Signer = (*vaultSigner)(nil)

// newSigner checks a key bundle (enabled, in its validity dates, allowed
// to sign, a known key type) and builds the vaultSigner pinned to its version.
func (b *Backend) newSigner(c *azkeys.Client, r vaultRef, kb azkeys.KeyBundle) (*vaultSigner, error) {
	ref := r.String()
	if kb.Key == nil || kb.Key.Kty == nil {
		return nil, &vaultError{Op: "open key", Ref: ref, err: errNoKey}
	}
	if a := kb.Attributes; a != nil {
		now := b.now()
		switch {
		case a.Enabled != nil && !*a.Enabled:
			return nil, &vaultError{Op: "open key", Ref: ref, kind: keys.ErrKeyDisabled, err: errors.New("the key's enabled attribute is false")}
		case a.Expires != nil && !now.Before(*a.Expires):
			return nil, &vaultError{Op: "open key", Ref: ref, kind: keys.ErrKeyDisabled, err: fmt.Errorf("the key expired at %s", a.Expires.UTC().Format(time.RFC3339))}
		case a.NotBefore != nil && now.Before(*a.NotBefore):
			return nil, &vaultError{Op: "open key", Ref: ref, kind: keys.ErrKeyDisabled, err: fmt.Errorf("the key is not valid before %s", a.NotBefore.UTC().Format(time.RFC3339))}
		}
	}
	var ops []string
	for _, op := range kb.Key.KeyOps {
		if op != nil {
			ops = append(ops, string(*op))
		}
	}
	if !slices.Contains(ops, string(azkeys.KeyOperationSign)) {
		return nil, &vaultError{Op: "open key", Ref: ref, kind: keys.ErrWrongKeyUsage,
			err: fmt.Errorf("the key's operations are [%s]; sign is not among them", clip(strings.Join(ops, " "), 200))}
	}
	var version string
	if kb.Key.KID != nil {
		if name := kb.Key.KID.Name(); name != "" && !strings.EqualFold(name, r.Name) {
			return nil, &vaultError{Op: "open key", Ref: ref, err: fmt.Errorf("the vault answered with key %q", clip(name, 130))}
		}
		version = kb.Key.KID.Version()
	}
	if version == "" || checkVersion(version) != nil {
		return nil, &vaultError{Op: "open key", Ref: ref, err: errors.New("the vault answered without a key version to pin")}
	}
	if r.Version != "" && version != r.Version {
		return nil, &vaultError{Op: "open key", Ref: ref, err: fmt.Errorf("the vault answered with version %s", version)}
	}
	pub, err := publicKey(kb.Key)
	if err != nil {
		return nil, &vaultError{Op: "open key", Ref: ref, kind: keys.ErrMalformed, err: err}
	}
	r.Version = version
	r.Query = nil
	return &vaultSigner{
		client:  c,
		ref:     r,
		keyID:   string(*kb.Key.KID),
		pub:     pub,
		ops:     ops,
		timeout: b.signTimeout,
	}, nil
}

// publicKey builds the public key of a Key Vault JSON web key.
func publicKey(k *azkeys.JSONWebKey) (crypto.PublicKey, error) {
	switch *k.Kty {
	case azkeys.KeyTypeRSA, azkeys.KeyTypeRSAHSM:
		if len(k.N) == 0 || len(k.E) == 0 || len(k.E) > 4 || len(k.N) > 2048 {
			return nil, errors.New("RSA key without a usable n or e")
		}
		e := new(big.Int).SetBytes(k.E)
		if e.Int64() < 3 || e.Bit(0) == 0 {
			return nil, errors.New("RSA key with a bad public exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(e.Int64())}, nil
	case azkeys.KeyTypeEC, azkeys.KeyTypeECHSM:
		var curve elliptic.Curve
		switch {
		case k.Crv != nil && *k.Crv == azkeys.CurveNameP256:
			curve = elliptic.P256()
		case k.Crv != nil && *k.Crv == azkeys.CurveNameP384:
			curve = elliptic.P384()
		default:
			return nil, errors.New("EC key on a curve other than P-256 or P-384")
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(k.X) > size || len(k.Y) > size {
			return nil, errors.New("EC key with oversized coordinates")
		}
		point := make([]byte, 1+2*size)
		point[0] = 4
		copy(point[1+size-len(k.X):1+size], k.X)
		copy(point[1+2*size-len(k.Y):], k.Y)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("EC key: %w", err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("key type %q cannot sign JWTs", clip(string(*k.Kty), 20))
}

// Public returns the public key fetched when the key was opened.
func (s *vaultSigner) Public() crypto.PublicKey { return s.pub }

// vaultRef returns the versioned reference of the key,
// azurekv://VAULT/keys/NAME/VERSION.
func (s *vaultSigner) Ref() string { return s.ref.String() }

// KeyID returns Key Vault's identifier of the key version,
// https://VAULT.vault.azure.net/keys/NAME/VERSION.
func (s *vaultSigner) KeyID() string { return s.keyID }

// Version returns the key version every Sign call uses.
func (s *vaultSigner) Version() string { return s.ref.Version }

// Operations returns the key operations Key Vault permits on the key.
func (s *vaultSigner) Operations() []string { return slices.Clone(s.ops) }

// Sign signs digest in Key Vault; it is SignContext with a background
// context (go-jose and crypto.Signer callers have none). rand is unused.
func (s *vaultSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.SignContext(context.Background(), digest, opts)
}

// SignContext signs digest in Key Vault within ctx and the backend's sign
// deadline. opts selects the algorithm: a SHA-256/384/512 crypto.Hash on an
// RSA key is RS256/384/512, *rsa.PSSOptions is PS256/384/512, and on an EC
// key SHA-256 (P-256) is ES256 and SHA-384 (P-384) ES384. The signature
// is in the crypto.Signer format: PKCS#1 v1.5 or PSS bytes for RSA, ASN.1
// DER for ECDSA.
func (s *vaultSigner) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, errors.New("azurekv: sign: no hash given")
	}
	alg, err := s.algorithm(opts)
	if err != nil {
		return nil, err
	}
	hash := opts.HashFunc()
	if len(digest) != hash.Size() {
		return nil, fmt.Errorf("azurekv: sign: %d-byte digest for %s, want %d bytes", len(digest), alg, hash.Size())
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Sign(ctx, s.ref.Name, s.ref.Version, azkeys.SignParameters{
		Algorithm: to.Ptr(alg),
		Value:     digest,
	}, nil)
	if err != nil {
		return nil, wrapErr("sign", s.ref.String(), err)
	}
	if resp.KID != nil {
		if v := resp.KID.Version(); v != "" && v != s.ref.Version {
			return nil, fmt.Errorf("%w: version %s answered, %s asked", ErrBadSignature, clip(v, 64), s.ref.Version)
		}
	}
	return s.check(resp.Result, digest, hash, alg)
}

// algorithm maps the signer options to Key Vault's signature algorithm.
func (s *vaultSigner) algorithm(opts crypto.SignerOpts) (azkeys.SignatureAlgorithm, error) {
	hash := opts.HashFunc()
	switch pub := s.pub.(type) {
	case *rsa.PublicKey:
		prefix := "RS"
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			// Key Vault's PS* use a salt as long as the hash, which a
			// verifier with PSSSaltLengthAuto accepts too.
			if pss.SaltLength != rsa.PSSSaltLengthAuto && pss.SaltLength != rsa.PSSSaltLengthEqualsHash && pss.SaltLength != hash.Size() {
				return "", fmt.Errorf("azurekv: sign: PSS salt length %d: Key Vault uses the hash length: %w", pss.SaltLength, keys.ErrUnsupportedAlgorithm)
			}
			prefix = "PS"
		}
		switch hash {
		case crypto.SHA256:
			return azkeys.SignatureAlgorithm(prefix + "256"), nil
		case crypto.SHA384:
			return azkeys.SignatureAlgorithm(prefix + "384"), nil
		case crypto.SHA512:
			return azkeys.SignatureAlgorithm(prefix + "512"), nil
		}
	case *ecdsa.PublicKey:
		switch {
		case hash == crypto.SHA256 && pub.Curve == elliptic.P256():
			return azkeys.SignatureAlgorithmES256, nil
		case hash == crypto.SHA384 && pub.Curve == elliptic.P384():
			return azkeys.SignatureAlgorithmES384, nil
		}
	}
	return "", fmt.Errorf("azurekv: sign: hash %v with this key: %w", hash, keys.ErrUnsupportedAlgorithm)
}

// check verifies Key Vault's signature under the public key and converts
// an ECDSA signature from JWS r||s to ASN.1 DER.
func (s *vaultSigner) check(sig, digest []byte, hash crypto.Hash, alg azkeys.SignatureAlgorithm) ([]byte, error) {
	switch pub := s.pub.(type) {
	case *rsa.PublicKey:
		var err error
		if strings.HasPrefix(string(alg), "PS") {
			err = rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		} else {
			err = rsa.VerifyPKCS1v15(pub, hash, digest, sig)
		}
		if err != nil {
			return nil, fmt.Errorf("%w (%s, key %s)", ErrBadSignature, alg, s.ref.String())
		}
		return sig, nil
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return nil, fmt.Errorf("%w: %d bytes for %s (%s)", ErrBadSignature, len(sig), alg, s.ref.String())
		}
		der, err := asn1.Marshal(struct{ R, S *big.Int }{
			new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:]),
		})
		if err != nil {
			return nil, fmt.Errorf("azurekv: sign: %w", err)
		}
		if !ecdsa.VerifyASN1(pub, digest, der) {
			return nil, fmt.Errorf("%w (%s, key %s)", ErrBadSignature, alg, s.ref.String())
		}
		return der, nil
	}
	return nil, fmt.Errorf("azurekv: sign: unsupported public key %T", s.pub)
}

var _ keys.ContextSigner = (*vaultSigner)(nil)
