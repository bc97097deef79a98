package emulator

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestLogNeverContainsSecrets: the log lines name method, path, status,
// app and error, but never the access token, the assertion or the
// Authorization header.
func TestLogNeverContainsSecrets(t *testing.T) {
	_, other := testKeys(t)
	e := newTestEnv(t, nil)
	good := e.sign(e.claims(), signOpts{})
	res := e.post(form(good))
	if res.status != 200 {
		t.Fatal(res.status)
	}
	tok := e.token()
	bad := e.sign(e.claims(), signOpts{key: other})
	e.post(form(bad))
	e.get(PDSBasePath+"/Patient/9000000009", map[string]string{"Authorization": "Bearer " + tok, "X-Request-ID": uuid.NewString()})
	e.get(PDSBasePath+"/Patient/9000000009", map[string]string{"Authorization": "Bearer " + tok + "x", "X-Request-ID": uuid.NewString()})
	e.get(HelloWorldPath, map[string]string{"Authorization": "Basic c2VjcmV0"})
	logs := e.logs.String()
	for _, secret := range []string{tok, good, bad, strings.Split(good, ".")[2], strings.Split(bad, ".")[1], "c2VjcmV0"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a secret %.20q…", secret)
		}
	}
	for _, want := range []string{
		"method=POST path=/oauth2/token status=200", `app="Test App"`,
		`status=401`, `error_description="JWT signature verification failed"`,
		`path=/personal-demographics/FHIR/R4/Patient/9000000009 status=200`,
		`error_description="ACCESS_DENIED: Invalid Access Token"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, "emulator request"); n != 6 {
		t.Errorf("%d log lines, want 6", n)
	}
}

func TestNewValidation(t *testing.T) {
	for _, cfg := range []Config{
		{PublicURL: "ftp://x"},
		{PublicURL: "http://"},
		{PublicURL: "http://h?x=1"},
		{TokenRateLimit: -1},
		{Apps: []App{{Name: "no key"}}},
		{Apps: []App{{APIKey: "k", Status: "pending"}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	s, err := New(Config{PublicURL: "http://127.0.0.1:9000/"})
	if err != nil || s.TokenURL() != "http://127.0.0.1:9000/oauth2/token" || s.PDSBaseURL() != "http://127.0.0.1:9000/personal-demographics/FHIR/R4" {
		t.Errorf("%v %q", err, s.TokenURL())
	}
}

// TestAudFromRequestWithoutPublicURL: with no PublicURL the aud must be
// the URL the request was sent to.
func TestAudFromRequestWithoutPublicURL(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.PublicURL = "" })
	if e.srv.TokenURL() != "" {
		t.Error("TokenURL not empty")
	}
	if r := e.post(form(e.sign(e.claims(), signOpts{}))); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	c := with(e.claims(), "aud", strings.Replace(e.tokenURL(), "127.0.0.1", "localhost", 1))
	assertTokenError(t, e.post(form(e.sign(c, signOpts{}))), 401, "invalid_request", descAud)
}

func TestAddAppConcurrent(t *testing.T) {
	e := newTestEnv(t, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			_ = e.srv.AddApp(App{APIKey: uuid.NewString(), JWKSURL: e.jwks.url(), Scopes: []string{PDSScope}})
		}
	}()
	for i := 0; i < 20; i++ {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, e.tokenURL(), strings.NewReader(url.Values{}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		e.srv.Handler().ServeHTTP(rec, req)
	}
	<-done
	if err := e.srv.AddApp(App{}); err == nil {
		t.Error("AddApp without key succeeded")
	}
	if n := len(e.srv.Apps()); n != 101 {
		t.Errorf("%d apps", n)
	}
}

func TestLoadApps(t *testing.T) {
	apps, err := LoadApps(filepath.Join("testdata", "apps.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) < 2 || apps[0].APIKey == "" || apps[0].Status != StatusApproved {
		t.Errorf("%+v", apps)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	j, err := LoadApps(write("a.json", `{"apps":[{"name":"J","api_key":"k1","jwks_url":"https://x/j","scopes":["`+PDSScope+`"],"can_override_token_expiry":true}]}`))
	if err != nil || len(j) != 1 || !j[0].CanOverrideTokenExpiry || j[0].Scopes[0] != PDSScope {
		t.Errorf("%v %+v", err, j)
	}
	l, err := LoadApps(write("list.yaml", "- api_key: k2\n  status: revoked\n"))
	if err != nil || len(l) != 1 || l[0].Status != StatusRevoked || l[0].Name != "k2" {
		t.Errorf("%v %+v", err, l)
	}
	for name, body := range map[string]string{
		"typo.yaml":   "apps:\n  - api_key: k\n    jwks_ulr: https://x/j\n",
		"typo.json":   `{"apps":[{"api_key":"k","jwksurl":"x"}]}`,
		"dup.yaml":    "apps:\n  - api_key: k\n  - api_key: k\n",
		"status.yaml": "apps:\n  - api_key: k\n    status: live\n",
		"nokey.yaml":  "apps:\n  - name: x\n",
	} {
		if _, err := LoadApps(write(name, body)); err == nil {
			t.Errorf("%s loaded", name)
		}
	}
	if _, err := LoadApps(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file loaded")
	}
}

func TestRulesTable(t *testing.T) {
	seen := map[ruleID]bool{}
	for _, r := range tokenRules {
		if seen[r.ID] {
			t.Errorf("duplicate rule %d", r.ID)
		}
		seen[r.ID] = true
		if r.ID != ruleMethodNotAllowed && (r.Error == "" || r.Description == "" || r.Status < 400) {
			t.Errorf("incomplete rule %+v", r)
		}
	}
	for id := ruleMethodNotAllowed; id <= ruleUnknownError; id++ {
		if !seen[id] {
			t.Errorf("row %d missing", id)
		}
	}
}

func TestMessageID(t *testing.T) {
	a, b := newMessageID(), newMessageID()
	if a == b || !strings.HasPrefix(a, "rrt-") || !strings.HasSuffix(a, "-1") || strings.Count(a, "-") != 6 {
		t.Errorf("%q %q", a, b)
	}
}

// TestNoClientImports: the emulator's non-test code imports nothing from
// the client side of the module, so that a bug shared by both cannot hide.
func TestNoClientImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "github.com/pkjwt/pkjwt" || strings.HasPrefix(p, "github.com/pkjwt/pkjwt/") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
	if checked < 8 {
		t.Errorf("checked only %d files", checked)
	}
}

// TestLogNeverContainsTokenAsScheme: for "Authorization: <token>" (no
// scheme) or "Bearer\t<token>", the text before the first space is the
// token itself. The response echoes it as NHS does, but the log must not.
func TestLogNeverContainsTokenAsScheme(t *testing.T) {
	e := newTestEnv(t, nil)
	tok := e.token()
	for _, h := range []string{tok, "Bearer\t" + tok, "bearer " + tok, tok + " x"} {
		for _, path := range []string{PDSBasePath + "/Patient/9000000009", HelloWorldPath} {
			res := e.get(path, map[string]string{"Authorization": h, "X-Request-ID": uuid.NewString()})
			scheme, _, _ := strings.Cut(h, " ")
			want := "Invalid token type '" + scheme + "', must be 'Bearer'"
			var oo operationOutcome
			if err := json.Unmarshal(res.body, &oo); err != nil || res.status != 401 || len(oo.Issue) != 1 ||
				oo.Issue[0].Diagnostics != want {
				t.Errorf("%s %.10q…: status %d body %s, want diagnostics %q", path, h, res.status, res.body, want)
			}
		}
	}
	logs := e.logs.String()
	if strings.Contains(logs, tok) {
		t.Errorf("log contains the access token:\n%s", logs)
	}
	if !strings.Contains(logs, "ACCESS_DENIED: Invalid token type (redacted, ") ||
		!strings.Contains(logs, "ACCESS_DENIED: Invalid token type 'bearer', must be 'Bearer'") {
		t.Errorf("log lacks the redacted descriptions:\n%s", logs)
	}
}
