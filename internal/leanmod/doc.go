// Package leanmod holds only a test: it builds a throw-away module that
// uses pkjwt the way a service reading its key from memory or a
// crypto.Signer does (the root package and the key model, package keys),
// and checks what that module needs: at most maxSumLines go.sum lines, and
// none of the PFX and encrypted-PEM modules (go-pkcs12, youmark/pkcs8,
// golang.org/x/crypto) that only package keys/keyfile uses. The figures are
// in docs/architecture.md.
package leanmod
