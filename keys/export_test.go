package keys

// MaxRSABits is maxRSABits, for the tests of package keys_test.
const MaxRSABits = maxRSABits
