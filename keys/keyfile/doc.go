// Package keyfile reads and writes the key files pkjwt imports and exports:
// PKCS#12 (PFX, .p12) files ([ParsePFX], [EncodePFX]) and encrypted PKCS#8
// PEM keys ([ParsePEMPassword]). Every key derivation such a file asks for
// is bounded ([MaxPFXIterations], [MaxScryptMemory]) before it runs.
//
// Plain PEM keys are read by [github.com/pkjwt/pkjwt/keys.ParsePEM]; this
// package holds what needs a password, so that a program that does not
// import it links no PFX or PEM-decryption code.
package keyfile
