package keys

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// MaxPFXIterations bounds every key-derivation iteration count a PFX may
// ask for. The count is read from the file, and go-pkcs12 runs whatever it
// says: a crafted PFX with 2^31 iterations would keep ParsePFX busy for
// minutes. Real files use 2,000 to 600,000 (OpenSSL 3 and Windows 2,048 or
// 2,000; Java 10,000; OWASP's PBKDF2-SHA-256 advice 600,000). At the bound
// a PFX takes about 2 to 3 seconds to open.
const MaxPFXIterations = 1_000_000

// ASN.1 shapes of RFC 7292 (PKCS#12) and RFC 8018 (PKCS#5), only as far as
// needed to read iteration counts before any key derivation runs. Nothing
// here decrypts or verifies: go-pkcs12 does that.
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
	p12SafeBag struct {
		ID         asn1.ObjectIdentifier
		Value      asn1.RawValue `asn1:"tag:0,explicit"`
		Attributes asn1.RawValue `asn1:"optional"`
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
		Rest       asn1.RawValue `asn1:"optional"`
	}
)

var (
	oidP12Data          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidP12EncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidP12ShroudedKey   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidPBES2            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBMAC1           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidPBKDF2           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPKCS12PBE        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
)

// checkPFXIterations reads the iteration counts of a PFX's MAC, its
// encrypted safes and its shrouded key bags (those outside an encrypted
// safe; OpenSSL, Windows and go-pkcs12 put them there) and refuses any
// above max (MaxPFXIterations in ParsePFX). A structure it cannot read is left to go-pkcs12,
// which reports it.
func checkPFXIterations(data []byte, max int) error {
	var pfx p12PFX
	if _, err := asn1.Unmarshal(data, &pfx); err != nil {
		return nil
	}
	if err := checkIterations("MAC", pfx.MacData.Iterations, max); err != nil {
		return err
	}
	if err := checkAlgorithmIterations("MAC", pfx.MacData.Mac.Algorithm, max); err != nil {
		return err
	}
	if !pfx.AuthSafe.ContentType.Equal(oidP12Data) {
		return nil
	}
	var authSafeDER []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafeDER); err != nil {
		return nil
	}
	var items []p12ContentInfo
	if _, err := asn1.Unmarshal(authSafeDER, &items); err != nil {
		return nil
	}
	for _, ci := range items {
		switch {
		case ci.ContentType.Equal(oidP12EncryptedData):
			var ed p12EncryptedData
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil {
				continue
			}
			if err := checkAlgorithmIterations("encrypted safe", ed.EncryptedContentInfo.ContentEncryptionAlgorithm, max); err != nil {
				return err
			}
		case ci.ContentType.Equal(oidP12Data):
			var sc []byte
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &sc); err != nil {
				continue
			}
			var bags []p12SafeBag
			if _, err := asn1.Unmarshal(sc, &bags); err != nil {
				continue
			}
			for _, bag := range bags {
				if !bag.ID.Equal(oidP12ShroudedKey) {
					continue
				}
				var epki p12EncryptedPrivateKeyInfo
				if _, err := asn1.Unmarshal(bag.Value.Bytes, &epki); err != nil {
					continue
				}
				if err := checkAlgorithmIterations("private key", epki.Algorithm, max); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkAlgorithmIterations checks the iteration count in the parameters of
// a PBES2, PBMAC1 or PKCS#12 PBE algorithm identifier.
func checkAlgorithmIterations(what string, alg pkix.AlgorithmIdentifier, max int) error {
	switch {
	case alg.Algorithm.Equal(oidPBES2) || alg.Algorithm.Equal(oidPBMAC1):
		var p pbes2Params
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil || !p.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
			return nil
		}
		var kdf pbkdf2Params
		if _, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
			return nil
		}
		return checkIterations(what, kdf.Iterations, max)
	case len(alg.Algorithm) == len(oidPKCS12PBE)+1 && alg.Algorithm[:len(oidPKCS12PBE)].Equal(oidPKCS12PBE):
		var p pbeParams
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil {
			return nil
		}
		return checkIterations(what, p.Iterations, max)
	}
	return nil
}

func checkIterations(what string, n, max int) error {
	if n > max {
		return fmt.Errorf("keys: the PFX's %s asks for %d key-derivation iterations, more than the %d allowed: %w", what, n, max, ErrMalformed)
	}
	return nil
}
