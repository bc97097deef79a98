package pkcs12pbe

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"
)

// The test vectors of RFC 2268 section 5: each key, with its effective key
// length, encrypts the plaintext to the ciphertext, and Decrypt undoes it.
func TestRC2RFC2268Vectors(t *testing.T) {
	for _, tt := range []struct {
		bits                   int
		key, plain, ciphertext string
	}{
		{63, "0000000000000000", "0000000000000000", "ebb773f993278eff"},
		{64, "ffffffffffffffff", "ffffffffffffffff", "278b27e42e2f0d49"},
		{64, "3000000000000000", "1000000000000001", "30649edf9be7d2c2"},
		{64, "88", "0000000000000000", "61a8a244adacccf0"},
		{64, "88bca90e90875a", "0000000000000000", "6ccf4308974c267f"},
		{64, "88bca90e90875a7f0f79c384627bafb2", "0000000000000000", "1a807d272bbe5db1"},
		{128, "88bca90e90875a7f0f79c384627bafb2", "0000000000000000", "2269552ab0f85ca6"},
		{129, "88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e", "0000000000000000", "5b78d3a43dfff1f1"},
	} {
		t.Run(fmt.Sprintf("%s/%d", tt.key, tt.bits), func(t *testing.T) {
			key, plain, want := unhex(t, tt.key), unhex(t, tt.plain), unhex(t, tt.ciphertext)
			c, err := newRC2(key, tt.bits)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 8)
			c.Encrypt(got, plain)
			if !bytes.Equal(got, want) {
				t.Errorf("Encrypt = %x, want %x", got, want)
			}
			c.Decrypt(got, want)
			if !bytes.Equal(got, plain) {
				t.Errorf("Decrypt = %x, want %x", got, plain)
			}
		})
	}
}

// newRC2 refuses what RFC 2268 does not define: an empty key, one over 128
// bytes, an effective length outside 1 to 1024 bits.
func TestRC2RefusesBadKeys(t *testing.T) {
	for _, tt := range []struct {
		keyLen, bits int
	}{{0, 64}, {129, 64}, {8, 0}, {8, 1025}} {
		if _, err := newRC2(make([]byte, tt.keyLen), tt.bits); err == nil {
			t.Errorf("newRC2(%d-byte key, %d bits) succeeded", tt.keyLen, tt.bits)
		}
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
