package pkjwt_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt"
)

// TestTokenErrorTextIsInert: a token endpoint's error, error_description
// and message_id reach TokenError's fields as sent, and its Error() text
// (what a program logs or prints) with every control character escaped:
// no screen clear, no extra line, no clipboard write, no bidi override.
func TestTokenErrorTextIsInert(t *testing.T) {
	const desc = "denied\x1b[2J\nok token\x1b]52;c;ZXZpbA==\x07\u202e"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client\r", "error_description": desc, "message_id": "m\u009b1"})
	}))
	defer srv.Close()
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{ClientID: "app-1", TokenURL: srv.URL + "/token", Keys: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.TokenContext(context.Background())
	var te *pkjwt.TokenError
	if !errors.As(err, &te) {
		t.Fatalf("want a TokenError, got %v", err)
	}
	if te.Description != desc || te.Code != "invalid_client\r" {
		t.Fatalf("fields changed: %q %q", te.Code, te.Description)
	}
	text := err.Error()
	for _, r := range text {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x202e {
			t.Fatalf("raw %U in %q", r, text)
		}
	}
	for _, want := range []string{`invalid_client\r`, `denied\x1b[2J\nok token\x1b]52;c;ZXZpbA==\x07\u202e`, `m\u009b1`} {
		if !strings.Contains(text, want) {
			t.Errorf("Error() = %q, want it to show %s", text, want)
		}
	}
}
