package keyfile

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"hash"
	"strings"

	"github.com/pkjwt/pkjwt/keys"
	"golang.org/x/crypto/scrypt"
)

// ParsePEMPassword is ParsePEMPasswordContext without a context: it cannot
// be stopped, but its work is bounded all the same.
func ParsePEMPassword(data, password []byte) (crypto.Signer, error) {
	return ParsePEMPasswordContext(context.Background(), data, password)
}

// ParsePEMPasswordContext parses one PEM private key that may be encrypted: an
// "ENCRYPTED PRIVATE KEY" (PKCS#8 with PBES2, as "openssl genpkey -aes-256-cbc"
// or "openssl pkcs8 -topk8 -v2 aes-256-cbc" write it) is decrypted with
// password; an unencrypted PKCS#8, PKCS#1 or SEC 1 key is read as ParsePEM
// reads it, and password is then not used.
//
// Errors: ErrEncryptedPEM for an encrypted key and an empty password, or for
// the legacy OpenSSL encryption ("Proc-Type: 4,ENCRYPTED" headers), PBES1 or
// a PBES2 variant the decrypter lacks (a PRF other than HMAC-SHA-1/SHA-256),
// which are not supported (the message says how to convert the file);
// ErrWrongPassword when the password does not decrypt the key; ErrMalformed
// for anything unreadable, a file larger than MaxPFXSize, or key-derivation
// parameters over MaxPFXIterations or MaxScryptMemory (with ErrKDFCost,
// found before the derivation runs). When ctx ends first, the function
// returns ctx's error at once and the bounded derivation left over finishes
// in the background.
func ParsePEMPasswordContext(ctx context.Context, data, password []byte) (crypto.Signer, error) {
	if len(data) > MaxPFXSize {
		return nil, fmt.Errorf("keys: PEM file is larger than %d bytes: %w", MaxPFXSize, keys.ErrMalformed)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return keys.ParsePEM(data) // reports the missing or damaged block
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("keys: more than one PEM block; put one key in each file: %w", keys.ErrMalformed)
	}
	if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, fmt.Errorf("keys: legacy OpenSSL PEM encryption (DEK-Info %q) is not supported; convert it: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.pem -out new.pem: %w", block.Headers["DEK-Info"], keys.ErrEncryptedPEM)
	}
	if block.Type != "ENCRYPTED PRIVATE KEY" {
		return keys.ParsePEM(data)
	}
	if len(password) == 0 {
		return nil, fmt.Errorf("keys: the PEM key is encrypted; give its password: %w", keys.ErrEncryptedPEM)
	}
	if err := checkPKCS8Work(block.Bytes); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keys: decrypting the PEM key stopped: %w", err)
	}
	type result struct {
		signer crypto.Signer
		err    error
	}
	done := make(chan result, 1)
	go func() {
		s, err := decryptPKCS8(block.Bytes, password)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.signer, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("keys: decrypting the PEM key stopped: %w", ctx.Err())
	}
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo whose work
// checkPKCS8Work has bounded: PBES2 (RFC 8018) with PBKDF2 (HMAC-SHA-1 or
// HMAC-SHA-256) or scrypt (RFC 7914), and AES-CBC or DES-EDE3-CBC.
func decryptPKCS8(der, password []byte) (signer crypto.Signer, err error) {
	const convert = "convert it: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.pem -out new.pem"
	var epki p12EncryptedPrivateKeyInfo
	if err := unmarshalAll(der, &epki); err != nil {
		return nil, fmt.Errorf("keys: cannot decrypt the PEM key: %w: %w", keys.ErrMalformed, err)
	}
	if !epki.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("keys: the PEM key uses the old PBES1 encryption; %s: %w", convert, keys.ErrEncryptedPEM)
	}
	var p pbes2Params
	if err := unmarshalAll(epki.Algorithm.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("keys: the PEM key's PBES2 parameters cannot be read: %w: %w", keys.ErrMalformed, err)
	}
	unsupported := func(what string) error {
		return fmt.Errorf("keys: the PEM key's encryption is not supported (%s); %s: %w", what, convert, keys.ErrEncryptedPEM)
	}
	var keyLen int
	var newBlock func([]byte) (cipher.Block, error)
	switch alg := p.Scheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen, newBlock = 16, aes.NewCipher
	case alg.Equal(oidAES192CBC):
		keyLen, newBlock = 24, aes.NewCipher
	case alg.Equal(oidAES256CBC):
		keyLen, newBlock = 32, aes.NewCipher
	case alg.Equal(oidDESEDE3CBC):
		keyLen, newBlock = 24, des.NewTripleDESCipher
	default:
		return nil, unsupported("cipher " + alg.String())
	}
	var key []byte
	switch kdf := p.KeyDerivationFunc; {
	case kdf.Algorithm.Equal(oidPBKDF2):
		var kp pbkdf2Params
		if err := unmarshalAll(kdf.Parameters.FullBytes, &kp); err != nil || kp.Salt.Tag != asn1.TagOctetString {
			return nil, fmt.Errorf("keys: the PEM key's PBKDF2 parameters cannot be read: %w", keys.ErrMalformed)
		}
		var prf func() hash.Hash
		switch a := kp.PRF.Algorithm; {
		case len(a) == 0 || a.Equal(oidHMACWithSHA1):
			prf = sha1.New
		case a.Equal(oidHMACWithSHA256):
			prf = sha256.New
		default:
			return nil, unsupported("PBKDF2 PRF " + a.String())
		}
		key, err = pbkdf2.Key(prf, string(password), kp.Salt.Bytes, kp.Iterations, keyLen)
	case kdf.Algorithm.Equal(oidScrypt):
		var sp scryptParams
		if err := unmarshalAll(kdf.Parameters.FullBytes, &sp); err != nil {
			return nil, fmt.Errorf("keys: the PEM key's scrypt parameters cannot be read: %w", keys.ErrMalformed)
		}
		key, err = scrypt.Key(password, sp.Salt, sp.CostParameter, sp.BlockSize, sp.Parallelization, keyLen)
	default:
		return nil, unsupported("key derivation " + kdf.Algorithm.String())
	}
	if err != nil {
		return nil, fmt.Errorf("keys: the PEM key's key derivation: %w: %w", keys.ErrMalformed, err)
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, fmt.Errorf("keys: the PEM key's cipher: %w: %w", keys.ErrMalformed, err)
	}
	iv, ct := p.Scheme.Parameters.Bytes, epki.EncryptedData
	if len(iv) != block.BlockSize() || len(ct) == 0 || len(ct)%block.BlockSize() != 0 {
		return nil, fmt.Errorf("keys: damaged ENCRYPTED PRIVATE KEY: %w", keys.ErrMalformed)
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	// The padding (RFC 8018 section 6.1.1) and the key inside tell a wrong
	// password: under another key both come out as noise.
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > block.BlockSize() || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, fmt.Errorf("keys: the password does not decrypt the PEM key: %w", ErrWrongPassword)
	}
	k, err := x509.ParsePKCS8PrivateKey(plain[:len(plain)-pad])
	if err != nil {
		return nil, fmt.Errorf("keys: the password does not decrypt the PEM key: %w", ErrWrongPassword)
	}
	return signerOf(k)
}

