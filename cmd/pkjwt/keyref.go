package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/awskms"
	"github.com/pkjwt/pkjwt/keys/azurekv"
	"github.com/pkjwt/pkjwt/keys/keydir"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

// backends are the key services the CLI can use for keys whose private
// half never leaves them. Their SDK clients are made on first use.
func backends() []keys.Backend {
	return []keys.Backend{awskms.New(), azurekv.New()}
}

// openDir returns the key directory at path, able to load remote keys,
// with the --insecure-key-permissions of fs.
func openDir(fs *flag.FlagSet, path string) keydir.Dir {
	insecure := false
	if f := fs.Lookup(insecureFlag); f != nil {
		insecure = f.Value.String() == "true"
	}
	return keydir.Dir{Path: path, Backends: backends(), InsecurePermissions: insecure}
}

// insecureFlag is the flag that loads keys despite loose permissions.
const insecureFlag = "insecure-key-permissions"

// keysFlagHelp is the help of --keys, shared by every command that loads keys.
const keysFlagHelp = `where the keys are (default: --dir): a directory (./keys, dir:PATH),
pem:FILE (one PEM private key: PKCS#8, PKCS#1, SEC 1 or encrypted PKCS#8; mode 0600),
pfx:FILE (a PKCS#12 file; password from --password-file or --password-env, none = empty),
azurekv://VAULT/keys/NAME[/VERSION] (signs inside Azure Key Vault),
azurekv://VAULT/secrets/NAME (a base64 PFX secret, the original .NET sample's way),
awskms:///alias/NAME?region=R (signs inside AWS KMS).
A single key may add ?kid=KID or ?kid-from=thumbprint|x5t|x5t#S256|x509-sha1-hex (default: thumbprint)`

// keyRef is a parsed --keys value.
type keyRef struct {
	dir     string // a key directory, or ""
	pfx     string // a PKCS#12 file, or ""
	pem     string // a PEM private key file, or ""
	remote  string // a backend reference without kid parameters, or ""
	kid     string // ?kid=
	kidFrom string // ?kid-from=
}

// knownKeySchemes are the forms of a --keys value, for the error about an
// unknown one.
const knownKeySchemes = "a directory (./keys or dir:PATH), pem:FILE, pfx:FILE, azurekv://… or awskms://…"

