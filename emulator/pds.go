package emulator

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// requestIDPattern is PDS's X-Request-ID format.
var requestIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// mirrorIDs copies X-Request-ID and X-Correlation-ID to the response.
func mirrorIDs(w http.ResponseWriter, r *http.Request) {
	if v := r.Header.Get("X-Request-ID"); v != "" {
		w.Header().Set("X-Request-ID", v)
	}
	if v := r.Header.Get("X-Correlation-ID"); v != "" {
		w.Header().Set("X-Correlation-ID", v)
	}
}

// authenticate checks the bearer token (docs/nhs-reference.md, "PDS errors" 401 rows) and, if
// scope is not empty, that the token carries it.
func (s *Server) authenticate(r *http.Request, scope string) (tokenInfo, *pdsError) {
	vals, present := r.Header["Authorization"]
	if !present {
		e := errAccessDenied("Missing Authorization header")
		return tokenInfo{}, &e
	}
	h := ""
	if len(vals) > 0 {
		h = vals[0]
	}
	if h == "" {
		e := errAccessDenied("Empty Authorization header")
		return tokenInfo{}, &e
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if scheme != "Bearer" {
		// The response echoes the scheme like NHS, but the "scheme" is
		// whatever precedes the first space: for "Authorization: <token>"
		// or "Bearer\t<token>" it is the token itself. Log only a known
		// scheme name, never the value.
		e := errAccessDenied("Invalid token type '" + echoed(scheme) + "', must be 'Bearer'")
		e.logDiagnostics = "Invalid token type " + logSafeScheme(scheme) + ", must be 'Bearer'"
		return tokenInfo{}, &e
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		e := errAccessDenied("Missing access token")
		return tokenInfo{}, &e
	}
	now := s.now()
	info, ok := s.tokens.lookup(tok, now)
	if !ok {
		e := errAccessDenied("Invalid Access Token")
		return tokenInfo{}, &e
	}
	setRequestApp(r, info.AppName)
	if !now.Before(info.Expires) {
		e := errAccessDenied("Access Token expired")
		return tokenInfo{}, &e
	}
	if scope != "" && !info.hasScope(scope) {
		e := errNoPDSScope
		return tokenInfo{}, &e
	}
	return info, nil
}

// knownAuthSchemes are HTTP authentication scheme names from IANA's
// registry (lower case), safe to log.
var knownAuthSchemes = map[string]bool{
	"basic": true, "bearer": true, "digest": true, "dpop": true, "gnap": true, "hoba": true,
	"mutual": true, "negotiate": true, "ntlm": true, "oauth": true, "privatetoken": true,
	"scram-sha-1": true, "scram-sha-256": true, "vapid": true, "token": true,
	"aws4-hmac-sha256": true, "concealed": true,
}

// logSafeScheme returns a description of an Authorization scheme that can
// be logged: a known scheme name quoted, anything else (possibly a token)
// only by its length.
func logSafeScheme(scheme string) string {
	if knownAuthSchemes[strings.ToLower(scheme)] {
		return "'" + scheme + "'"
	}
	return "(redacted, " + strconv.Itoa(len(scheme)) + " bytes)"
}

// rateLimit applies the PDS quota; it sets Retry-After when it refuses.
func (s *Server) rateLimitPDS(w http.ResponseWriter, info tokenInfo) *pdsError {
	ok, wait := s.pdsLimit.allow(info.APIKey, s.now())
	if ok {
		return nil
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
	e := errRateLimited(s.pdsLimit.quotaMessage(info.AppName))
	return &e
}

// servePDS serves the PDS API. suffix is the path below base (Apigee's
// proxy.pathsuffix). The checks run in the live proxy's order: access
// token, rate limit, X-Request-ID format, path and application-restricted
// rules, missing X-Request-ID (a backend check), then the resource.
func (s *Server) servePDS(w http.ResponseWriter, r *http.Request, base, suffix string, sandbox bool) {
	mirrorIDs(w, r)
	if !sandbox {
		info, e := s.authenticate(r, PDSScope)
		if e != nil {
			s.writePDSError(w, r, *e)
			return
		}
		if e := s.rateLimitPDS(w, info); e != nil {
			s.writePDSError(w, r, *e)
			return
		}
	}
	reqIDs, hasReqID := r.Header["X-Request-Id"]
	if hasReqID {
		v := ""
		if len(reqIDs) > 0 {
			v = reqIDs[0]
		}
		if !requestIDPattern.MatchString(v) {
			s.writePDSError(w, r, errInvalidRequestID(v))
			return
		}
	}
	var id string
	switch {
	case suffix == "/Patient":
	case suffix == "/Patient/":
		if !hasReqID {
			s.writePDSError(w, r, errMissingRequestID)
			return
		}
		s.writePDSError(w, r, errMissingNHSNumber)
		return
	case strings.HasPrefix(suffix, "/Patient/") && !strings.Contains(suffix[len("/Patient/"):], "/"):
		id = suffix[len("/Patient/"):]
	default:
		s.writePDSError(w, r, errUnsupported(suffix))
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPatch, http.MethodPost, http.MethodPut, http.MethodDelete:
		s.writePDSError(w, r, errAppRestrictedMethod)
		return
	default:
		s.writePDSError(w, r, errUnsupported(suffix))
		return
	}
	if id == "" {
		q := r.URL.Query()
		if mr, ok := q["_max-results"]; ok && (len(mr) != 1 || mr[0] != "1") {
			s.writePDSError(w, r, errMaxResults)
			return
		}
		if !hasReqID {
			s.writePDSError(w, r, errMissingRequestID)
			return
		}
		s.searchPatients(w, r, base, q)
		return
	}
	if !hasReqID {
		s.writePDSError(w, r, errMissingRequestID)
		return
	}
	if !validNHSNumber(id) {
		s.writePDSError(w, r, errInvalidResourceID)
		return
	}
	if s.patients.invalidated[id] {
		s.writePDSError(w, r, errInvalidated)
		return
	}
	body, ok := s.patients.byID[id]
	if !ok {
		s.writePDSError(w, r, errResourceNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	w.Header().Set("ETag", `W/"`+s.patients.versions[id]+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(append([]byte(nil), body...), '\n'))
}

// bundle is a FHIR searchset Bundle.
type bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp"`
	Total        int           `json:"total"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl"`
	Search   bundleSearch    `json:"search"`
	Resource json.RawMessage `json:"resource"`
}

type bundleSearch struct {
	Score float64 `json:"score"`
}

// searchPatients answers GET /Patient with at most one match (application-
// restricted access is limited to _max-results=1). family and given match
// case-insensitively (given matches any given name); birthdate matches
// exactly, with an optional "eq" prefix; gender matches exactly.
func (s *Server) searchPatients(w http.ResponseWriter, r *http.Request, base string, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	family, given, birth, gender := get("family"), get("given"), strings.TrimPrefix(get("birthdate"), "eq"), get("gender")
	if family == "" && given == "" && birth == "" {
		s.writePDSError(w, r, errInvalidSearch)
		return
	}
	b := bundle{ResourceType: "Bundle", Type: "searchset", Timestamp: s.now().UTC().Format("2006-01-02T15:04:05+00:00")}
	for _, id := range s.patients.order {
		f := s.patients.search[id]
		if family != "" && !strings.EqualFold(f.family, family) {
			continue
		}
		if birth != "" && f.birthDate != birth {
			continue
		}
		if gender != "" && f.gender != gender {
			continue
		}
		if given != "" {
			found := false
			for _, g := range f.given {
				if strings.EqualFold(g, given) {
					found = true
				}
			}
			if !found {
				continue
			}
		}
		b.Entry = append(b.Entry, bundleEntry{
			FullURL: publicBase(r, s.publicURL) + base + "/Patient/" + id, Search: bundleSearch{Score: 1},
			Resource: s.patients.byID[id],
		})
		break
	}
	b.Total = len(b.Entry)
	writeJSON(w, http.StatusOK, "application/fhir+json", b)
}

// publicBase is the advertised base URL, or the request's own.
func publicBase(r *http.Request, configured string) string {
	if configured != "" {
		return configured
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// serveHello is the application-restricted Hello World endpoint: any valid
// token is accepted.
func (s *Server) serveHello(w http.ResponseWriter, r *http.Request) {
	mirrorIDs(w, r)
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		setRequestFailure(r, "method not allowed")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if _, e := s.authenticate(r, ""); e != nil {
		s.writePDSError(w, r, *e)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]string{"message": "Hello Application!"})
}
