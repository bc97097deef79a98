package loopback

import (
	"net"
	"testing"
)

func TestHost(t *testing.T) {
	cases := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"LocalHost", true},
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"", false},
		{"localhost.example.org", false},
		{"example.org", false},
		{"10.0.0.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"[::1]", false}, // brackets are the caller's to strip
		{"127.0.0.1:80", false},
	}
	for _, tc := range cases {
		if got := Host(tc.host); got != tc.want {
			t.Errorf("Host(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

func TestAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !Addr(ln.Addr()) {
		t.Fatalf("%s is not loopback?", ln.Addr())
	}
	if Addr(&net.TCPAddr{IP: net.IPv4zero, Port: 80}) {
		t.Fatal("0.0.0.0 counted as loopback")
	}
	if Addr(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 80}) {
		t.Fatal("192.0.2.1 counted as loopback")
	}
}
