package pkjwt_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
)

// exampleServer stands in for NHS England's token endpoint and an API.
func exampleServer() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"opaque","expires_in":"599","token_type":"Bearer","issued_at":"1764300000000"}`)
	})
	mux.HandleFunc("GET /personal-demographics/FHIR/R4/Patient/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer opaque" || r.Header.Get("X-Request-ID") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"resourceType":"Patient","id":%q}`, r.PathValue("id"))
	})
	return httptest.NewServer(mux)
}

func ExampleNewTokenSource() {
	srv := exampleServer()
	defer srv.Close()

	// In production: ring, err := keys.Dir{Path: "keys"}.LoadRing()
	key, err := keys.Generate("RS512", 2048)
	if err != nil {
		log.Fatal(err)
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile:  pkjwt.Local(srv.URL), // pkjwt.NHSInt() against NHS INT
		ClientID: "my-api-key",
		Keys:     keys.NewRing(key),
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := ts.TokenContext(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	info := pkjwt.Info(tok)
	fmt.Println(info.TokenType, info.ExpiresIn, info.KeyID == key.ID)
	// Output: Bearer 599 true
}

func ExampleNewClient() {
	srv := exampleServer()
	defer srv.Close()

	key, err := keys.Generate("RS512", 2048)
	if err != nil {
		log.Fatal(err)
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(srv.URL), ClientID: "my-api-key", Keys: key})
	if err != nil {
		log.Fatal(err)
	}
	client := pkjwt.NewClient(ts) // adds Authorization and X-Request-ID
	resp, err := client.Get(ts.Config().Profile.APIBaseURL + "/Patient/9000000009")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 {"resourceType":"Patient","id":"9000000009"}
}

// ExampleConfig_modifyAssertion adds a claim to every assertion; the
// token keeps the server's response members.
func ExampleConfig_modifyAssertion() {
	srv := exampleServer()
	defer srv.Close()
	key, err := keys.Generate("RS512", 2048)
	if err != nil {
		log.Fatal(err)
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile:  pkjwt.Local(srv.URL),
		ClientID: "my-api-key",
		Keys:     key,
		ModifyAssertion: func(_ *keys.Key, x *pkjwt.AssertionExtras) error {
			x.Claims["scope"] = "read"
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Extra("issued_at"))
	// Output: 1764300000000
}

// ExampleRefreshError: when the token after a 401 cannot be fetched, the
// client returns the 401 and RefreshError says why.
func ExampleRefreshError() {
	resp := &http.Response{StatusCode: http.StatusUnauthorized, Request: httptest.NewRequest("GET", "/", nil)}
	// resp, err := pkjwt.NewClient(ts).Do(req)
	if resp.StatusCode == http.StatusUnauthorized {
		if err := pkjwt.RefreshError(resp); err != nil {
			log.Printf("no new token: %v", err)
		}
	}
	fmt.Println(pkjwt.RefreshError(resp) == nil)
	// Output: true
}
