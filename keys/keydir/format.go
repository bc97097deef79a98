// The on-disk format: the metadata file, file names, and bounded reads and
// atomic 0600 writes.

package keydir

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pkjwt/pkjwt/internal/atomicfile"
	"github.com/pkjwt/pkjwt/keys"
)

// maxKeyFile bounds how much of a key or metadata file is read.
const maxKeyFile = 1 << 20

// meta is the on-disk metadata format. Version 1 (kid = file name, no
// dates but created) still loads.
type meta struct {
	Version      int        `json:"version"`
	KID          string     `json:"kid"`
	Algorithm    string     `json:"alg"`
	State        keys.State `json:"state"`
	Created      time.Time  `json:"created"`
	NotBefore    time.Time  `json:"not_before,omitzero"`
	Published    time.Time  `json:"published,omitzero"`
	StateChanged time.Time  `json:"state_changed,omitzero"`
	Signed       time.Time  `json:"signed,omitzero"`
	// Ref and PublicKey (PKIX DER) are set for a remote key.
	Ref       string `json:"ref,omitempty"`
	PublicKey []byte `json:"public_key,omitempty"`
	// Certificate (DER) is the certificate that came with the key.
	Certificate []byte `json:"certificate,omitempty"`
}

const metaVersion = 2

// fileName returns the base name of k's files: its RFC 7638 thumbprint.
func fileName(pub crypto.PublicKey) (string, error) { return keys.Thumbprint(pub) }

// writeMeta writes (or replaces) k's metadata file.
func (d Dir) writeMeta(k *keys.Key) error {
	if err := keys.ValidateKID(k.ID); err != nil {
		return err
	}
	name, err := fileName(k.Public())
	if err != nil {
		return err
	}
	m := meta{
		Version: metaVersion, KID: k.ID, Algorithm: k.Algorithm, State: k.State,
		Created: k.Created.UTC(), NotBefore: k.NotBefore.UTC(), Published: k.Published.UTC(),
		StateChanged: k.StateChanged.UTC(), Signed: k.Signed.UTC(), Ref: k.Ref,
	}
	if k.Ref != "" {
		if m.PublicKey, err = x509.MarshalPKIXPublicKey(k.Public()); err != nil {
			return fmt.Errorf("keys: encode the public key of %s: %w", k.ID, err)
		}
	}
	if k.Certificate != nil {
		m.Certificate = k.Certificate.Raw
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("keys: encode metadata: %w", err)
	}
	if err := os.MkdirAll(d.path(), 0o700); err != nil {
		return fmt.Errorf("keys: create key directory: %w", err)
	}
	return writeAtomic(filepath.Join(d.path(), name+".json"), append(b, '\n'))
}

// writeAtomic writes data to name with mode 0600, atomically (see
// internal/atomicfile).
func writeAtomic(name string, data []byte) error {
	if err := atomicfile.Write(name, data, 0o600); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}

func readBounded(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("keys: %s is larger than %d bytes: %w", name, maxKeyFile, keys.ErrMalformed)
	}
	return data, nil
}
