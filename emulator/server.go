package emulator

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Paths the emulator serves.
const (
	// TokenPath is the token endpoint's path (NHS proxy base path "oauth2").
	TokenPath = "/oauth2/token"
	// PDSBasePath is the PDS FHIR R4 base path (bearer token required).
	PDSBasePath = "/personal-demographics/FHIR/R4"
	// PDSSandboxBasePath is the sandbox PDS base path, served only when
	// Config.Sandbox is set: the same API without authentication and without
	// rate limits, like https://sandbox.api.service.nhs.uk/personal-demographics/FHIR/R4.
	PDSSandboxBasePath = "/personal-demographics/FHIR/R4-sandbox"
	// HelloWorldPath is the application-restricted Hello World endpoint.
	HelloWorldPath = "/hello-world/hello/application"
	// maxFormBytes bounds the token request body.
	maxFormBytes = 64 << 10
	// defaultTokenLifetime is the lifetime of an access token (NHS: 599 s).
	defaultTokenLifetime = 599 * time.Second
	// defaultHTTPTimeout is the timeout of the default JWKS HTTP client.
	defaultHTTPTimeout = 10 * time.Second
)

// Config configures a Server. The zero value of every field but Apps and
// PublicURL has a documented default.
type Config struct {
	// PublicURL is the base URL the emulator advertises, e.g.
	// "http://127.0.0.1:9000". The token URL is PublicURL + "/oauth2/token"
	// and an assertion's aud must equal it exactly. When empty, the token URL
	// is the URL each request was sent to ("http://" + Host + path, "https://"
	// under TLS), like Apigee's proxy.url.
	PublicURL string
	// Apps are the registered apps; more can be added with AddApp.
	Apps []App
	// JWKSCacheTTL is how long a fetched JWKS is used. Default 1h (NHS).
	JWKSCacheTTL time.Duration
	// RefetchUnknownKid refetches a cached JWKS when the kid is not in it.
	// Default false, like NHS.
	RefetchUnknownKid bool
	// HTTPClient fetches JWKS documents. Default: a client with a 10 s
	// timeout that follows no redirect (a 3xx answer is a fetch failure,
	// row 22): the key must come from the registered URL itself.
	HTTPClient *http.Client
	// JWKSFetchTimeout bounds one JWKS fetch. Default 10 s.
	JWKSFetchTimeout time.Duration
	// MaxJWKSEntries bounds the JWKS cache (one entry per URL). Default 1024.
	MaxJWKSEntries int
	// TokenLifetime is the access-token lifetime. Default 599 s.
	TokenLifetime time.Duration
	// Sandbox also serves the PDS API without authentication under
	// PDSSandboxBasePath.
	Sandbox bool
	// TokenRateLimit is the token endpoint's quota per app per minute; 0
	// turns it off.
	TokenRateLimit int
	// PDSRateLimit is the PDS quota per app per second; 0 turns it off.
	PDSRateLimit int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives one line per request. It never receives a token, an
	// assertion or an Authorization header. Default: discard.
	Logger *slog.Logger
	// MaxJTIs bounds the jti store (default 100000); see the package doc
	// for what happens when it is full.
	MaxJTIs int
	// MaxTokens bounds the token store (default 100000); when
	// full, the oldest token is evicted.
	MaxTokens int
	// Faults are failures to inject (see Fault); Server.SetFaults changes
	// them while serving. Default: none.
	Faults []Fault
}

// Server is the emulator: NHS's token endpoint, a PDS-like FHIR API and the
// Hello World endpoint. Create it with New; it is safe for concurrent use.
type Server struct {
	publicURL     string
	tokenLifetime time.Duration
	sandbox       bool
	now           func() time.Time
	log           *slog.Logger

	apps       *appRegistry
	jwks       *jwksCache
	jtis       *jtiStore
	tokens     *tokenStore
	tokenLimit *windowLimiter
	pdsLimit   *windowLimiter
	patients   *patientIndex
	faults     atomic.Pointer[faultSet]
	metrics    *metrics
}

