package awskms

import "context"

// Names the tests (package awskms_test) use that are not part of the
// package's API.

// Ref is a parsed key reference.
type Ref = keyRef

// Signer is the concrete signer Open and Create return.
type Signer = kmsSigner

// ParseRef and ParseTemplate parse a key reference and a Create template.
var (
	ParseRef      = parseRef
	ParseTemplate = parseTemplate
)

// DefaultMaxAttempts is the default number of tries of one KMS call.
const DefaultMaxAttempts = defaultMaxAttempts

// OpenSigner is Open returning the concrete *Signer.
func (b *Backend) OpenSigner(ctx context.Context, ref string) (*Signer, error) {
	s, err := b.Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.(*Signer), nil
}

// CreateSigner is Create returning the concrete *Signer.
func (b *Backend) CreateSigner(ctx context.Context, template, alg string) (string, *Signer, error) {
	ref, s, err := b.Create(ctx, template, alg)
	if err != nil {
		return "", nil, err
	}
	return ref, s.(*Signer), nil
}
