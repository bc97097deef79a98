package webapp_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestCallPageTellsWhatHappened: the System to System page says whether
// the token was fetched or came from the cache, shows the decoded header
// and claims of the assertion (never the signature), the patient's date of
// death, a line-breakable API URL, and a per-call log line with the
// X-Request-ID the API call used.
func TestCallPageTellsWhatHappened(t *testing.T) {
	s := newStack(t, stackOptions{})
	resp, first := s.get(t, "GET", "/system-to-system")
	if resp.StatusCode != 200 {
		t.Fatalf("first call: %d\n%s", resp.StatusCode, first)
	}
	if !strings.Contains(first, "fetched for this call") || !strings.Contains(first, "got a new access token") {
		t.Error("the first call should say the token was just fetched")
	}
	for _, want := range []string{
		`id="assertion-header-alg">RS512<`, `id="assertion-header-typ">JWT<`,
		`id="assertion-claim-iss">` + s.clientID + `<`, `id="assertion-claim-sub">` + s.clientID + `<`,
		`id="assertion-claim-aud">` + s.ts.Config().TokenURL + `<`, `id="assertion-claim-exp">`,
		`id="patient-deceased">2010-10-22T00:00:00`,
	} {
		if !strings.Contains(first, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// A JWS on the page would be three base64url parts joined by dots.
	if regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`).MatchString(first) {
		t.Error("the page shows something shaped like a JWS")
	}
	if !strings.Contains(first, "/<wbr>Patient/<wbr>9000000009") || strings.Contains(first, "word-break: break-all") {
		t.Error("the API URL should break only after its slashes")
	}
	_, second := s.get(t, "GET", "/system-to-system")
	if !strings.Contains(second, "from the cache") || !strings.Contains(second, "used the access token it had cached") {
		t.Error("the second call should say the token came from the cache")
	}
	logs := s.logs.String()
	if !regexp.MustCompile(`msg="system-to-system call".*token_cached=true.*x_request_id=[0-9a-f-]{36}`).MatchString(logs) {
		t.Errorf("the call log line lacks token_cached or x_request_id:\n%s", logs)
	}
}

// TestCallPageTokenRefused: when the token endpoint refuses, the page does
// not claim a token was got, shows the error with its hint, and opens the
// decoded assertion the endpoint refused.
func TestCallPageTokenRefused(t *testing.T) {
	s := newStack(t, stackOptions{unregistered: true})
	resp, body := s.get(t, "GET", "/system-to-system")
	if resp.StatusCode != 502 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if strings.Contains(body, "got a new access token") || strings.Contains(body, "then requested") || !strings.Contains(body, "was refused") {
		t.Error("the intro must say the token request was refused")
	}
	if !strings.Contains(body, `id="token-error-hint"`) {
		t.Error("no hint for the refusal")
	}
	if !strings.Contains(body, `<details id="assertion" open>`) || !strings.Contains(body, `id="assertion-claim-sub">`+s.clientID+`<`) {
		t.Error("the refused assertion's claims should be shown, open")
	}
}

// TestFavicon: the icon the pages link to is served, and the /favicon.ico
// browsers ask for on their own gets a cacheable 204, not a 404 page.
func TestFavicon(t *testing.T) {
	s := newStack(t, stackOptions{})
	_, index := s.get(t, "GET", "/")
	if !strings.Contains(index, `href="/static/favicon.svg"`) {
		t.Fatal("the layout links no icon")
	}
	resp, body := s.get(t, "GET", "/static/favicon.svg")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(body, "<svg") {
		t.Fatalf("favicon.svg: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, _ = s.get(t, "GET", "/favicon.ico")
	if resp.StatusCode != 204 || resp.Header.Get("Cache-Control") == "" {
		t.Fatalf("/favicon.ico: %d %v", resp.StatusCode, resp.Header)
	}
}
