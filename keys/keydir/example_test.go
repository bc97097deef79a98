package keydir_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

func ExampleDir() {
	tmp, err := os.MkdirTemp("", "keys-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	dir := keydir.Dir{Path: filepath.Join(tmp, "keys")}

	k, err := keys.Generate("RS512", 2048) // NHS England: 4096 (keys.DefaultRSABits)
	if err != nil {
		log.Fatal(err)
	}
	if err := dir.Save(k); err != nil { // <kid>.pem (0600) and <kid>.json, written atomically
		log.Fatal(err)
	}
	ring, err := dir.LoadRing()
	if err != nil {
		log.Fatal(err)
	}
	signer, err := ring.SigningKey()
	if err != nil {
		log.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir.Path, k.ID+".pem"))
	fmt.Println(ring.Len(), signer.ID == k.ID, signer.Algorithm, st.Mode().Perm())
	// Output: 1 true RS512 -rw-------
}