// hasScheme reports whether ref begins with a URI scheme and a colon
// (RFC 3986: a letter, then letters, digits, "+", "-" or "."), two
// characters or more: one letter is a Windows drive.
func hasScheme(ref string) bool {
	i := strings.IndexByte(ref, ':')
	if i < 2 {
		return false
	}
	for j, c := range []byte(ref[:i]) {
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (j == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// parseKeyRef parses a --keys value; from says where it came from (the
// flag, PKJWT_KEYS or the config file), for errors.
func parseKeyRef(ref, from string) (keyRef, error) {
	var r keyRef
	switch {
	case strings.HasPrefix(ref, "dir:"):
		r.dir = strings.TrimPrefix(ref, "dir:")
		if r.dir == "" {
			return r, usagef("%s: %q: no directory after dir:", from, ref)
		}
		return r, nil
	case strings.HasPrefix(ref, "pfx:"), strings.HasPrefix(ref, "pem:"):
		scheme, rest, _ := strings.Cut(ref, ":")
		path, query, _ := strings.Cut(rest, "?")
		if path == "" {
			return r, usagef("%s: %q: no file after %s:", from, ref, scheme)
		}
		if scheme == "pfx" {
			r.pfx = path
		} else {
			r.pem = path
		}
		if err := r.kidParams(ref, from, query); err != nil {
			return r, err
		}
		if r.pem != "" && r.kidFrom != "" && r.kidFrom != keys.KIDThumbprint {
			return r, usagef("%s: %q: kid-from=%s needs a certificate, and a PEM key has none: give ?kid=KID, or use the PFX", from, ref, r.kidFrom)
		}
		return r, nil
	case strings.HasPrefix(ref, awskms.Scheme+"://"), strings.HasPrefix(ref, azurekv.Scheme+"://"):
		u, err := url.Parse(ref)
		if err != nil {
			return r, usagef("%s: %q: %v", from, ref, err)
		}
		if err := r.kidParams(ref, from, u.RawQuery); err != nil {
			return r, err
		}
		q := u.Query()
		q.Del("kid")
		q.Del("kid-from")
		u.RawQuery = q.Encode()
		r.remote = u.String()
		return r, nil
	case strings.Contains(ref, "://"), hasScheme(ref):
		scheme, _, _ := strings.Cut(ref, ":")
		return r, usagef("%s: %q: unknown scheme %q: use %s (a directory whose name has a colon: ./%s)", from, ref, scheme+":", knownKeySchemes, ref)
	}
	r.dir = ref
	return r, nil
}

// kidParams reads ?kid= and ?kid-from= of a single-key reference.
func (r *keyRef) kidParams(ref, from, rawQuery string) error {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return usagef("%s: %q: %v", from, ref, err)
	}
	r.kid, r.kidFrom = q.Get("kid"), q.Get("kid-from")
	if r.kid != "" && r.kidFrom != "" {
		return usagef("%s: %q: give kid= or kid-from=, not both", from, ref)
	}
	if r.kid != "" {
		if err := keys.ValidateKID(r.kid); err != nil {
			return usagef("%s: %q: %v", from, ref, err)
		}
	}
	if r.kidFrom != "" && !validKIDMethod(r.kidFrom) {
		return usagef("%s: %q: kid-from=%s: use one of %s", from, ref, r.kidFrom, strings.Join(keys.KIDMethods(), ", "))
	}
	return nil
}

func validKIDMethod(m string) bool {
	for _, k := range keys.KIDMethods() {
		if k == m {
			return true
		}
	}
	return false
}

// openKeys opens the keys --keys (or, without it, --dir) names. A
// directory gives a source that follows it (serve and demo watch it); a
// single key gives a fixed ring holding that key, active.
func (cf *clientFlags) openKeys(ctx context.Context, e *env) (keys.RingSource, error) {
	if err := cf.applyConfigFrom(ctx); err != nil {
		return nil, err
	}
	ref := *cf.keys
	if ref == "" {
		return keydir.NewDirSource(openDir(cf.fs, *cf.dir))
	}
	if *cf.dir != keydir.DefaultDir {
		return nil, usagef("give --dir or --keys, not both (%s and %s)", cf.origin("dir"), cf.origin("keys"))
	}
	r, err := parseKeyRef(ref, cf.origin("keys"))
	if err != nil {
		return nil, err
	}
	if r.dir != "" {
		return keydir.NewDirSource(openDir(cf.fs, r.dir))
	}
	var signer crypto.Signer
	var cert *x509.Certificate
	created := time.Now()
	switch {
	case r.pem != "":
		if signer, created, err = cf.openPEM(e, r.pem); err != nil {
			return nil, err
		}
	case r.pfx != "":
		data, err := readInput("keys", r.pfx)
		if err != nil {
			return nil, err
		}
		password, _, err := cf.password.read(e)
		if err != nil {
			return nil, err
		}
		if signer, cert, err = keyfile.ParsePFXContext(ctx, data, string(password)); err != nil {
			return nil, fmt.Errorf("--keys %s: %w", r.pfx, err)
		}
	case strings.HasPrefix(r.remote, azurekv.Scheme+"://"):
		b := azurekv.New(cf.azure...)
		if isAzureSecret(r.remote) {
			signer, cert, err = b.OpenSecret(ctx, r.remote) // a PFX: its certificate gives kid-from
		} else {
			signer, err = b.Open(ctx, r.remote)
		}
		if errors.Is(err, azurekv.ErrBadRef) {
			return nil, usagef("--keys: %v", err)
		}
		if err != nil {
			return nil, fmt.Errorf("--keys %s: %w", r.remote, err)
		}
	default:
		if signer, err = awskms.New().Open(ctx, r.remote); err != nil {
			return nil, fmt.Errorf("--keys %s: %w", r.remote, err)
		}
	}
	p, err := cf.resolveProfile()
	if err != nil {
		return nil, err
	}
	alg := p.Algorithm
	if alg == "" {
		alg = keys.DefaultAlgorithm
	}
	if cert != nil {
		created = cert.NotBefore
	}
	k, err := keys.New(signer, alg, created)
	if err != nil {
		return nil, fmt.Errorf("--keys %s: %w", ref, err)
	}
	k.Certificate = cert
	switch {
	case r.kid != "":
		k.ID = r.kid
	case r.kidFrom != "":
		if k.ID, err = keys.KIDFrom(r.kidFrom, signer.Public(), cert); err != nil {
			return nil, fmt.Errorf("--keys %s: %w", ref, err)
		}
	}
	return keys.NewRing(k), nil
}

// isAzureSecret reports whether an azurekv reference names a secret
// (azurekv://VAULT/secrets/NAME[/VERSION]) rather than a key; the backend
// checks the rest of it.
func isAzureSecret(ref string) bool {
	u, err := url.Parse(ref)
	return err == nil && strings.HasPrefix(u.Path, "/secrets/")
}

// openPEM reads one PEM private key file for --keys pem:FILE, refusing a
// file that group or others may read (unless --insecure-key-permissions),
// as a key directory does; the password, for an encrypted PKCS#8 key,
// comes from --password-file or --password-env. It returns the key and the
// file's modification time, the key's creation time as far as pkjwt can
// tell.
func (cf *clientFlags) openPEM(e *env, path string) (crypto.Signer, time.Time, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, time.Time{}, usagef("%s: %v", cf.origin("keys"), err)
	}
	if f := cf.fs.Lookup(insecureFlag); (f == nil || f.Value.String() != "true") && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, time.Time{}, withHint(fmt.Errorf("the private key file %s may be read by group or others (mode %04o): %w", path, st.Mode().Perm(), keydir.ErrInsecurePermissions),
			fmt.Sprintf("run 'chmod 600 %s' (or give --insecure-key-permissions)", path))
	}
	data, err := readInput("keys", path)
	if err != nil {
		return nil, time.Time{}, err
	}
	password, _, err := cf.password.read(e)
	if err != nil {
		return nil, time.Time{}, err
	}
	signer, err := keyfile.ParsePEMPassword(data, password)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("--keys pem:%s: %w", path, err)
	}
	return signer, st.ModTime(), nil
}

// keysWhere says where the keys came from, for messages.
func (cf *clientFlags) keysWhere() string {
	if *cf.keys != "" {
		return *cf.keys
	}
	return *cf.dir
}

// noKeys is the one error for a place with no key: a directory that does
// not exist, or one that holds none, each said as it is, with the command
// that makes a key. It is a failure (exit 1), not a usage error.
func noKeys(where string) error {
	if st, err := os.Stat(where); err != nil || !st.IsDir() {
		return withHint(fmt.Errorf("no key directory at %s", where),
			fmt.Sprintf("create a key with 'pkjwt keys generate --dir %s' (or point --dir or --keys at your keys)", where))
	}
	return withHint(fmt.Errorf("the key directory %s holds no key", where),
		fmt.Sprintf("create one with 'pkjwt keys generate --dir %s' or import one with 'pkjwt keys import --dir %s --pfx FILE'", where, where))
}
