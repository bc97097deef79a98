package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/internal/atomicfile"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keyfile"
)

// maxPasswordFile bounds a --password-file.
const maxPasswordFile = 4096

// passwordFlags are --password-file and --password-env: a password is never
// taken from the command line, where ps and shell history would show it.
type passwordFlags struct {
	file, env *string
}

func newPasswordFlags(fl *flag.FlagSet, what string) passwordFlags {
	return passwordFlags{
		file: fl.String("password-file", "", "read the "+what+" password from this file (its first line; an empty file is the empty password)"),
		env:  fl.String("password-env", "", "read the "+what+" password from this environment variable (its name, not the password)"),
	}
}

// read returns the password and whether one was given.
func (p passwordFlags) read(e *env) (password []byte, given bool, err error) {
	switch {
	case *p.file != "" && *p.env != "":
		return nil, false, usagef("give --password-file or --password-env, not both")
	case *p.env != "":
		v := e.getenv(*p.env)
		if v == "" {
			return nil, false, usagef("--password-env: the environment variable %s is unset or empty", *p.env)
		}
		return []byte(v), true, nil
	case *p.file != "":
		f, err := os.Open(*p.file)
		if err != nil {
			return nil, false, usagef("--password-file: %v", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
		if err != nil {
			return nil, false, fmt.Errorf("read --password-file %s: %w", *p.file, err)
		}
		if len(b) > maxPasswordFile {
			return nil, false, usagef("--password-file %s is larger than %d bytes", *p.file, maxPasswordFile)
		}
		// The first line, as openssl's -passin file: reads it.
		if i := strings.IndexAny(string(b), "\r\n"); i >= 0 {
			b = b[:i]
		}
		return b, true, nil
	}
	return nil, false, nil
}

// readInput reads a key file given on the command line, bounded.
func readInput(flagName, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--%s: %v", flagName, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, keyfile.MaxPFXSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > keyfile.MaxPFXSize {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", path, keyfile.MaxPFXSize, keys.ErrMalformed)
	}
	return data, nil
}

func kidFromHelp() string {
	var b strings.Builder
	b.WriteString("derive the kid: ")
	for i, m := range keys.KIDMethods() {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s = %s", m, kidMethodSummary(m))
	}
	return b.String()
}

func cmdKeysImport() *command {
	return &command{
		name:    "keys import",
		args:    "(--pfx FILE | --pem FILE) [flags]",
		summary: "import a private key from a PKCS#12 (PFX) or PEM file and print its kid",
		detail: `Imports an existing key into DIR, where it is stored like a generated one
(PKCS#8 PEM, mode 0600, written atomically), with its certificate when it came
from a PFX. --pfx reads a PKCS#12 file (.pfx, .p12) with one private key and its
certificate: OpenSSL 3's default encoding, the legacy 3DES/RC2 one (-legacy),
Windows and .NET exports. --pem reads a PKCS#8, PKCS#1 or SEC 1 key, or an
ENCRYPTED PRIVATE KEY (PKCS#8 with PBES2).

The password is never a flag value: give --password-file (its first line) or
--password-env (a variable's name). Without either, a PFX is opened with the
empty password (what "no password" means in PKCS#12) and a PEM key must be
unencrypted.

The kid is --kid, or derived by --kid-from (default thumbprint, the RFC 7638
thumbprint pkjwt gives every key). A key registered by the .NET NHS sample has
the certificate's SHA-1 thumbprint in upper-case hex as its kid: import its PFX
with --kid-from x509-sha1-hex to keep it, so the JWKS already registered with
NHS England still matches.

On any error (wrong password, damaged file, a PFX with several keys or none, a
key that cannot sign with --alg, a kid or key already in DIR) nothing is written.`,
		examples: `# A PFX from Windows, .NET or Azure, its password on the first line of pfx.pass
pkjwt keys import --pfx client.pfx --password-file pfx.pass

# The .NET NHS sample's key, keeping the kid NHS England knows (the certificate's SHA-1)
pkjwt keys import --pfx client.pfx --password-file pfx.pass --kid-from x509-sha1-hex

# A PEM key, pending until its JWKS has been published
pkjwt keys import --pem key.pem --state pending`,
		run: runKeysImport,
	}
}

