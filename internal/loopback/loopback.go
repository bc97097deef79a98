// Package loopback holds the one test pkjwt uses to decide whether a host
// is this machine: where plain http may carry a token or an assertion, and
// which Host headers the sample web app answers without a public URL.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (a host name or IP address, without port or
// brackets) is "localhost" in any letter case or a loopback address
// (127.0.0.0/8, ::1, ::ffff:127.0.0.1).
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr reports whether a listener's address is a loopback address.
func Addr(a net.Addr) bool {
	switch v := a.(type) {
	case *net.TCPAddr:
		return v.IP.IsLoopback()
	case *net.UDPAddr:
		return v.IP.IsLoopback()
	}
	host, _, err := net.SplitHostPort(a.String())
	return err == nil && Host(host)
}
