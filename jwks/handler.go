package jwks

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkjwt/pkjwt/keys"
)

// DefaultMaxAge is the Cache-Control max-age the Handler sends by default.
// It is short, so that a rotation reaches caches that honour it quickly;
// relying parties such as NHS England cache on their own schedule (one hour)
// whatever this says.
const DefaultMaxAge = 5 * time.Minute

// Path is the conventional path of a JWKS.
const Path = "/.well-known/jwks.json"

type document struct {
	body  []byte
	etag  string
	empty bool // no key: served as 503, never as a cacheable empty set
}

// Handler serves a JWKS: GET and HEAD with Content-Type application/json, a
// strong ETag (SHA-256 of the body), Cache-Control "public, max-age=N" and
// 304 Not Modified for a matching If-None-Match; any other method gets 405
// with "Allow: GET, HEAD". A set with no key is never served: it gets 503
// with "Cache-Control: no-store", so that no cache keeps an empty set. The
// document can be replaced at any time with [Handler.Update] or
// [Handler.SetDocument], which are safe for concurrent use with serving.
type Handler struct {
	doc          atomic.Pointer[document]
	cacheControl string
}

// Option configures a [Handler].
type Option func(*Handler)

// WithMaxAge sets the Cache-Control max-age (0 sends "no-cache").
func WithMaxAge(d time.Duration) Option {
	return func(h *Handler) {
		if d <= 0 {
			h.cacheControl = "no-cache"
			return
		}
		h.cacheControl = "public, max-age=" + strconv.Itoa(int(d/time.Second))
	}
}

// NewHandler returns a [Handler] serving the JWKS of ks ([Marshal]), with
// Cache-Control max-age [DefaultMaxAge] unless [WithMaxAge] says otherwise.
func NewHandler(ks []*keys.Key, opts ...Option) (*Handler, error) {
	h := &Handler{}
	WithMaxAge(DefaultMaxAge)(h)
	for _, o := range opts {
		o(h)
	}
	if err := h.Update(ks); err != nil {
		return nil, err
	}
	return h, nil
}

// Update replaces the served document with the JWKS of ks.
func (h *Handler) Update(ks []*keys.Key) error {
	body, err := Marshal(ks)
	if err != nil {
		return err
	}
	h.SetDocument(body)
	return nil
}

// SetDocument replaces the served document with body, which must already be
// a strict JWKS (as made by Marshal).
func (h *Handler) SetDocument(body []byte) {
	sum := sha256.Sum256(body)
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	empty := json.Unmarshal(body, &set) != nil || len(set.Keys) == 0
	h.doc.Store(&document{body: append([]byte(nil), body...), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`, empty: empty})
}

// Document returns a copy of the served bytes and their ETag.
func (h *Handler) Document() (body []byte, etag string) {
	d := h.doc.Load()
	return append([]byte(nil), d.body...), d.etag
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	d := h.doc.Load()
	hd := w.Header()
	if d.empty {
		// An empty set served with 200 would be cached by the relying
		// party (NHS England: for an hour), outlasting the fix; a 503
		// with no-store is retried instead.
		hd.Set("Cache-Control", "no-store")
		hd.Set("Retry-After", "60")
		hd.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		if r.Method != http.MethodHead {
			io.WriteString(w, `{"error":"no publishable key"}`+"\n")
		}
		return
	}
	hd.Set("ETag", d.etag)
	hd.Set("Cache-Control", h.cacheControl)
	hd.Set("X-Content-Type-Options", "nosniff")
	if etagMatch(r.Header.Get("If-None-Match"), d.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", fmt.Sprint(len(d.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(d.body)
}

// etagMatch implements the weak comparison RFC 9110 §13.1.2 prescribes for
// If-None-Match.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