func runKeysImport(ctx context.Context, e *env, c *command, args []string) error {
	fl := newFlags(e, c)
	dir := dirFlag(fl)
	pfxPath := fl.String("pfx", "", "PKCS#12 (PFX, .p12) file to import")
	pemPath := fl.String("pem", "", "PEM private key file to import (PKCS#8, PKCS#1, SEC 1, or encrypted PKCS#8)")
	pw := newPasswordFlags(fl, "PFX or PEM")
	kid := fl.String("kid", "", "the key's kid (printable ASCII, at most 128 characters)")
	kidFrom := fl.String("kid-from", "", kidFromHelp()+" (default thumbprint)")
	alg := fl.String("alg", keys.DefaultAlgorithm, "JWS algorithm the key signs with: "+algorithmsHelp())
	state := fl.String("state", string(keys.StateActive), "initial state: active, or pending (published, not signing yet)")
	if err := parseFlags(e, c, fl, args); err != nil {
		return err
	}
	if err := noArgs(fl); err != nil {
		return err
	}
	if (*pfxPath == "") == (*pemPath == "") {
		return usagef("give one of --pfx FILE or --pem FILE")
	}
	if *kid != "" && *kidFrom != "" {
		return usagef("give --kid or --kid-from, not both")
	}
	method := *kidFrom
	if method == "" {
		method = keys.KIDThumbprint
	}
	if kidMethodSummary(method) == "" {
		return usagef("--kid-from %q: use one of %s", method, strings.Join(keys.KIDMethods(), ", "))
	}
	if *pemPath != "" && method != keys.KIDThumbprint {
		return usagef("--kid-from %s needs a certificate, and a PEM key has none: import the PFX, or give --kid", method)
	}
	if *kid != "" {
		if err := keys.ValidateKID(*kid); err != nil {
			return usagef("--kid: %v", err)
		}
	}
	st := keys.State(*state)
	if st != keys.StateActive && st != keys.StatePending {
		return usagef("--state must be active or pending, not %q", *state)
	}
	if err := keys.CheckAlgorithm(nil, *alg); errors.Is(err, keys.ErrUnsupportedAlgorithm) {
		return usagef("--alg: %v", err)
	}
	password, _, err := pw.read(e)
	if err != nil {
		return err
	}

	var k *keys.Key
	if *pfxPath != "" {
		data, err := readInput("pfx", *pfxPath)
		if err != nil {
			return err
		}
		signer, cert, err := keyfile.ParsePFXContext(ctx, data, string(password))
		if err != nil {
			return fmt.Errorf("%s: %w", *pfxPath, err)
		}
		if k, err = keys.New(signer, *alg, time.Now()); err != nil {
			return fmt.Errorf("%s: %w", *pfxPath, err)
		}
		k.Certificate = cert
	} else {
		data, err := readInput("pem", *pemPath)
		if err != nil {
			return err
		}
		signer, err := keyfile.ParsePEMPasswordContext(ctx, data, password)
		if err != nil {
			return fmt.Errorf("%s: %w", *pemPath, err)
		}
		if k, err = keys.New(signer, *alg, time.Now()); err != nil {
			return fmt.Errorf("%s: %w", *pemPath, err)
		}
	}
	if *kid != "" {
		k.ID = *kid
	} else if k.ID, err = keys.KIDFrom(method, k.Public(), k.Certificate); err != nil {
		return err
	}
	k.State, k.StateChanged = st, k.Created

	// One transaction: a kid or a key already in the directory is refused
	// (keys.ErrDuplicateKID, fs.ErrExist) before anything is written.
	if err := addKey(ctx, e, fl, *dir, k, "imported"); err != nil {
		return err
	}
	if *kid == "" && *kidFrom == "" && k.Certificate != nil {
		if dotnet, err := keys.KIDFrom(keys.KIDX509SHA1Hex, k.Public(), k.Certificate); err == nil {
			fmt.Fprintf(e.stderr, "note: the kid is the key's RFC 7638 thumbprint. If this PFX was registered under its\n"+
				"certificate thumbprint %s (the .NET sample's kid), remove this key and import it\n"+
				"again with --kid-from %s.\n", dotnet, keys.KIDX509SHA1Hex)
		}
	}
	fmt.Fprintln(e.stdout, k.ID)
	return nil
}

func cmdKeysExport() *command {
	return &command{
		name:    "keys export",
		args:    "--kid KID (--pfx FILE | --public) [flags]",
		summary: "export a key as a PKCS#12 (PFX) file, or its public half as a JWK or PEM",
		detail: `--pfx writes the key and its certificate as a PKCS#12 file (mode 0600, written
atomically; an existing file is kept unless --force), for a key vault or a
Windows or .NET service. A key imported from a PFX keeps its certificate; for
any other key a new self-signed certificate (CN=pkjwt, valid for --days) is
made on each export. The encoding is OpenSSL 3's default (AES-256-CBC, PBKDF2,
HMAC-SHA-256); --legacy writes the weak 3DES/SHA-1 one for importers that need
it (Windows Server 2016 and older). The password comes from --password-file or
--password-env, never from a flag value; without either the PFX has the empty
password.

--public writes the key's public half only: its strict JWK (kty, use, alg, kid
and the key's public numbers; the same member set as 'pkjwt jwks') or a PEM
"PUBLIC KEY", on stdout or to --out.`,
		examples: `# Key KID as a PFX for Azure Key Vault or a .NET service, the password from pfx.pass
pkjwt keys export --kid KID --pfx client.pfx --password-file pfx.pass

# Its public key as a PEM file
pkjwt keys export --kid KID --public --format pem --out public.pem`,
		run: runKeysExport,
	}
}

