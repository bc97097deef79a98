package webapp

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// MetricsPath is where the app serves its Prometheus metrics.
const MetricsPath = "/metrics"

// Metric names the app exports (Prometheus conventions: a pkjwt_ prefix,
// counters end in _total, durations in _seconds). No metric ever holds a
// token, an assertion or a key; labels are fixed sets, a kid or an HTTP
// status code.
const (
	metricTokenRequests     = "pkjwt_token_requests_total"
	metricTokenDuration     = "pkjwt_token_request_duration_seconds"
	metricCacheHits         = "pkjwt_token_cache_hits_total"
	metricRefreshes         = "pkjwt_token_background_refreshes_total"
	metricTokenExpiresIn    = "pkjwt_token_expires_in_seconds"
	metricAPICalls          = "pkjwt_api_calls_total"
	metricAPIDuration       = "pkjwt_api_call_duration_seconds"
	metricKeyAge            = "pkjwt_signing_key_age_seconds"
	metricNextRotation      = "pkjwt_key_rotation_next_step_seconds"
	metricKeys              = "pkjwt_keys"
	metricJWKSRequests      = "pkjwt_jwks_requests_total"
	metricHTTPRequests      = "pkjwt_http_requests_total"
	metricHTTPRequestsRoute = "route"
)

// latencyBuckets are the histogram buckets of token and API latencies, in
// seconds: loopback milliseconds up to a 30 s timeout.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// metrics is the app's Prometheus registry and the instruments it feeds.
// Each App has its own registry: nothing is registered globally.
type metrics struct {
	reg           *prometheus.Registry
	handler       http.Handler
	tokenRequests *prometheus.CounterVec
	tokenDuration prometheus.Histogram
	cacheHits     prometheus.Counter
	refreshes     prometheus.Counter
	apiCalls      *prometheus.CounterVec
	apiDuration   prometheus.Histogram
	jwksRequests  *prometheus.CounterVec
	httpRequests  *prometheus.CounterVec
}

