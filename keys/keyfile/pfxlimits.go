package keyfile

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keyfile/internal/pkcs12pbe"
)

// MaxPFXIterations bounds every key-derivation iteration count a PFX or an
// encrypted PEM key may ask for. The count is read from the file, and
// go-pkcs12 runs whatever it says: a crafted PFX with 2^31 iterations would
// keep ParsePFX busy for minutes. Real files use 2,000 to 600,000 (OpenSSL 3
// and Windows 2,048 or 2,000; Java 10,000; OWASP's PBKDF2-SHA-256 advice
// 600,000).
const MaxPFXIterations = 1_000_000

// maxPFXNesting bounds how deep SafeContents bags may nest inside a PFX.
const maxPFXNesting = 8

// ErrKDFCost is returned, with ErrMalformed, for a PFX or an encrypted PEM
// key whose key derivation asks for more work than MaxPFXIterations or
// MaxScryptMemory allow, anywhere in the file. It is found before that
// derivation runs.
var ErrKDFCost = errors.New("key derivation asks for too much work")

// ASN.1 shapes of RFC 7292 (PKCS#12) and RFC 8018 (PKCS#5), the same Go
// types go-pkcs12 v0.7.4 decodes with, so that what this reader cannot read
// go-pkcs12 cannot either.
type (
	p12ContentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
	}
	p12DigestInfo struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
	p12MacData struct {
		Mac        p12DigestInfo
		MacSalt    []byte
		Iterations int `asn1:"optional,default:1"`
	}
	p12PFX struct {
		Version  int
		AuthSafe p12ContentInfo
		MacData  p12MacData `asn1:"optional"`
	}
	p12EncryptedContentInfo struct {
		ContentType                asn1.ObjectIdentifier
		ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
		EncryptedContent           []byte `asn1:"tag:0,optional"`
	}
	p12EncryptedData struct {
		Version              int
		EncryptedContentInfo p12EncryptedContentInfo
	}
	p12Attribute struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue `asn1:"set"`
	}
	p12SafeBag struct {
		ID         asn1.ObjectIdentifier
		Value      asn1.RawValue  `asn1:"tag:0,explicit"`
		Attributes []p12Attribute `asn1:"set,optional"`
	}
	p12EncryptedPrivateKeyInfo struct {
		Algorithm     pkix.AlgorithmIdentifier
		EncryptedData []byte
	}
	// pbeParams is PKCS#12's (and PBES1's) salt and iteration count.
	pbeParams struct {
		Salt       []byte
		Iterations int
	}
	// pbes2Params and pbmac1Params both start with the key derivation
	// function, PBKDF2 in practice.
	pbes2Params struct {
		KeyDerivationFunc pkix.AlgorithmIdentifier
		Scheme            pkix.AlgorithmIdentifier
	}
	pbkdf2Params struct {
		Salt       asn1.RawValue
		Iterations int
		KeyLength  int                      `asn1:"optional"`
		PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
	}
)

var (
	oidP12Data          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidP12EncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidP12ShroudedKey   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidP12SafeContents  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 6}
	oidPBES2            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBMAC1           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidPBKDF2           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPKCS12PBE        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
)

// unmarshalAll is asn1.Unmarshal refusing trailing data, as go-pkcs12's
// reader does.
func unmarshalAll(der []byte, v any) error {
	rest, err := asn1.Unmarshal(der, v)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing data")
	}
	return err
}

