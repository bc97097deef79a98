package keys_test

import (
	"fmt"
	"log"
	"os"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt/keys"
)

// The kid of every key is its RFC 7638 thumbprint; this is the example key
// of RFC 7638 §3.1.
func ExampleThumbprint() {
	data, err := os.ReadFile("testdata/rfc7638-example.json")
	if err != nil {
		log.Fatal(err)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		log.Fatal(err)
	}
	kid, err := keys.Thumbprint(jwk.Key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(kid)
	// Output: NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
}