// newMetrics builds a's metrics and registers them; the token source's
// events reach them through a pkjwt.Observer.
func newMetrics(a *App) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricTokenRequests,
			Help: "Token request attempts (one per assertion signed), by outcome."}, []string{"outcome"}),
		tokenDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: metricTokenDuration,
			Help: "Token request attempts' duration: signing, the HTTP exchange, reading the answer.", Buckets: latencyBuckets}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{Name: metricCacheHits,
			Help: "Tokens served from the cache without waiting for a request."}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{Name: metricRefreshes,
			Help: "Token fetches started while the cached token was still valid (early refresh)."}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricAPICalls,
			Help: "API calls of the System to System Call (retries included), by final HTTP status; code=\"error\" when no response came."}, []string{"code"}),
		apiDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: metricAPIDuration,
			Help: "API calls' duration, retries and token waits included.", Buckets: latencyBuckets}),
		jwksRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricJWKSRequests,
			Help: "Requests for " + jwks.Path + ", by HTTP status (304: the client's copy is current)."}, []string{"code"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricHTTPRequests,
			Help: "HTTP requests served, by route and status."}, []string{metricHTTPRequestsRoute, "code"}),
	}
	for _, o := range pkjwt.TokenOutcomes() {
		m.tokenRequests.WithLabelValues(string(o))
	}
	m.jwksRequests.WithLabelValues("200")
	m.jwksRequests.WithLabelValues("304")
	m.reg.MustRegister(m.tokenRequests, m.tokenDuration, m.cacheHits, m.refreshes, m.apiCalls,
		m.apiDuration, m.jwksRequests, m.httpRequests, &stateCollector{a: a},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// TokenRequest implements pkjwt.Observer.
func (m *metrics) TokenRequest(ev pkjwt.TokenRequestEvent) {
	m.tokenRequests.WithLabelValues(string(ev.Outcome)).Inc()
	m.tokenDuration.Observe(ev.Duration.Seconds())
}

// CacheHit implements pkjwt.Observer.
func (m *metrics) CacheHit() { m.cacheHits.Inc() }

// BackgroundRefresh implements pkjwt.Observer.
func (m *metrics) BackgroundRefresh() { m.refreshes.Inc() }

// Registry returns the app's [prometheus.Registry], served at
// [MetricsPath], to add collectors of one's own.
func (a *App) Registry() *prometheus.Registry { return a.metrics.reg }

// routeName is the route label of a path: a fixed set of values.
func routeName(p string) string {
	switch {
	case p == "/":
		return "index"
	case p == "/system-to-system":
		return "call"
	case p == jwks.Path:
		return "jwks"
	case p == "/healthz":
		return "healthz"
	case p == "/readyz":
		return "readyz"
	case p == MetricsPath:
		return "metrics"
	case strings.HasPrefix(p, "/static/"):
		return "static"
	}
	return "other"
}

// countRequest counts a served request.
func (m *metrics) countRequest(route string, status int) {
	code := strconv.Itoa(status)
	m.httpRequests.WithLabelValues(route, code).Inc()
	if route == "jwks" {
		m.jwksRequests.WithLabelValues(code).Inc()
	}
}

// instrumentClient returns a copy of c whose transport counts each call
// (retries included) by final status and times it.
func (m *metrics) instrumentClient(c *http.Client) *http.Client {
	cc := *c
	base := cc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = countingTransport{base: base, m: m}
	return &cc
}

type countingTransport struct {
	base http.RoundTripper
	m    *metrics
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	t.m.apiDuration.Observe(time.Since(start).Seconds())
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.m.apiCalls.WithLabelValues(code).Inc()
	return resp, err
}

// stateCollector reports, at each scrape, what the app holds now: the
// cached token's time left, the signing key's age, the keys by state and
// the time until the next rotation step under the default policy.
type stateCollector struct{ a *App }

var (
	descTokenExpiresIn = prometheus.NewDesc(metricTokenExpiresIn,
		"Seconds until the cached access token expires (negative: expired; absent: no token cached).", nil, nil)
	descKeyAge = prometheus.NewDesc(metricKeyAge,
		"Age of the signing key (since it was created), by kid.", []string{"kid"}, nil)
	descNextRotation = prometheus.NewDesc(metricNextRotation,
		"Seconds until the next key rotation step is due under the default policy (keys.Plan; 0: due now; absent: waiting for the pending key's first publication).", nil, nil)
	descKeys = prometheus.NewDesc(metricKeys,
		"Keys in the ring, by state.", []string{"state"}, nil)
)

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTokenExpiresIn
	ch <- descKeyAge
	ch <- descNextRotation
	ch <- descKeys
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.a.now()
	if exp, ok := c.a.ts.CachedExpiry(); ok {
		ch <- prometheus.MustNewConstMetric(descTokenExpiresIn, prometheus.GaugeValue, exp.Sub(now).Seconds())
	}
	if k, err := c.a.ts.Config().Keys.SigningKey(); err == nil && !k.Created.IsZero() {
		ch <- prometheus.MustNewConstMetric(descKeyAge, prometheus.GaugeValue, now.Sub(k.Created).Seconds(), k.ID)
	}
	ring := c.a.keys.Ring()
	counts := map[keys.State]int{keys.StateActive: 0, keys.StatePending: 0, keys.StateRetired: 0}
	for _, k := range ring.Keys() {
		counts[k.State]++
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(descKeys, prometheus.GaugeValue, float64(n), string(st))
	}
	if next, ok := nextRotationStep(ring, now); ok {
		ch <- prometheus.MustNewConstMetric(descNextRotation, prometheus.GaugeValue, next.Sub(now).Seconds())
	}
}

// nextRotationStep is when keys.Plan under the default policy has
// something to do: now if it has a step other than wait, else the earliest
// wait's time; false when it waits with no time (a pending key not yet
// published).
func nextRotationStep(ring *keys.Ring, now time.Time) (time.Time, bool) {
	var next time.Time
	for _, s := range keydir.Plan(ring, now, keydir.Policy{}) {
		if s.Action != keydir.ActionWait {
			return now, true
		}
		if !s.At.IsZero() && (next.IsZero() || s.At.Before(next)) {
			next = s.At
		}
	}
	return next, !next.IsZero()
}
