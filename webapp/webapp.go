// Package webapp is the sample web application of pkjwt: a server-side app
// that authenticates to an OAuth 2.0 token endpoint with a private key JWT
// (NHS England's "signed JWT authentication") through a
// [pkjwt.TokenSource], calls an API with the access token, and publishes
// the public keys of the token source's key source as its JWKS. [New]
// makes an [App] from a [Config]; [NewServer] and [Serve] run it.
//
// It is the Go counterpart of the .NET sample "OAuth-SysToSys" that the
// article "Example: Web Server App Authenticating with NHS Digital OAuth"
// describes, with one difference on purpose: the access token stays on the
// server. No page, header, cookie or log line ever carries the token, the
// client assertion or a private key.
//
// Routes:
//
//	GET  /                        what the app is and its configuration
//	GET  /system-to-system        the System to System Call
//	GET  /.well-known/jwks.json   the JWKS (the bytes of jwks.MarshalRing)
//	GET  /healthz                 liveness
//	GET  /readyz                  readiness: 503 with a reason when not ready
//	GET  /metrics                 Prometheus metrics (pkjwt_*, see MetricsPath)
//	GET  /static/style.css        the stylesheet
//
// Every response carries Content-Security-Policy: default-src 'self',
// X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer; the call
// page also carries Cache-Control: no-store. Unknown paths get a 404 page,
// wrong methods a 405 page with an Allow header, and a request whose Host is
// neither loopback nor [Config.PublicURL]'s host a 421 page. The JWKS is
// the bytes of [jwks.MarshalRing]; the metrics are at [MetricsPath].
package webapp

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"

	"github.com/pkjwt/pkjwt/internal/loopback"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DefaultPatientPath is the API path the System to System Call requests by
// default, relative to the profile's API base: the synthetic PDS patient
// Jane Smith.
const DefaultPatientPath = "Patient/9000000009"

// DefaultCallTimeout bounds one System to System Call: the token fetch and
// the API request together.
const DefaultCallTimeout = 45 * time.Second

// maxAPIBody bounds how much of an API response the call page reads.
const maxAPIBody = 1 << 20

