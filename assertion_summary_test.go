package pkjwt_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt"
)

// TestAssertionSummary: a token, and a token endpoint error, carry the
// decoded header and claims of the assertion that was sent, exactly as the
// independent endpoint saw them, and never the signature.
func TestAssertionSummary(t *testing.T) {
	srv := newTokenServer(t, testKey(), "summary-client")
	ts := newSource(t, srv, nil)
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	sum := pkjwt.Info(tok).Assertion
	if sum == nil {
		t.Fatal("no assertion summary")
	}
	seen := srv.assertions()[0]
	if !sameJSON(sum.Header, seen.Header) || !sameJSON(sum.Claims, seen.Claims) {
		t.Fatalf("summary %+v\nendpoint saw %+v", sum, seen)
	}
	if sum.Header["alg"] != "RS512" || sum.Header["typ"] != "JWT" || sum.Claims["iss"] != "summary-client" || sum.Claims["jti"] != seen.JTI {
		t.Fatalf("summary %+v", sum)
	}
	b, _ := json.Marshal(sum)
	if strings.Count(string(b), ".") > 4 || strings.Contains(string(b), "signature") {
		t.Fatalf("the summary looks like it carries a JWS: %s", b)
	}

	refused := newTokenServer(t, testKey(), "summary-client")
	refused.reply = func(n int64, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		w.Write([]byte(`{"error":"invalid_request","error_description":"Invalid 'iss'/'sub' claims in client_assertion JWT","message_id":"rrt-1"}`))
	}
	_, err = newSource(t, refused, nil).Token()
	var te *pkjwt.TokenError
	if !errors.As(err, &te) || te.Assertion == nil || te.Assertion.Claims["sub"] != "summary-client" || te.Assertion.Header["kid"] != testKey().ID {
		t.Fatalf("token error %v with assertion %+v", err, te)
	}
}
