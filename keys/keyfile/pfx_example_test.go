package keyfile_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

// The four kid methods for one certificate (a public certificate in
// testdata; its key was thrown away). x509-sha1-hex is what
// "openssl x509 -fingerprint -sha1" prints, without colons, and what .NET
// calls X509Certificate2.Thumbprint.
func ExampleKIDFrom() {
	data, err := os.ReadFile("testdata/example-cert.pem")
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	for _, method := range keys.KIDMethods() {
		kid, err := keys.KIDFrom(method, nil, cert)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-13s %s\n", method, kid)
	}
	// Output:
	// thumbprint    pFdpnWCFnpQ4etTwTZ3PrfdiNb1KheitJjOwX0V3w7Y
	// x5t           FBEfD0yrKJGCpC7qXhVSH7eit0g
	// x5t#S256      2-IWuqG03zOp406T4NUyRvfOBi2qeY6MgOSng0b1DwE
	// x509-sha1-hex 14111F0F4CAB289182A42EEA5E15521FB7A2B748
}

// Moving a key from a PFX (as the .NET sample keeps it) into a key
// directory, keeping the kid it was registered under: the certificate's
// SHA-1 thumbprint in upper-case hex.
func ExampleParsePFX() {
	pfx := samplePFX() // in real use: os.ReadFile("sample.pfx")
	signer, cert, err := keyfile.ParsePFX(pfx, "")
	if err != nil {
		log.Fatal(err)
	}
	k, err := keys.New(signer, "RS512", time.Now())
	if err != nil {
		log.Fatal(err)
	}
	if k.ID, err = keys.KIDFrom(keys.KIDX509SHA1Hex, signer.Public(), cert); err != nil {
		log.Fatal(err)
	}
	k.Certificate = cert

	tmp, err := os.MkdirTemp("", "pfx-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	dir := keydir.Dir{Path: tmp}
	if err := dir.Save(k); err != nil {
		log.Fatal(err)
	}
	loaded, err := dir.Load(k.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.Algorithm, len(loaded.ID), loaded.Certificate.Subject.CommonName)
	// Output: RS512 40 legacy-dotnet-app
}

// samplePFX stands in for the .NET sample's PFX: an RSA key and a
// self-signed certificate, with the empty password.
func samplePFX() []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := keys.SelfSignedCertificate(key, "legacy-dotnet-app", time.Now(), time.Now().AddDate(1, 0, 0))
	if err != nil {
		log.Fatal(err)
	}
	pfx, err := keyfile.EncodePFX(key, cert, "")
	if err != nil {
		log.Fatal(err)
	}
	return pfx
}
