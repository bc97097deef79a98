package webapp

import (
	"net"
	"net/http"
	"strings"

	"github.com/pkjwt/pkjwt/internal/loopback"
)

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// hostAllowed reports whether the app answers a request with this Host
// header: localhost or a loopback address with any port, or PublicURL's
// host and port. A DNS rebinding attack sends the attacker's own host name,
// which is neither.
func (a *App) hostAllowed(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil { // no port
		host, port = hostport, ""
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	if loopback.Host(host) {
		return true
	}
	if a.publicHost == "" || !strings.EqualFold(host, a.publicHost) {
		return false
	}
	if port == "" {
		port = defaultPort(strings.SplitN(a.publicURL, ":", 2)[0])
	}
	return port == a.publicPort
}

// misdirected answers a request for a host name the app does not serve.
func (a *App) misdirected(w http.ResponseWriter, r *http.Request) {
	msg := "This app answers only to localhost and loopback addresses; set its public URL to serve it under another name."
	if a.publicURL != "" {
		msg = "This app answers only to " + a.publicURL + " and loopback addresses."
	}
	w.Header().Set("Cache-Control", "no-store")
	a.serveError(w, r, http.StatusMisdirectedRequest, msg)
}
