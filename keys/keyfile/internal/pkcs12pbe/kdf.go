package pkcs12pbe

import "crypto/sha1"

// Purposes of the PKCS#12 key derivation (RFC 7292 appendix B.3).
const (
	purposeKey = 1
	purposeIV  = 2
)

// derive is the PKCS#12 key derivation of RFC 7292 appendix B.2, written
// from that appendix, with SHA-1 (u = 20 bytes out, v = 64 bytes a block):
// n bytes for purpose from password (the BMPString with its two zero
// bytes, or empty), salt and iterations (below 1 counts as 1).
func derive(purpose byte, password, salt []byte, iterations, n int) []byte {
	const v = sha1.BlockSize
	// D: v copies of the purpose byte.
	d := make([]byte, v)
	for i := range d {
		d[i] = purpose
	}
	// I = S || P: salt and password each repeated to a whole number of
	// v-byte blocks (an empty one stays empty).
	i := append(fill(salt), fill(password)...)
	out := make([]byte, 0, n+sha1.Size)
	for len(out) < n {
		// A = H^iterations(D || I).
		a := sha1.Sum(append(d[:v:v], i...))
		for r := 1; r < iterations; r++ {
			a = sha1.Sum(a[:])
		}
		out = append(out, a[:]...)
		if len(out) >= n {
			break
		}
		// B = A repeated to v bytes; each v-byte block of I becomes
		// (block + B + 1) mod 2^(8v), as big-endian integers.
		b := fill(a[:])
		for off := 0; off < len(i); off += v {
			carry := uint16(1)
			for k := v - 1; k >= 0; k-- {
				sum := uint16(i[off+k]) + uint16(b[k]) + carry
				i[off+k] = byte(sum)
				carry = sum >> 8
			}
		}
	}
	return out[:n]
}

// fill returns s repeated (the last copy cut short) to the smallest
// multiple of 64 bytes that holds it: empty for an empty s.
func fill(s []byte) []byte {
	const v = sha1.BlockSize
	out := make([]byte, (len(s)+v-1)/v*v)
	for k := range out {
		out[k] = s[k%len(s)]
	}
	return out
}
