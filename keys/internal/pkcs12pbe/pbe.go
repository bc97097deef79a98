// Package pkcs12pbe decrypts one password-encrypted PKCS#12 layer (an
// encrypted SafeContents) exactly as software.sslmate.com/src/go-pkcs12
// v0.7.4 does, so that package keys can read the key-derivation parameters
// of the bags inside before go-pkcs12 derives any key for them. It is not a
// PKCS#12 reader: it checks no MAC and parses no bag. Its RC2 and PKCS#12
// key derivation are go-pkcs12's (BSD licence, see LICENSE); the rest uses
// the standard library.
package pkcs12pbe

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"hash"
	"unicode/utf16"
)

// Errors of Decrypt.
var (
	// ErrUnsupported is returned for an algorithm go-pkcs12 does not
	// decrypt either.
	ErrUnsupported = errors.New("pkcs12pbe: unsupported algorithm")
	// ErrDecryption is returned when the padding is wrong: the password is
	// wrong or the data damaged.
	ErrDecryption = errors.New("pkcs12pbe: decryption failed")
	// ErrMalformed is returned for parameters or ciphertext that cannot be
	// read.
	ErrMalformed = errors.New("pkcs12pbe: malformed parameters")
)

var (
	oidPBEWithSHAAnd3KeyTripleDESCBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBEWithSHAAnd128BitRC2CBC     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 5}
	oidPBEWithSHAAnd40BitRC2CBC      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6}
	oidPBES2                         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2                        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHmacWithSHA1                  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHmacWithSHA256                = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHmacWithSHA512                = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC                     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC                     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC                     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type pbeParams struct {
	Salt       []byte
	Iterations int
}

type pbes2Params struct {
	Kdf              pkix.AlgorithmIdentifier
	EncryptionScheme pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       asn1.RawValue
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	Prf        pkix.AlgorithmIdentifier `asn1:"optional"`
}

func unmarshal(in []byte, out any) error {
	rest, err := asn1.Unmarshal(in, out)
	if err != nil || len(rest) != 0 {
		return ErrMalformed
	}
	return nil
}

// BMPPassword returns password as go-pkcs12 passes it to its decrypters:
// UCS-2, big-endian, zero-terminated.
func BMPPassword(password string) ([]byte, error) {
	ret := make([]byte, 0, 2*len(password)+2)
	for _, r := range password {
		if t, _ := utf16.EncodeRune(r); t != 0xfffd {
			return nil, ErrUnsupported
		}
		ret = append(ret, byte(r/256), byte(r%256))
	}
	return append(ret, 0, 0), nil
}

func decodeBMP(b []byte) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, ErrMalformed
	}
	if l := len(b); l >= 2 && b[l-1] == 0 && b[l-2] == 0 {
		b = b[:l-2]
	}
	s := make([]uint16, 0, len(b)/2)
	for ; len(b) > 0; b = b[2:] {
		s = append(s, uint16(b[0])<<8+uint16(b[1]))
	}
	return []byte(string(utf16.Decode(s))), nil
}

// Decrypt decrypts ciphertext encrypted with alg (PKCS#12 PBE with 3DES or
// RC2, or PBES2 with PBKDF2 and AES-CBC) under bmpPassword (as BMPPassword
// makes it, or nil as go-pkcs12's empty-password retry uses). The caller
// must have bounded alg's iteration count: Decrypt runs it.
func Decrypt(alg pkix.AlgorithmIdentifier, bmpPassword, ciphertext []byte) ([]byte, error) {
	block, iv, err := cipherFor(alg, bmpPassword)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(ciphertext) == 0 || len(ciphertext)%bs != 0 {
		return nil, ErrMalformed
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ciphertext)
	n := int(out[len(out)-1])
	if n == 0 || n > bs || len(out) < n || !bytes.Equal(out[len(out)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, ErrDecryption
	}
	return out[:len(out)-n], nil
}

func cipherFor(alg pkix.AlgorithmIdentifier, password []byte) (cipher.Block, []byte, error) {
	var keyLen int
	var create func([]byte) (cipher.Block, error)
	switch {
	case alg.Algorithm.Equal(oidPBEWithSHAAnd3KeyTripleDESCBC):
		keyLen, create = 24, des.NewTripleDESCipher
	case alg.Algorithm.Equal(oidPBEWithSHAAnd128BitRC2CBC):
		keyLen, create = 16, func(k []byte) (cipher.Block, error) { return newRC2(k, len(k)*8) }
	case alg.Algorithm.Equal(oidPBEWithSHAAnd40BitRC2CBC):
		keyLen, create = 5, func(k []byte) (cipher.Block, error) { return newRC2(k, len(k)*8) }
	case alg.Algorithm.Equal(oidPBES2):
		utf8Password, err := decodeBMP(password)
		if err != nil {
			return nil, nil, err
		}
		return pbes2CipherFor(alg, utf8Password)
	default:
		return nil, nil, ErrUnsupported
	}
	var p pbeParams
	if err := unmarshal(alg.Parameters.FullBytes, &p); err != nil {
		return nil, nil, err
	}
	key := pbkdf(sha1Sum, 20, 64, p.Salt, password, p.Iterations, 1, keyLen)
	iv := pbkdf(sha1Sum, 20, 64, p.Salt, password, p.Iterations, 2, 8)
	block, err := create(key)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	return block, iv, nil
}

func pbes2CipherFor(alg pkix.AlgorithmIdentifier, password []byte) (cipher.Block, []byte, error) {
	var p pbes2Params
	if err := unmarshal(alg.Parameters.FullBytes, &p); err != nil {
		return nil, nil, err
	}
	if !p.Kdf.Algorithm.Equal(oidPBKDF2) {
		return nil, nil, ErrUnsupported
	}
	var kp pbkdf2Params
	if err := unmarshal(p.Kdf.Parameters.FullBytes, &kp); err != nil {
		return nil, nil, err
	}
	if kp.Salt.Tag != asn1.TagOctetString {
		return nil, nil, ErrUnsupported
	}
	var prf func() hash.Hash
	switch {
	case kp.Prf.Algorithm.Equal(oidHmacWithSHA256):
		prf = sha256.New
	case kp.Prf.Algorithm.Equal(oidHmacWithSHA512):
		prf = sha512.New
	case kp.Prf.Algorithm.Equal(oidHmacWithSHA1), kp.Prf.Algorithm == nil:
		prf = sha1.New
	default:
		return nil, nil, ErrUnsupported
	}
	var keyLen int
	switch {
	case p.EncryptionScheme.Algorithm.Equal(oidAES256CBC):
		keyLen = 32
	case p.EncryptionScheme.Algorithm.Equal(oidAES192CBC):
		keyLen = 24
	case p.EncryptionScheme.Algorithm.Equal(oidAES128CBC):
		keyLen = 16
	default:
		return nil, nil, ErrUnsupported
	}
	if kp.Iterations < 1 {
		// crypto/pbkdf2 refuses what x/crypto/pbkdf2 (go-pkcs12's) runs as one round.
		kp.Iterations = 1
	}
	key, err := pbkdf2.Key(prf, string(password), kp.Salt.Bytes, kp.Iterations, keyLen)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	iv := p.EncryptionScheme.Parameters.Bytes
	if len(iv) != block.BlockSize() {
		return nil, nil, ErrMalformed
	}
	return block, iv, nil
}