// pfxWork walks a PFX the way go-pkcs12 will and refuses it, before
// go-pkcs12 runs any key derivation, if any derivation it could ask for
// has more than max iterations: the MAC (PKCS#12 or PBMAC1), every
// encrypted safe, and every shrouded key bag, in plain safes, inside
// encrypted safes and inside SafeContents bags nested up to maxPFXNesting
// deep. The parameters of bags inside an encrypted safe are themselves
// encrypted: the safe's own count is checked first, then the safe is
// decrypted with password (so its derivation runs twice, once here and once
// in go-pkcs12) and its bags are checked. ctx is checked before each
// decryption.
//
// A structure below the top level that cannot be read is refused
// (ErrMalformed). A top-level structure that cannot be read, and a safe that
// does not decrypt with password, are left to go-pkcs12, which stops there
// too and reports them (a wrong password, for one).
func pfxWork(ctx context.Context, data []byte, password string, max int) error {
	var pfx p12PFX
	if err := unmarshalAll(data, &pfx); err != nil {
		return nil
	}
	if pfx.MacData.Mac.Algorithm.Algorithm != nil {
		if pfx.MacData.Mac.Algorithm.Algorithm.Equal(oidPBMAC1) {
			if err := checkAlgorithmIterations("MAC", pfx.MacData.Mac.Algorithm, max); err != nil {
				return err
			}
		} else if err := checkIterations("MAC", pfx.MacData.Iterations, max); err != nil {
			return err
		}
	}
	if !pfx.AuthSafe.ContentType.Equal(oidP12Data) {
		return nil
	}
	var authSafeDER []byte
	if err := unmarshalAll(pfx.AuthSafe.Content.Bytes, &authSafeDER); err != nil {
		return unreadable("authenticated safe", err)
	}
	var items []p12ContentInfo
	if err := unmarshalAll(authSafeDER, &items); err != nil {
		return unreadable("authenticated safe", err)
	}
	if len(items) > 2 {
		// go-pkcs12's DecodeChain reads one or two.
		return fmt.Errorf("keys: the PFX's authenticated safe has %d parts, more than the 2 a key and its certificates need: %w", len(items), keys.ErrMalformed)
	}
	// First everything in the clear: the count of each encrypted safe and
	// the bags of the plain ones. Then the encrypted safes' bags.
	var encrypted []p12EncryptedContentInfo
	for i, ci := range items {
		what := fmt.Sprintf("safe %d", i+1)
		switch {
		case ci.ContentType.Equal(oidP12Data):
			var sc []byte
			if err := unmarshalAll(ci.Content.Bytes, &sc); err != nil {
				return unreadable(what, err)
			}
			if err := checkSafeContents(what, sc, max, 0); err != nil {
				return err
			}
		case ci.ContentType.Equal(oidP12EncryptedData):
			var ed p12EncryptedData
			if err := unmarshalAll(ci.Content.Bytes, &ed); err != nil {
				return unreadable(what, err)
			}
			if err := checkAlgorithmIterations("encrypted "+what, ed.EncryptedContentInfo.ContentEncryptionAlgorithm, max); err != nil {
				return err
			}
			encrypted = append(encrypted, ed.EncryptedContentInfo)
		default:
			// go-pkcs12 refuses other content types before decrypting any.
			return nil
		}
	}
	if len(encrypted) == 0 {
		return nil
	}
	passwords, err := pfxPasswords(password)
	if err != nil {
		return nil // go-pkcs12 refuses the password first
	}
	for i, eci := range encrypted {
		what := fmt.Sprintf("encrypted safe %d", i+1)
		pws := passwords
		if eci.ContentEncryptionAlgorithm.Algorithm.Equal(oidPBES2) {
			pws = pws[:1] // PBES2 reads both encodings as the same UTF-8 password
		}
		// Every encoding go-pkcs12 may decrypt with is tried: a file could
		// decrypt to one set of bags under one and another under the other.
		for _, pw := range pws {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("keys: reading the PFX stopped: %w", err)
			}
			sc, err := pkcs12pbe.Decrypt(eci.ContentEncryptionAlgorithm, pw, eci.EncryptedContent)
			if err != nil {
				// go-pkcs12 cannot decrypt it with this encoding either
				// (wrong password, damaged or unsupported) and reads no
				// bag of the file with it.
				continue
			}
			var bags []p12SafeBag
			if unmarshalAll(sc, &bags) != nil {
				continue // go-pkcs12 stops there too
			}
			if err := checkSafeContents(what, sc, max, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// pfxPasswords returns the encodings of password go-pkcs12 may decrypt
// with: its BMPString, and for the empty password also no bytes at all
// (go-pkcs12 retries with that when the MAC does not verify).
func pfxPasswords(password string) ([][]byte, error) {
	bmp, err := pkcs12pbe.BMPPassword(password)
	if err != nil {
		return nil, err
	}
	if password == "" {
		return [][]byte{bmp, nil}, nil
	}
	return [][]byte{bmp}, nil
}

// checkSafeContents checks the shrouded key bags of a SafeContents and,
// recursively, of the SafeContents bags inside it.
func checkSafeContents(what string, der []byte, max, depth int) error {
	if depth > maxPFXNesting {
		return fmt.Errorf("keys: the PFX's %s nests SafeContents more than %d deep: %w", what, maxPFXNesting, keys.ErrMalformed)
	}
	var bags []p12SafeBag
	if err := unmarshalAll(der, &bags); err != nil {
		return unreadable(what, err)
	}
	for i, bag := range bags {
		switch {
		case bag.ID.Equal(oidP12ShroudedKey):
			var epki p12EncryptedPrivateKeyInfo
			if err := unmarshalAll(bag.Value.Bytes, &epki); err != nil {
				return unreadable(what+" key bag", err)
			}
			if err := checkAlgorithmIterations(what+" private key", epki.Algorithm, max); err != nil {
				return err
			}
		case bag.ID.Equal(oidP12SafeContents):
			if err := checkSafeContents(fmt.Sprintf("%s nested safe %d", what, i+1), bag.Value.Bytes, max, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkAlgorithmIterations checks the iteration count in the parameters of
// a PBES2, PBMAC1 or PKCS#12 PBE algorithm identifier. Parameters that
// cannot be read are refused; other algorithms (which go-pkcs12 does not
// run) pass.
func checkAlgorithmIterations(what string, alg pkix.AlgorithmIdentifier, max int) error {
	switch {
	case alg.Algorithm.Equal(oidPBES2) || alg.Algorithm.Equal(oidPBMAC1):
		var p pbes2Params
		if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
			return unreadable(what+" parameters", err)
		}
		if !p.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
			return nil
		}
		var kdf pbkdf2Params
		if err := unmarshalAll(p.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
			return unreadable(what+" parameters", err)
		}
		return checkIterations(what, kdf.Iterations, max)
	case len(alg.Algorithm) == len(oidPKCS12PBE)+1 && alg.Algorithm[:len(oidPKCS12PBE)].Equal(oidPKCS12PBE):
		var p pbeParams
		if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
			return unreadable(what+" parameters", err)
		}
		return checkIterations(what, p.Iterations, max)
	}
	return nil
}

func checkIterations(what string, n, max int) error {
	if n > max {
		return fmt.Errorf("keys: the PFX's %s asks for %d key-derivation iterations, more than the %d allowed: %w: %w", what, n, max, ErrKDFCost, keys.ErrMalformed)
	}
	return nil
}

func unreadable(what string, err error) error {
	return fmt.Errorf("keys: the PFX's %s cannot be read: %w: %w", what, keys.ErrMalformed, err)
}