// New checks cfg, fills in defaults and returns a Server.
func New(cfg Config) (*Server, error) {
	s := &Server{
		tokenLifetime: cfg.TokenLifetime,
		sandbox:       cfg.Sandbox,
		now:           cfg.Now,
		log:           cfg.Logger,
		apps:          newAppRegistry(),
		metrics:       newMetrics(),
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("emulator: PublicURL: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("emulator: PublicURL %q must be an http(s) URL with a host and no query", cfg.PublicURL)
		}
		s.publicURL = strings.TrimRight(cfg.PublicURL, "/")
	}
	if s.tokenLifetime <= 0 {
		s.tokenLifetime = defaultTokenLifetime
	}
	if s.tokenLifetime < time.Second {
		return nil, errors.New("emulator: TokenLifetime must be at least 1s")
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.TokenRateLimit < 0 || cfg.PDSRateLimit < 0 || cfg.MaxJTIs < 0 || cfg.MaxTokens < 0 || cfg.MaxJWKSEntries < 0 {
		return nil, errors.New("emulator: limits must not be negative")
	}
	ttl := cfg.JWKSCacheTTL
	if ttl <= 0 {
		ttl = DefaultJWKSCacheTTL
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	timeout := cfg.JWKSFetchTimeout
	if timeout <= 0 {
		timeout = defaultJWKSFetchTimeout
	}
	maxJWKS := cfg.MaxJWKSEntries
	if maxJWKS == 0 {
		maxJWKS = defaultMaxJWKSEntries
	}
	s.jwks = &jwksCache{
		client: client, ttl: ttl, timeout: timeout, refetchUnknownKid: cfg.RefetchUnknownKid,
		max: maxJWKS, now: s.now, entries: map[string]jwksEntry{},
	}
	maxJTIs := cfg.MaxJTIs
	if maxJTIs == 0 {
		maxJTIs = defaultMaxJTIs
	}
	maxTokens := cfg.MaxTokens
	if maxTokens == 0 {
		maxTokens = defaultMaxTokens
	}
	s.jtis = newJTIStore(maxJTIs)
	s.tokens = newTokenStore(maxTokens)
	s.tokenLimit = newWindowLimiter(cfg.TokenRateLimit, time.Minute, "minute")
	s.pdsLimit = newWindowLimiter(cfg.PDSRateLimit, time.Second, "second")
	p, err := loadPatients()
	if err != nil {
		return nil, err
	}
	s.patients = p
	if err := s.SetFaults(cfg.Faults); err != nil {
		return nil, err
	}
	for i, a := range cfg.Apps {
		if err := s.apps.add(a); err != nil {
			return nil, fmt.Errorf("emulator: app %d: %w", i, err)
		}
	}
	return s, nil
}

// AddApp registers an app, replacing any app with the same API key. It is
// safe for concurrent use.
func (s *Server) AddApp(a App) error {
	if err := s.apps.add(a); err != nil {
		return fmt.Errorf("emulator: add app: %w", err)
	}
	return nil
}

// Apps returns a copy of the registered apps.
func (s *Server) Apps() []App { return s.apps.list() }

// TokenURL returns the token URL the emulator advertises, or "" when
// Config.PublicURL was empty (then it is derived per request).
func (s *Server) TokenURL() string {
	if s.publicURL == "" {
		return ""
	}
	return s.publicURL + TokenPath
}

// PDSBaseURL returns the advertised PDS FHIR base URL, or "" when
// Config.PublicURL was empty.
func (s *Server) PDSBaseURL() string {
	if s.publicURL == "" {
		return ""
	}
	return s.publicURL + PDSBasePath
}

// requestTokenURL is the token URL an assertion's aud must equal.
func (s *Server) requestTokenURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL + TokenPath
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + TokenPath
}

// Handler returns the emulator's HTTP handler. It serves TokenPath (and a
// 404 row for every other path under /oauth2), the PDS API under
// PDSBasePath (and PDSSandboxBasePath when Config.Sandbox is set),
// HelloWorldPath and its Prometheus metrics at MetricsPath.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now() // wall-clock duration, independent of Config.Now
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	if !s.applyFaults(rec, r, info) {
		s.route(rec, r)
	}
	status := rec.status
	if info.dropped {
		status = 0
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(start)),
	}
	if info.app != "" {
		attrs = append(attrs, slog.String("app", info.app))
	}
	if info.failure != "" {
		attrs = append(attrs, slog.String("error_description", info.failure))
	}
	if info.faults != "" {
		attrs = append(attrs, slog.String("fault", info.faults))
	}
	s.metrics.observe(r.URL.Path, status, info)
	level := slog.LevelInfo
	if status >= 500 || status == 0 {
		level = slog.LevelError
	} else if r.URL.Path == MetricsPath {
		level = slog.LevelDebug // scrapes are counted by the scraper
	}
	s.log.LogAttrs(r.Context(), level, "emulator request", requestIDAttrs(attrs, r)...)
	if info.dropped {
		// Close the connection without an answer (FaultDrop): net/http
		// recovers this panic, closes the connection and logs nothing.
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == TokenPath:
		s.serveToken(w, r)
	case p == "/oauth2" || strings.HasPrefix(p, "/oauth2/"):
		s.writeRule(w, r, rule(ruleNotFound), "")
	case p == HelloWorldPath:
		s.serveHello(w, r)
	case p == MetricsPath:
		s.metrics.handler.ServeHTTP(w, r)
	case s.sandbox && underBase(p, PDSSandboxBasePath):
		s.servePDS(w, r, PDSSandboxBasePath, p[len(PDSSandboxBasePath):], true)
	case underBase(p, PDSBasePath):
		s.servePDS(w, r, PDSBasePath, p[len(PDSBasePath):], false)
	default:
		setRequestFailure(r, "no such path")
		http.NotFound(w, r)
	}
}

// underBase reports whether p is base or below it.
func underBase(p, base string) bool {
	return p == base || strings.HasPrefix(p, base+"/")
}

// requestInfo carries what the log line reports about a request.
type requestInfo struct {
	app     string
	failure string
	faults  string // the injected faults that hit the request, comma-separated
	dropped bool   // FaultDrop: close the connection without an answer
	rule    ruleID // the token endpoint's row that answered, 0 if none
}

type requestInfoKey struct{}

func setRequestApp(r *http.Request, name string) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.app = name
	}
}

func setRequestFailure(r *http.Request, desc string) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.failure = desc
	}
}

// recorder records the status code for the log line.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status = code
		r.wroteHeader = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// newMessageID returns an Apigee-style message id such as
// "rrt-5733186035035051424-a-emu1-1852433-7579831-1".
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	a := binary.BigEndian.Uint64(b[:8]) >> 1
	c := binary.BigEndian.Uint32(b[8:12]) % 10_000_000
	d := binary.BigEndian.Uint32(b[12:16]) % 10_000_000
	return fmt.Sprintf("rrt-%d-a-emu1-%d-%d-1", a, c, d)
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
