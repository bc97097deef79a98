package pkjwt

// Unexported names the external tests (package pkjwt_test) use.
var (
	ProfileNames    = profileNames
	ReservedClaims  = reservedClaims
	ReservedHeaders = reservedHeaders
)
