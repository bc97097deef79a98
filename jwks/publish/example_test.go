package publish_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/jwks/publish"
	"github.com/pkjwt/pkjwt/keys"
)

func ExamplePublish() {
	key, err := keys.Generate("RS512", 2048)
	if err != nil {
		log.Fatal(err)
	}
	body, err := jwks.MarshalRing(keys.NewRing(key))
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "pkjwt-publish-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	target := filepath.Join(dir, ".well-known", "jwks.json")

	// Also azblob.Open("azblob://ACCOUNT/CONTAINER/.well-known/jwks.json", …)
	// or s3.Open("s3://BUCKET/.well-known/jwks.json?region=eu-west-2", …)
	// from jwks/publish/azblob and jwks/publish/s3.
	to, err := publish.OpenFile("file://" + filepath.ToSlash(target))
	if err != nil {
		log.Fatal(err)
	}
	res, err := publish.Publish(context.Background(), to, body, publish.Options{})
	if err != nil {
		log.Fatal(err)
	}
	st, err := os.Stat(target)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Verified, res.KIDs[0] == key.ID, res.Bytes == len(body), st.Mode().Perm())

	// Nothing is ever published for an empty set.
	_, err = publish.Publish(context.Background(), to, []byte(`{"keys":[]}`), publish.Options{})
	fmt.Println(err)
	// Output:
	// true true true -rw-r--r--
	// publish: refused: jwks: the set has no keys
}
