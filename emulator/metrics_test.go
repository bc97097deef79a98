package emulator_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/internal/testutil"
)

// TestRuleNames: every row of the error table has a short name, unique,
// fit for a Prometheus label value, and listed in docs/emulator.md.
func TestRuleNames(t *testing.T) {
	doc, err := os.ReadFile("../docs/emulator.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for id, n := range emulator.RuleLabels() {
		if n == "" {
			t.Errorf("row %d has no name", id)
			continue
		}
		if strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("row %d: name %q is not snake_case", id, n)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("rows %d and %d share the name %q", other, id, n)
		}
		seen[n] = id
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("row %d: name %q is not listed in docs/emulator.md", id, n)
		}
	}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + emulator.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

func sample(t *testing.T, exposition, series string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		if name, val, ok := strings.Cut(sc.Text(), " "); ok && name == series {
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return -1
}

// TestMetricsByRule sends token requests that fail at known rows, and PDS
// requests without a token, over loopback, and reads the counts back.
func TestMetricsByRule(t *testing.T) {
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu.Handler())
	defer srv.Close()
	post := func(ctype, body string) {
		resp, err := http.Post(srv.URL+emulator.TokenPath, ctype, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	form := "application/x-www-form-urlencoded"
	post("text/plain", "x")                                     // row 2
	post(form, "")                                              // row 3
	post(form, "grant_type=client_credentials")                 // row 5
	post(form, url.Values{"grant_type": {"client_credentials"}, // row 7
		"client_assertion_type": {emulator.ClientAssertionType}, "client_assertion": {"not.a.jwt"}}.Encode())
	resp, err := http.Get(srv.URL + emulator.TokenPath) // row 1
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for range 2 {
		resp, err := http.Get(srv.URL + emulator.PDSBasePath + "/Patient/9000000009") // no token: 401
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	m := scrape(t, srv.URL)
	want := map[string]float64{
		`pkjwt_emulator_token_requests_total{rule="content_type"}`:          1,
		`pkjwt_emulator_token_requests_total{rule="missing_grant_type"}`:    1,
		`pkjwt_emulator_token_requests_total{rule="client_assertion_type"}`: 1,
		`pkjwt_emulator_token_requests_total{rule="malformed_jwt"}`:         1,
		`pkjwt_emulator_token_requests_total{rule="method_not_allowed"}`:    1,
		`pkjwt_emulator_token_requests_total{rule="ok"}`:                    0,
		`pkjwt_emulator_pds_requests_total{code="401"}`:                     2,
	}
	for series, v := range want {
		if got := sample(t, m, series); got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
	testutil.PromtoolCheckMetrics(t, []byte(m))
}
