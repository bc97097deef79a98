package webapp_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt/internal/testutil"
)

// metricValue returns the value of the sample whose name and labels are
// exactly series (e.g. `pkjwt_api_calls_total{code="200"}`), or -1.
func metricValue(t *testing.T, exposition, series string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	return -1
}

// TestMetrics drives the app through a token fetch, cached calls, JWKS
// requests (a 304 among them) and health checks, then reads /metrics over
// loopback: each counter moved by what happened, the gauges are there, no
// token or assertion is in it, and promtool accepts it.
func TestMetrics(t *testing.T) {
	s := newStack(t, stackOptions{})
	for range 3 {
		if resp, body := s.get(t, "GET", "/system-to-system"); resp.StatusCode != 200 {
			t.Fatalf("call: %d\n%s", resp.StatusCode, body)
		}
	}
	resp, _ := s.get(t, "GET", "/.well-known/jwks.json")
	etag := resp.Header.Get("ETag")
	req, _ := http.NewRequest("GET", s.web.URL+"/.well-known/jwks.json", nil)
	req.Header.Set("If-None-Match", etag)
	req.Header.Set("X-Request-ID", "jwks-req-1")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 304 {
		t.Fatalf("conditional JWKS: %d", r2.StatusCode)
	}
	s.get(t, "GET", "/healthz")
	s.get(t, "GET", "/readyz")
	logsBefore := s.logs.String()

	resp, m := s.get(t, "GET", "/metrics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	kid := key(t).ID
	want := map[string]float64{
		`pkjwt_token_requests_total{outcome="ok"}`:              1,
		`pkjwt_token_requests_total{outcome="rejected"}`:        0,
		`pkjwt_token_request_duration_seconds_count`:            1,
		`pkjwt_api_calls_total{code="200"}`:                     3,
		`pkjwt_api_call_duration_seconds_count`:                 3,
		`pkjwt_jwks_requests_total{code="304"}`:                 1,
		`pkjwt_http_requests_total{code="200",route="call"}`:    3,
		`pkjwt_http_requests_total{code="200",route="healthz"}`: 1,
		`pkjwt_keys{state="active"}`:                            1,
		`pkjwt_key_rotation_next_step_seconds`:                  0, // default policy, no pending key: add one now
	}
	for series, v := range want {
		if got := metricValue(t, m, series); got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
	// The emulator fetched the JWKS at least once; the test fetched it twice.
	if got := metricValue(t, m, `pkjwt_jwks_requests_total{code="200"}`); got < 2 {
		t.Errorf("JWKS 200s = %v, want >= 2", got)
	}
	// Each call reads the token twice (before the call, and after it for
	// redaction) and the transport once: all but the first read are hits.
	if got := metricValue(t, m, `pkjwt_token_cache_hits_total`); got < 5 {
		t.Errorf("cache hits = %v, want >= 5", got)
	}
	if got := metricValue(t, m, `pkjwt_token_expires_in_seconds`); got < 500 || got > 599 {
		t.Errorf("token expires in %v s, want about 599", got)
	}
	if got := metricValue(t, m, `pkjwt_signing_key_age_seconds{kid="`+kid+`"}`); got < 0 || got > 3600 {
		t.Errorf("signing key age %v", got)
	}
	tok := s.cachedToken(t)
	if strings.Contains(m, tok) || strings.Contains(m, "eyJ") {
		t.Fatal("/metrics holds the access token or a JWT")
	}
	testutil.PromtoolCheckMetrics(t, []byte(m))

	// JWKS, health and metrics requests are logged at debug only; pages at info.
	for _, line := range strings.Split(logsBefore, "\n") {
		if strings.Contains(line, "component=webapp") && strings.Contains(line, "msg=request") {
			debug := strings.Contains(line, "level=DEBUG")
			machine := strings.Contains(line, "path=/.well-known/jwks.json") || strings.Contains(line, "path=/healthz") || strings.Contains(line, "path=/readyz")
			if debug != machine {
				t.Errorf("log level of %q", line)
			}
			if !strings.Contains(line, "request_id=") || !strings.Contains(line, "correlation_id=") {
				t.Errorf("request line without the request ids: %q", line)
			}
		}
	}
}
