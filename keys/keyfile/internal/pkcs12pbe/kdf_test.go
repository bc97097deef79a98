package pkcs12pbe

import (
	"bytes"
	"testing"
)

// derive gives what OpenSSL 3.0's PKCS12KDF gives for the same inputs, e.g.
//
//	openssl kdf -keylen 24 -kdfopt digest:SHA1 -kdfopt hexpass:007000770000 \
//	  -kdfopt hexsalt:0102030405060708 -kdfopt iter:2048 -kdfopt id:1 PKCS12KDF
//
// covering both purposes, outputs shorter and longer than one SHA-1 hash
// (the second needs I adjusted), a password longer than one 64-byte block,
// the empty BMPString password (two zero bytes) and no password at all.
func TestDeriveMatchesOpenSSL(t *testing.T) {
	long := "0063006f0072007200650063007400200068006f0072007300650020006200610074007400650072007900200073007400610070006c0065002c0020004e00480053002000390030003000300030003000300030003000390000"
	for _, tt := range []struct {
		name           string
		purpose        byte
		password, salt string
		iterations     int
		want           string
	}{
		{"3DES key", purposeKey, "007000770000", "0102030405060708", 2048, "79e7a7768de2c39272345ed4ce6d04aaed6a238a8a46ca1b"},
		{"IV", purposeIV, "007000770000", "0102030405060708", 2048, "90004ac719cd6c6e"},
		{"RC2-40 key, empty password", purposeKey, "0000", "a1b2c3d4e5f60718", 1, "a7383a389e"},
		{"RC2-128 key, empty password", purposeKey, "0000", "a1b2c3d4e5f60718", 1, "a7383a389ea02a3a7403df57e5e49dd0"},
		{"IV, 3 iterations", purposeIV, "0000", "a1b2c3d4e5f60718", 3, "ff48692b3a0a1fc0"},
		{"64 bytes, long password and salt", purposeKey, long, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0011", 1000,
			"2332da4fb12d14ee44aaff41cbfc5bc06e95eede88a069a5de674bb72f515cfc66d421b4bbda5cd83702ea2ecac2afc34ae40f5c347f0afb6ea3140c36aad9b6"},
		{"no password", purposeKey, "", "0102030405060708", 1, "39d377"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.want)
			got := derive(tt.purpose, unhex(t, tt.password), unhex(t, tt.salt), tt.iterations, len(want))
			if !bytes.Equal(got, want) {
				t.Errorf("derive = %x, want %x", got, want)
			}
		})
	}
}