// Config configures an [App].
type Config struct {
	// TokenSource gets the access tokens; required. Its profile, token URL
	// and client id are shown on the index page, and the app publishes the
	// public keys of its key source ([pkjwt.Config.Keys]) at
	// /.well-known/jwks.json, so that the keys it signs with and the keys
	// it publishes cannot disagree: the ring of a [keys.RingSource] (a
	// [*keys.Ring] is fixed; a [*keys.DirSource] follows its directory, and
	// the JWKS and pages follow it), or the one key of a [*keys.Key]. Any
	// other key source is refused.
	TokenSource *pkjwt.TokenSource
	// CallURL is the absolute URL the System to System Call requests; ""
	// means [DefaultPatientPath] under the token source profile's API base.
	// It must be https, or http to a loopback host (127.0.0.0/8, ::1,
	// localhost): the request carries the access token.
	CallURL string
	// PublicURL is the app's own base URL (e.g. https://app.example.org),
	// used to show the JWKS URL; "" derives it from each request's Host.
	//
	// It also says which Host the app answers to, against DNS rebinding (a
	// foreign site whose name resolves to this server could otherwise make
	// a visitor's browser run the System to System Call and read the page):
	// a request whose Host is neither PublicURL's host (and port) nor
	// localhost or a loopback address (any port) gets a 421 Misdirected
	// Request page. With PublicURL "" only loopback Hosts are answered:
	// serving under any other host name or address requires PublicURL.
	// /healthz, /readyz and /metrics answer whatever the Host, for health
	// probes and scrapers.
	PublicURL string
	// HTTPClient sends the API request; nil means [pkjwt.NewClient] of
	// TokenSource. It must add the token itself.
	HTTPClient *http.Client
	// CallTimeout bounds one System to System Call; 0 means
	// [DefaultCallTimeout]. Keep it below the WriteTimeout of the server
	// (60 s with [NewServer]).
	CallTimeout time.Duration
	// Logger receives one line per request and one per call; nil discards.
	// No line ever holds a token, an assertion or a key.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// App is the web application. Create it with [New]; it is safe for
// concurrent use and holds no package-level state.
type App struct {
	ts           *pkjwt.TokenSource
	keys         keys.RingSource
	jwksRing     atomic.Pointer[keys.Ring] // the ring a.jwks serves
	firstPublish *recorder                 // records first publications off the request path; nil if Keys cannot
	callURL      string
	publicURL    string
	publicHost   string // PublicURL's host name, lower case; "" if PublicURL is ""
	publicPort   string // PublicURL's port, or its scheme's default
	client       *http.Client
	callTimeout  time.Duration
	log          *slog.Logger
	now          func() time.Time
	jwks         *jwks.Handler
	pages        map[string]*template.Template
	static       http.Handler
	handler      http.Handler
	metrics      *metrics
}

// New checks cfg and returns an [App]. It makes no network call. It
// starts the app's Prometheus metrics, which observe cfg.TokenSource
// ([pkjwt.TokenSource.Observe]).
func New(cfg Config) (*App, error) {
	if cfg.TokenSource == nil {
		return nil, errors.New("webapp: Config.TokenSource is required")
	}
	rs, err := ringOf(cfg.TokenSource.Config().Keys)
	if err != nil {
		return nil, err
	}
	a := &App{
		ts:          cfg.TokenSource,
		keys:        rs,
		callURL:     cfg.CallURL,
		publicURL:   strings.TrimRight(cfg.PublicURL, "/"),
		client:      cfg.HTTPClient,
		callTimeout: cfg.CallTimeout,
		log:         cfg.Logger,
		now:         cfg.Now,
	}
	if a.callURL == "" {
		base := cfg.TokenSource.Config().Profile.APIBaseURL
		if base == "" {
			return nil, errors.New("webapp: Config.CallURL is required: the profile has no API base URL")
		}
		a.callURL = strings.TrimRight(base, "/") + "/" + DefaultPatientPath
	}
	u, err := url.Parse(a.callURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webapp: CallURL %q must be an absolute http(s) URL", a.callURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("webapp: CallURL must not carry user info")
	}
	if u.Scheme != "https" && !loopback.Host(u.Hostname()) {
		return nil, fmt.Errorf("webapp: CallURL %q: the access token would travel in clear text; use https (plain http is allowed only to loopback: 127.0.0.0/8, ::1, localhost)", a.callURL)
	}
	if a.publicURL != "" {
		pu, err := url.Parse(a.publicURL)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("webapp: PublicURL %q must be an absolute http(s) URL", cfg.PublicURL)
		}
		a.publicHost = strings.ToLower(pu.Hostname())
		a.publicPort = pu.Port()
		if a.publicPort == "" {
			a.publicPort = defaultPort(pu.Scheme)
		}
	}
	if a.client == nil {
		a.client = pkjwt.NewClient(cfg.TokenSource)
	}
	// Prometheus metrics, on by default (metrics.go): the token source
	// reports to them, and the API client counts its calls.
	a.metrics = newMetrics(a)
	cfg.TokenSource.Observe(a.metrics)
	a.client = a.metrics.instrumentClient(a.client)
	if a.callTimeout <= 0 {
		a.callTimeout = DefaultCallTimeout
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	ring := rs.Ring()
	a.jwks, err = jwks.NewHandler(ring.Keys())
	if err != nil {
		return nil, fmt.Errorf("webapp: JWKS: %w", err)
	}
	a.jwksRing.Store(ring)
	if pub, ok := rs.(Publisher); ok {
		a.firstPublish = newRecorder(pub, a.log)
	}
	a.pages, err = parsePages()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	a.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	a.handler = a.middleware(http.HandlerFunc(a.route))
	return a, nil
}

// ringOf returns the key ring source the app publishes for a token
// source's key source ks: ks itself when it is a [keys.RingSource], a ring
// of one key for a [*keys.Key].
func ringOf(ks pkjwt.KeySource) (keys.RingSource, error) {
	switch k := ks.(type) {
	case keys.RingSource:
		if k.Ring() != nil {
			return k, nil
		}
	case *keys.Key:
		return keys.NewRing(k), nil
	}
	return nil, fmt.Errorf("webapp: the token source's keys (%T) give no key ring to publish: use a *keys.Ring, a *keys.DirSource or a *keys.Key", ks)
}

// parsePages parses every page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"ms": func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) },
		"secs": func(d time.Duration) string {
			if d < 0 {
				d = 0
			}
			return d.Round(time.Second).String()
		},
		"utc": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"index", "call", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("webapp: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// Handler returns the app's HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// CallURL returns the URL the System to System Call requests.
func (a *App) CallURL() string { return a.callURL }

// Close stops the app's background work (recording the keys' first
// publication) and waits for it to end. Call it once the server has shut
// down; the handler still answers afterwards but records nothing.
func (a *App) Close() error {
	a.firstPublish.close()
	return nil
}

// baseURL is PublicURL, or the origin the request was sent to.
func (a *App) baseURL(r *http.Request) string {
	if a.publicURL != "" {
		return a.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