func runKeysExport(ctx context.Context, e *env, c *command, args []string) error {
	fl := newFlags(e, c)
	dir := dirFlag(fl)
	kid := fl.String("kid", "", "the key to export (required)")
	pfxPath := fl.String("pfx", "", "write a PKCS#12 (PFX) file with the private key and its certificate")
	pw := newPasswordFlags(fl, "PFX")
	legacy := fl.Bool("legacy", false, "with --pfx: the weak legacy 3DES/SHA-1 encoding, for old importers")
	days := fl.Int("days", 365, "with --pfx, for a key without a certificate: validity of the self-signed certificate in days")
	public := fl.Bool("public", false, "write only the public key")
	format := fl.String("format", "jwk", "with --public: jwk or pem")
	out := fl.String("out", "", "with --public: write to this file instead of stdout")
	force := fl.Bool("force", false, "replace an existing output file")
	if err := parseFlags(e, c, fl, args); err != nil {
		return err
	}
	if err := noArgs(fl); err != nil {
		return err
	}
	if *kid == "" {
		return usagef("--kid is required ('pkjwt keys list' shows the kids)")
	}
	if (*pfxPath == "") == !*public {
		return usagef("give one of --pfx FILE or --public")
	}
	if *public && (*pw.file != "" || *pw.env != "" || *legacy) {
		return usagef("--public writes no private key: --password-file, --password-env and --legacy do not apply")
	}
	if !*public && *out != "" {
		return usagef("--out is for --public; --pfx names the PFX file")
	}
	if *format != "jwk" && *format != "pem" {
		return usagef("--format must be jwk or pem, not %q", *format)
	}
	if *days < 1 {
		return usagef("--days must be at least 1")
	}
	password, given, err := pw.read(e)
	if err != nil {
		return err
	}
	k, err := openDir(fl, *dir).Load(*kid)
	if err != nil {
		return err
	}

	if *public {
		var data []byte
		if *format == "jwk" {
			if data, err = jwks.MarshalKey(k); err != nil {
				return err
			}
			data = append(data, '\n')
		} else {
			der, err := x509.MarshalPKIXPublicKey(k.Public())
			if err != nil {
				return fmt.Errorf("encode the public key of %s: %w", k.ID, err)
			}
			data = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		}
		if *out == "" {
			_, err := e.stdout.Write(data)
			return err
		}
		return writeNewFile(*out, data, 0o644, *force)
	}

	if k.Ref != "" {
		return fmt.Errorf("the private half of %s stays in its key service (%s) and cannot be exported; use --public", k.ID, k.Ref)
	}
	cert := k.Certificate
	if cert == nil {
		now := time.Now()
		if cert, err = keys.SelfSignedCertificate(k.Signer, "pkjwt", now.Add(-5*time.Minute), now.Add(time.Duration(*days)*24*time.Hour)); err != nil {
			return err
		}
	}
	encode := keyfile.EncodePFX
	if *legacy {
		encode = keyfile.EncodePFXLegacy
	}
	data, err := encode(k.Signer, cert, string(password))
	if err != nil {
		return err
	}
	if err := writeNewFile(*pfxPath, data, 0o600, *force); err != nil {
		return err
	}
	if !given || len(password) == 0 {
		fmt.Fprintf(e.stderr, "warning: %s has the empty password; keep it as safe as the key itself.\n", *pfxPath)
	}
	fmt.Fprintf(e.stderr, "wrote %s (key %s, certificate SHA-1 %s)\n", *pfxPath, k.ID, certSHA1Hex(k, cert))
	return nil
}

func certSHA1Hex(k *keys.Key, cert *x509.Certificate) string {
	s, err := keys.KIDFrom(keys.KIDX509SHA1Hex, k.Public(), cert)
	if err != nil {
		return "?"
	}
	return s
}

// writeNewFile writes data to name atomically with mode perm (see
// internal/atomicfile): an existing file is never replaced unless force.
func writeNewFile(name string, data []byte, perm os.FileMode, force bool) error {
	if force {
		return atomicfile.Write(name, data, perm)
	}
	err := atomicfile.WriteNew(name, data, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists; give --force to replace it: %w", name, fs.ErrExist)
	}
	return err
}
