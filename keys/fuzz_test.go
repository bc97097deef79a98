package keys

import "testing"

// FuzzParsePEM: key files from disk or users never panic the parser, and
// what it accepts is a usable signer.
func FuzzParsePEM(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParsePEM(data)
		if err == nil && s.Public() == nil {
			t.Fatal("accepted a key without a public half")
		}
	})
}
