package webapp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/webapp"
)

// TestFailedRefreshAfter401: the API rejects the token and the token
// endpoint then refuses a new one. The page shows the API's 401 and the
// token endpoint's error with its advice; the token never appears.
func TestFailedRefreshAfter401(t *testing.T) {
	var tokenReqs atomic.Int64
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := tokenReqs.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if n > 1 {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client","error_description":"The developer app associated with the API key is not approved or revoked","message_id":"rrt-9"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"secret-token-%d","expires_in":"599","token_type":"Bearer"}`, n)
	}))
	defer tokenSrv.Close()
	var apiCalls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiCalls.Add(1)
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"Invalid Access Token"}]}`)
	}))
	defer api.Close()
	k := key(t)
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{Profile: pkjwt.Local(tokenSrv.URL), ClientID: "c", Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	app, err := webapp.New(webapp.Config{TokenSource: ts, CallURL: api.URL + "/Patient/9000000009"})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(app.Handler())
	defer web.Close()
	resp, err := http.Get(web.URL + "/system-to-system")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	mustContain(t, body, "HTTP 401", "Invalid Access Token", "invalid_client", "rrt-9", `id="token-error-hint"`, "not approved")
	if strings.Contains(body, "secret-token-") {
		t.Error("the page shows a token")
	}
	if n := apiCalls.Load(); n != 1 {
		t.Errorf("%d API calls, want 1", n)
	}
	if n := tokenReqs.Load(); n != 2 {
		t.Errorf("%d token requests, want 2 (the first and the failed refresh)", n)
	}
}