var (
	oidHMACWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES128CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC     = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

// MaxScryptMemory bounds the memory (128·N·r bytes) the scrypt parameters of
// an encrypted PEM key may ask for; OpenSSL's default (N=16384, r=8) needs
// 16 MiB, and OpenSSL refuses more than 32 MiB unless told otherwise.
const MaxScryptMemory = 64 << 20

var oidScrypt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}

// scryptParams is RFC 7914's scrypt-params.
type scryptParams struct {
	Salt            []byte
	CostParameter   int
	BlockSize       int
	Parallelization int
	KeyLength       int `asn1:"optional"`
}

// checkPKCS8Work refuses an EncryptedPrivateKeyInfo whose key derivation
// asks for more than MaxPFXIterations PBKDF2 iterations, or scrypt
// parameters over MaxScryptMemory or 16-way parallelism: the parameters are
// the file's to choose, and the decrypter runs them as given. A structure
// that is not PBES2 is left to the decrypter, which refuses it; PBES2
// parameters this function cannot read are refused.
func checkPKCS8Work(der []byte) error {
	var epki p12EncryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &epki); err != nil || !epki.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil // the decrypter refuses it before deriving anything
	}
	var p pbes2Params
	if _, err := asn1.Unmarshal(epki.Algorithm.Parameters.FullBytes, &p); err != nil {
		return fmt.Errorf("keys: the PEM key's PBES2 parameters cannot be read: %w: %w", keys.ErrMalformed, err)
	}
	switch kdf := p.KeyDerivationFunc; {
	case kdf.Algorithm.Equal(oidPBKDF2):
		var kp pbkdf2Params
		if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &kp); err != nil {
			return fmt.Errorf("keys: the PEM key's PBKDF2 parameters cannot be read: %w: %w", keys.ErrMalformed, err)
		}
		if kp.Iterations > MaxPFXIterations {
			return fmt.Errorf("keys: the PEM key asks for %d PBKDF2 iterations, more than the %d allowed: %w: %w", kp.Iterations, MaxPFXIterations, ErrKDFCost, keys.ErrMalformed)
		}
	case kdf.Algorithm.Equal(oidScrypt):
		var sp scryptParams
		if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &sp); err != nil {
			return fmt.Errorf("keys: the PEM key's scrypt parameters cannot be read: %w: %w", keys.ErrMalformed, err)
		}
		n, r := int64(sp.CostParameter), int64(sp.BlockSize)
		if n <= 0 || r <= 0 || sp.Parallelization <= 0 || n > MaxScryptMemory || r > MaxScryptMemory || 128*n*r > MaxScryptMemory || sp.Parallelization > 16 {
			return fmt.Errorf("keys: the PEM key's scrypt parameters (N=%d, r=%d, p=%d) ask for more than %d MiB or 16-way parallelism: %w: %w", sp.CostParameter, sp.BlockSize, sp.Parallelization, MaxScryptMemory>>20, ErrKDFCost, keys.ErrMalformed)
		}
	}
	return nil
}
