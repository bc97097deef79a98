package main

import (
	"strings"

	"github.com/pkjwt/pkjwt/keys"
)

// algorithmsHelp lists the algorithms keys signs with for a flag's help:
// "RS256, RS384, ..., ES384".
func algorithmsHelp() string { return strings.Join(keys.Algorithms(), ", ") }

// kidMethodSummary returns a one-line description of a kid method of
// keys.KIDFrom, or "" for a method keys does not know.
func kidMethodSummary(method string) string {
	switch method {
	case keys.KIDThumbprint:
		return "RFC 7638 JWK thumbprint of the public key (SHA-256, base64url); pkjwt's default"
	case keys.KIDX5t:
		return "base64url SHA-1 of the certificate (a JWK's x5t)"
	case keys.KIDX5tS256:
		return "base64url SHA-256 of the certificate (a JWK's x5t#S256)"
	case keys.KIDX509SHA1Hex:
		return "upper-case hex SHA-1 of the certificate (.NET's X509Certificate2.Thumbprint)"
	}
	return ""
}
