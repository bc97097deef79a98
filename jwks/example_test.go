package jwks_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
)

func ExampleHandler() {
	key, err := keys.Generate("RS512", 2048)
	if err != nil {
		log.Fatal(err)
	}
	h, err := jwks.NewHandler(keys.NewRing(key).Keys())
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(jwks.Path, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + jwks.Path)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))

	req, _ := http.NewRequest("GET", srv.URL+jwks.Path, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// 200 application/json public, max-age=300
	// 304
}
