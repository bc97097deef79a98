// Package pkcs12pbe decrypts one password-encrypted PKCS#12 layer (the
// EncryptedData of an encrypted SafeContents) so that package keys can read
// the key-derivation parameters of the bags inside before
// software.sslmate.com/src/go-pkcs12 derives any key for them. It is used
// only to inspect iteration counts before go-pkcs12 decrypts; it never
// produces a key the project uses, checks no MAC and parses no bag.
//
// It is written from the public specifications: the PKCS#12 key derivation
// and password-based encryption of RFC 7292 (appendices B and C), RC2 of
// RFC 2268, and PBES2 of RFC 8018 through the standard library's
// crypto/pbkdf2, crypto/aes and crypto/des. It accepts the algorithms
// go-pkcs12 decrypts: pbeWithSHAAnd3-KeyTripleDES-CBC, pbeWithSHAAnd128BitRC2-CBC,
// pbeWithSHAAnd40BitRC2-CBC, and PBES2 with PBKDF2 (HMAC-SHA-1, -256 or
// -512) and AES-128, -192 or -256 in CBC mode.
package pkcs12pbe

import (
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
	// decrypt either, and by BMPPassword for a password go-pkcs12 cannot
	// encode.
	ErrUnsupported = errors.New("pkcs12pbe: unsupported algorithm")
	// ErrDecryption is returned when the padding is wrong: the password is
	// wrong or the data damaged.
	ErrDecryption = errors.New("pkcs12pbe: decryption failed")
	// ErrMalformed is returned for parameters or ciphertext that cannot be
	// read.
	ErrMalformed = errors.New("pkcs12pbe: malformed parameters")
)

// Object identifiers of RFC 7292 appendix C, RFC 8018 appendices A and B,
// and NIST's AES modes.
var (
	oidPBEWithSHA1And3DES   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBEWithSHA1And128RC2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 5}
	oidPBEWithSHA1And40RC2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6}
	oidPBES2                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1         = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA256       = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA512       = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// pkcs12PBEParams is pkcs-12PbeParams of RFC 7292 appendix C.
type pkcs12PBEParams struct {
	Salt       []byte
	Iterations int
}

// pbes2Params is PBES2-params of RFC 8018 appendix A.4.
type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

