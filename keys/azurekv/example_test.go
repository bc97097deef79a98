package azurekv_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/azurekv"
)

// exampleVault returns options that reach a fake vault (the Azure SDK's
// fake server) holding the key "nhs-signing".
func exampleVault() []azurekv.Option {
	priv, err := rsa.GenerateKey(rand.Reader, 2048) // the vault's key; NHS England: 4096
	if err != nil {
		log.Fatal(err)
	}
	v := newFakeVault(nil)
	v.addKey("nhs-signing", priv)
	return v.options()
}

// Open a Key Vault key and sign an NHS client assertion with it: the
// private key stays in the vault, which signs the RS512 digest. The vault
// here is the Azure SDK's fake server; in production call azurekv.New()
// without options (DefaultAzureCredential: managed identity, workload
// identity, environment, Azure CLI).
func ExampleBackend_Open() {
	ctx := context.Background()
	b := azurekv.New(exampleVault()...)
	signer, err := b.Open(ctx, "azurekv://pkjwt-test/keys/nhs-signing")
	if err != nil {
		log.Fatal(err)
	}
	key, err := keys.New(signer, "RS512", time.Now()) // kid: the RFC 7638 thumbprint
	if err != nil {
		log.Fatal(err)
	}
	assertion, err := pkjwt.Assertion{
		ClientID: "my-api-key",
		Audience: pkjwt.NHSInt().TokenURL,
	}.Sign(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(key.Algorithm, strings.Count(assertion, ".")+1, "JWS parts")
	// Output:
	// RS512 3 JWS parts
}
