// Routing and rendering: the route table, templates, the error page and
// the index page.

package webapp

import (
	"io"
	"net/http"
	"strings"

	"github.com/pkjwt/pkjwt/jwks"
)

// route dispatches by path, then by method, so that a wrong method gets 405
// and an unknown path 404.
func (a *App) route(w http.ResponseWriter, r *http.Request) {
	type route struct {
		methods []string
		h       http.HandlerFunc
	}
	getHead := []string{http.MethodGet, http.MethodHead}
	var rt route
	switch p := r.URL.Path; {
	case p == "/":
		rt = route{getHead, a.serveIndex}
	case p == "/system-to-system":
		rt = route{[]string{http.MethodGet}, a.serveCall}
	case p == jwks.Path:
		rt = route{getHead, a.serveJWKS}
	case p == "/healthz":
		rt = route{getHead, a.serveHealth}
	case p == "/readyz":
		rt = route{getHead, a.serveReady}
	case p == MetricsPath:
		rt = route{getHead, a.metrics.handler.ServeHTTP}
	case p == "/static/style.css", p == "/static/favicon.svg":
		rt = route{getHead, a.static.ServeHTTP}
	case p == "/favicon.ico":
		// Browsers ask for it on every page whatever the page links to:
		// answer without a 404 page (and without a log line's worth of
		// noise), and let them cache the answer.
		rt = route{getHead, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=86400")
			w.WriteHeader(http.StatusNoContent)
		}}
	default:
		a.serveError(w, r, http.StatusNotFound, "There is no page at this address.")
		return
	}
	for _, m := range rt.methods {
		if r.Method == m {
			rt.h(w, r)
			return
		}
	}
	w.Header().Set("Allow", strings.Join(rt.methods, ", "))
	a.serveError(w, r, http.StatusMethodNotAllowed, "This page answers "+strings.Join(rt.methods, " and ")+" only.")
}

// render executes a page into memory first, so that a template error
// becomes a clean 500 rather than half a page.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var b strings.Builder
	if err := a.pages[page].Execute(&b, data); err != nil {
		a.log.Error("render page", "page", page, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, b.String())
	}
}

type errorView struct {
	Title   string
	Status  int
	Message string
}

func (a *App) serveError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	a.render(w, r, status, "error", errorView{Title: http.StatusText(status), Status: status, Message: msg})
}

// indexView is what the index page shows: configuration, never a secret.
type indexView struct {
	Title         string
	Profile       string
	TokenURL      string
	Audience      string
	ClientID      string
	SigningKID    string
	SigningErr    string
	PublishedKIDs []string
	JWKSURL       string
	CallURL       string
}

func (a *App) serveIndex(w http.ResponseWriter, r *http.Request) {
	tc := a.ts.Config()
	v := indexView{
		Title:    "pkjwt sample web app",
		Profile:  tc.Profile.Name,
		TokenURL: tc.TokenURL,
		Audience: tc.Audience,
		ClientID: tc.ClientID,
		JWKSURL:  a.baseURL(r) + jwks.Path,
		CallURL:  a.callURL,
	}
	ring := a.keys.Ring()
	// The token source's key, not the ring's: a --kid pins another key.
	if k, err := tc.Keys.SigningKey(); err == nil {
		v.SigningKID = k.ID
	} else {
		v.SigningErr = err.Error()
	}
	for _, k := range ring.Keys() {
		v.PublishedKIDs = append(v.PublishedKIDs, k.ID)
	}
	a.render(w, r, http.StatusOK, "index", v)
}