// pbkdf2Params is PBKDF2-params of RFC 8018 appendix A.2 (the salt as a
// RawValue: only the specified OCTET STRING choice is read).
type pbkdf2Params struct {
	Salt           asn1.RawValue
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// BMPPassword returns password as PKCS#12 feeds it to its key derivation
// (RFC 7292 appendix B.1): UTF-16 big-endian with two zero bytes at the
// end. Characters beyond the Basic Multilingual Plane, which go-pkcs12
// refuses too, give ErrUnsupported.
func BMPPassword(password string) ([]byte, error) {
	out := make([]byte, 0, 2*len(password)+2)
	for _, r := range password {
		if r > 0xffff {
			return nil, ErrUnsupported
		}
		out = append(out, byte(r>>8), byte(r))
	}
	return append(out, 0, 0), nil
}

// utf8Password turns a BMPPassword result (or nil) back into the UTF-8
// string that PBES2 derives its key from.
func utf8Password(bmp []byte) (string, error) {
	if len(bmp)%2 != 0 {
		return "", ErrMalformed
	}
	units := make([]uint16, 0, len(bmp)/2)
	for k := 0; k < len(bmp); k += 2 {
		units = append(units, uint16(bmp[k])<<8|uint16(bmp[k+1]))
	}
	if n := len(units); n > 0 && units[n-1] == 0 {
		units = units[:n-1]
	}
	return string(utf16.Decode(units)), nil
}

// Decrypt decrypts ciphertext encrypted with alg under bmpPassword (as
// BMPPassword makes it, or nil as go-pkcs12's empty-password retry uses)
// and removes the CBC padding. The caller must have bounded alg's
// iteration count: Decrypt runs it.
func Decrypt(alg pkix.AlgorithmIdentifier, bmpPassword, ciphertext []byte) ([]byte, error) {
	var block cipher.Block
	var iv []byte
	var err error
	if alg.Algorithm.Equal(oidPBES2) {
		block, iv, err = pbes2Cipher(alg.Parameters.FullBytes, bmpPassword)
	} else {
		block, iv, err = pkcs12Cipher(alg, bmpPassword)
	}
	if err != nil {
		return nil, err
	}
	size := block.BlockSize()
	if len(ciphertext) == 0 || len(ciphertext)%size != 0 {
		return nil, ErrMalformed
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	// The padding is 1 to size bytes, each holding the padding's length
	// (RFC 8018 section 6.1.1 step 4, RFC 7292 appendix B.1).
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > size {
		return nil, ErrDecryption
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, ErrDecryption
		}
	}
	return plain[:len(plain)-pad], nil
}

// pkcs12Cipher makes the block cipher and IV of a PKCS#12 PBE algorithm
// (RFC 7292 appendix C): key and IV come from the appendix B derivation
// with SHA-1.
func pkcs12Cipher(alg pkix.AlgorithmIdentifier, password []byte) (cipher.Block, []byte, error) {
	var keyLen int
	switch {
	case alg.Algorithm.Equal(oidPBEWithSHA1And3DES):
		keyLen = 24
	case alg.Algorithm.Equal(oidPBEWithSHA1And128RC2):
		keyLen = 16
	case alg.Algorithm.Equal(oidPBEWithSHA1And40RC2):
		keyLen = 5
	default:
		return nil, nil, ErrUnsupported
	}
	var p pkcs12PBEParams
	if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil {
		return nil, nil, ErrMalformed
	}
	key := derive(purposeKey, password, p.Salt, p.Iterations, keyLen)
	iv := derive(purposeIV, password, p.Salt, p.Iterations, 8)
	var block cipher.Block
	var err error
	if keyLen == 24 {
		block, err = des.NewTripleDESCipher(key)
	} else {
		// RC2's effective key length is the whole key: 40 or 128 bits.
		block, err = newRC2(key, 8*keyLen)
	}
	if err != nil {
		return nil, nil, ErrMalformed
	}
	return block, iv, nil
}

// pbes2Cipher makes the AES-CBC cipher and IV of PBES2 parameters (RFC
// 8018 section 6.2) with PBKDF2 from the UTF-8 form of password.
func pbes2Cipher(params, password []byte) (cipher.Block, []byte, error) {
	var p pbes2Params
	if _, err := asn1.Unmarshal(params, &p); err != nil {
		return nil, nil, ErrMalformed
	}
	if !p.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, nil, ErrUnsupported
	}
	var kp pbkdf2Params
	if _, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kp); err != nil {
		return nil, nil, ErrMalformed
	}
	if kp.Salt.Tag != asn1.TagOctetString {
		return nil, nil, ErrUnsupported
	}
	var prf func() hash.Hash
	switch alg := kp.PRF.Algorithm; {
	case len(alg) == 0, alg.Equal(oidHMACWithSHA1): // hmacWithSHA1 is the default
		prf = sha1.New
	case alg.Equal(oidHMACWithSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACWithSHA512):
		prf = sha512.New
	default:
		return nil, nil, ErrUnsupported
	}
	var keyLen int
	switch alg := p.EncryptionScheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen = 16
	case alg.Equal(oidAES192CBC):
		keyLen = 24
	case alg.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, nil, ErrUnsupported
	}
	pw, err := utf8Password(password)
	if err != nil {
		return nil, nil, err
	}
	// crypto/pbkdf2 refuses a count below 1; PBKDF2 runs at least one round.
	key, err := pbkdf2.Key(prf, pw, kp.Salt.Bytes, max(kp.IterationCount, 1), keyLen)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	// The AES-CBC parameter is the IV, an OCTET STRING of one block; its
	// contents are taken whatever the tag, as go-pkcs12 does.
	iv := p.EncryptionScheme.Parameters.Bytes
	if len(iv) != aes.BlockSize {
		return nil, nil, ErrMalformed
	}
	return block, iv, nil
}
