package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/awskms"
	"github.com/pkjwt/pkjwt/keys/azurekv"
)

// backends are the key services the CLI can use for keys whose private
// half never leaves them. Their SDK clients are made on first use.
func backends() []keys.Backend {
	return []keys.Backend{awskms.New(), azurekv.New()}
}

// openDir returns the key directory at path, able to load remote keys,
// with the --insecure-key-permissions of fs.
func openDir(fs *flag.FlagSet, path string) keys.Dir {
	insecure := false
	if f := fs.Lookup(insecureFlag); f != nil {
		insecure = f.Value.String() == "true"
	}
	return keys.Dir{Path: path, Backends: backends(), InsecurePermissions: insecure}
}

// insecureFlag is the flag that loads keys despite loose permissions.
const insecureFlag = "insecure-key-permissions"

// keysFlagHelp is the help of --keys, shared by every command that loads keys.
const keysFlagHelp = `where the keys are (default: --dir): a directory (./keys, dir:PATH),
pfx:FILE (a PKCS#12 file; password from --password-file or --password-env, none = empty),
azurekv://VAULT/keys/NAME[/VERSION] (signs inside Azure Key Vault),
azurekv://VAULT/secrets/NAME (a base64 PFX secret, the original .NET sample's way),
awskms:///alias/NAME?region=R (signs inside AWS KMS).
A single key may add ?kid=KID or ?kid-from=thumbprint|x5t|x5t#S256|x509-sha1-hex (default: thumbprint)`

// keyRef is a parsed --keys value.
type keyRef struct {
	dir     string // a key directory, or ""
	pfx     string // a PKCS#12 file, or ""
	remote  string // a backend reference without kid parameters, or ""
	kid     string // ?kid=
	kidFrom string // ?kid-from=
}

// parseKeyRef parses a --keys value.
func parseKeyRef(ref string) (keyRef, error) {
	var r keyRef
	switch {
	case strings.HasPrefix(ref, "dir:"):
		r.dir = strings.TrimPrefix(ref, "dir:")
		if r.dir == "" {
			return r, usagef("--keys %q: no directory after dir:", ref)
		}
		return r, nil
	case strings.HasPrefix(ref, "pfx:"):
		rest := strings.TrimPrefix(ref, "pfx:")
		path, query, _ := strings.Cut(rest, "?")
		if path == "" {
			return r, usagef("--keys %q: no file after pfx:", ref)
		}
		r.pfx = path
		return r, r.kidParams(ref, query)
	case strings.HasPrefix(ref, awskms.Scheme+"://"), strings.HasPrefix(ref, azurekv.Scheme+"://"):
		u, err := url.Parse(ref)
		if err != nil {
			return r, usagef("--keys %q: %v", ref, err)
		}
		if err := r.kidParams(ref, u.RawQuery); err != nil {
			return r, err
		}
		q := u.Query()
		q.Del("kid")
		q.Del("kid-from")
		u.RawQuery = q.Encode()
		r.remote = u.String()
		return r, nil
	case strings.Contains(ref, "://"):
		return r, usagef("--keys %q: unknown scheme (use a directory, pfx:FILE, azurekv://… or awskms://…)", ref)
	}
	r.dir = ref
	return r, nil
}

// kidParams reads ?kid= and ?kid-from= of a single-key reference.
func (r *keyRef) kidParams(ref, rawQuery string) error {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return usagef("--keys %q: %v", ref, err)
	}
	r.kid, r.kidFrom = q.Get("kid"), q.Get("kid-from")
	if r.kid != "" && r.kidFrom != "" {
		return usagef("--keys %q: give kid= or kid-from=, not both", ref)
	}
	if r.kid != "" {
		if err := keys.ValidateKID(r.kid); err != nil {
			return usagef("--keys %q: %v", ref, err)
		}
	}
	if r.kidFrom != "" && !validKIDMethod(r.kidFrom) {
		return usagef("--keys %q: kid-from=%s: use one of %s", ref, r.kidFrom, strings.Join(keys.KIDMethods(), ", "))
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
		return keys.NewDirSource(openDir(cf.fs, *cf.dir))
	}
	if *cf.dir != keys.DefaultDir {
		return nil, usagef("give --dir or --keys, not both")
	}
	r, err := parseKeyRef(ref)
	if err != nil {
		return nil, err
	}
	if r.dir != "" {
		return keys.NewDirSource(openDir(cf.fs, r.dir))
	}
	var signer crypto.Signer
	var cert *x509.Certificate
	switch {
	case r.pfx != "":
		data, err := readInput("keys", r.pfx)
		if err != nil {
			return nil, err
		}
		password, _, err := cf.password.read(e)
		if err != nil {
			return nil, err
		}
		if signer, cert, err = keys.ParsePFXContext(ctx, data, string(password)); err != nil {
			return nil, fmt.Errorf("--keys %s: %w", r.pfx, err)
		}
	case strings.HasPrefix(r.remote, azurekv.Scheme+"://"):
		b := azurekv.New(cf.azure...)
		ar, err := azurekv.ParseRef(r.remote)
		if err != nil {
			return nil, usagef("--keys: %v", err)
		}
		if ar.Kind == azurekv.KindSecret {
			signer, cert, err = b.OpenSecret(ctx, r.remote)
		} else {
			signer, err = b.Open(ctx, r.remote)
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
	created := time.Now()
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
