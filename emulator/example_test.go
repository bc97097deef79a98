package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/pkjwt/pkjwt/emulator"
)

// Start the emulator on a loopback httptest server and post a token
// request whose client_assertion is not a JWT: NHS answers row 7.
func Example() {
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	defer ts.Close()
	srv, err := emulator.New(emulator.Config{
		PublicURL: ts.URL,
		Apps: []emulator.App{{
			Name: "Example", APIKey: "example-key",
			JWKSURL: "https://example.invalid/.well-known/jwks.json",
			Scopes:  []string{emulator.PDSScope},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ts.Config.Handler = srv.Handler()

	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {emulator.ClientAssertionType},
		"client_assertion":      {"invalid"},
	}
	resp, err := http.Post(srv.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var body struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		MessageID        string `json:"message_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, body.Error)
	fmt.Println(body.ErrorDescription)
	fmt.Println(strings.HasPrefix(body.MessageID, "rrt-"))
	// Output:
	// 400 invalid_request
	// Malformed JWT in client_assertion
	// true
}
