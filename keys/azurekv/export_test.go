package azurekv

// Names the tests (package azurekv_test) use that are not part of the
// package's API.

// MaxResponseSize is the bound on a Key Vault answer's body.
const MaxResponseSize = maxResponse
