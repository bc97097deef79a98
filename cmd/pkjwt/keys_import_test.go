package main

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/internal/testutil"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// pfxFixture is a key and self-signed certificate made by openssl, and PFX
// files of them.
type pfxFixture struct {
	dir         string // holds key.pem, cert.pem, pw.txt and the PFX files
	fingerprint string // openssl's SHA-1 fingerprint of cert.pem, no colons
}

const fixturePassword = "migrate me"

// newPFXFixture makes a key of newkey (openssl req's -newkey) and exports
// it as: modern.pfx (OpenSSL 3 defaults, password from pw.txt), legacy.pfx
// (-legacy, same password) and empty.pfx (the empty password).
func newPFXFixture(t *testing.T, newkey string) pfxFixture {
	t.Helper()
	testutil.RequireOpenSSL3(t)
	dir := t.TempDir()
	testutil.OpenSSL(t, dir, "req", "-x509", "-newkey", newkey, "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
		"-subj", "/CN=nhs-sample-app", "-days", "30")
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte(fixturePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem"}
	testutil.OpenSSL(t, dir, append(common, "-out", "modern.pfx", "-passout", "file:pw.txt")...)
	testutil.OpenSSL(t, dir, append(common, "-out", "legacy.pfx", "-legacy", "-passout", "file:pw.txt")...)
	testutil.OpenSSL(t, dir, append(common, "-out", "empty.pfx", "-passout", "pass:")...)
	return pfxFixture{dir: dir, fingerprint: testutil.OpenSSLSHA1Hex(t, dir, "cert.pem")}
}

func (f pfxFixture) path(name string) string { return filepath.Join(f.dir, name) }

// TestKeysImportPFXThenToken is the migration from the .NET sample: its
// OpenSSL 3 PFX is imported keeping the certificate-thumbprint kid NHS
// England knows, the JWKS publishes that kid, and the emulator issues a
// token for an assertion signed with the imported key.
func TestKeysImportPFXThenToken(t *testing.T) {
	f := newPFXFixture(t, "rsa:4096")
	kd := filepath.Join(t.TempDir(), "keys")
	r := runCLI(t, nil, "keys", "import", "--dir", kd, "--pfx", f.path("modern.pfx"),
		"--password-file", f.path("pw.txt"), "--kid-from", "x509-sha1-hex")
	if r.Code != 0 {
		t.Fatalf("import: exit %d: %s", r.Code, r.Stderr)
	}
	if kid := strings.TrimSpace(r.Stdout); kid != f.fingerprint {
		t.Fatalf("import printed kid %q, openssl's SHA-1 fingerprint is %s", kid, f.fingerprint)
	}
	if strings.Contains(r.Stdout+r.Stderr, fixturePassword) {
		t.Fatal("the password was printed")
	}

	// The JWKS, as the CLI prints it, served over loopback.
	r = runCLI(t, nil, "jwks", "--dir", kd)
	if r.Code != 0 {
		t.Fatalf("jwks: %d %s", r.Code, r.Stderr)
	}
	if kids := checkStrictJWKS(t, r.Stdout); len(kids) != 1 || kids[0] != f.fingerprint {
		t.Fatalf("JWKS kids %v, want [%s]", kids, f.fingerprint)
	}
	doc := []byte(r.Stdout)
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	defer jwksSrv.Close()
	emu, err := emulator.New(emulator.Config{Apps: []emulator.App{{
		Name: "dotnet-migrated", APIKey: "migrated-app-key", JWKSURL: jwksSrv.URL + jwks.Path, Scopes: []string{emulator.PDSScope},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()

	r = runCLI(t, nil, "token", "--profile", "local", "--token-url", emuSrv.URL+"/oauth2/token",
		"--client-id", "migrated-app-key", "--dir", kd)
	if r.Code != 0 {
		t.Fatalf("token: exit %d\nstdout %s\nstderr %s", r.Code, r.Stdout, r.Stderr)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("token output %q: %v", r.Stdout, err)
	}
	if info["kid"] != f.fingerprint || info["token_type"] != "Bearer" {
		t.Fatalf("token metadata %v: want kid %s", info, f.fingerprint)
	}

	// The same token request with another client id is refused: the token
	// above was earned by the key, not given to anyone.
	r = runCLI(t, nil, "token", "--profile", "local", "--token-url", emuSrv.URL+"/oauth2/token",
		"--client-id", "unknown-app", "--dir", kd)
	if r.Code != 1 {
		t.Fatalf("unknown client: exit %d, want 1: %s", r.Code, r.Stderr)
	}
}

// keyListKIDs returns the kids "pkjwt keys list --json" shows for dir.
func keyListKIDs(t *testing.T, dir string) []string {
	t.Helper()
	r := runCLI(t, nil, "keys", "list", "--dir", dir, "--json")
	if r.Code != 0 {
		t.Fatalf("keys list: %d %s", r.Code, r.Stderr)
	}
	var list []struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		t.Fatalf("%q: %v", r.Stdout, err)
	}
	var kids []string
	for _, k := range list {
		kids = append(kids, k.KID)
	}
	sort.Strings(kids)
	return kids
}

func TestKeysImportFormats(t *testing.T) {
	f := newPFXFixture(t, "rsa:2048")
	testutil.OpenSSL(t, f.dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "key.pem", "-out", "enc.pem", "-passout", "file:pw.txt")
	key, err := keys.ParsePEM(readFile(t, f.path("key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	thumb, err := keys.Thumbprint(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	certDER, _ := pem.Decode(readFile(t, f.path("cert.pem")))
	cert, err := x509.ParseCertificate(certDER.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	x5t, err := keys.KIDFrom(keys.KIDX5t, key.Public(), cert)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		args    []string
		wantKID string
		note    bool // the hint about --kid-from x509-sha1-hex
	}{
		{"legacy PFX, password from the environment", []string{"PFX_PASSWORD=" + fixturePassword},
			[]string{"--pfx", f.path("legacy.pfx"), "--password-env", "PFX_PASSWORD", "--kid-from", "x509-sha1-hex"}, f.fingerprint, false},
		{"empty-password PFX, no password flag", nil,
			[]string{"--pfx", f.path("empty.pfx"), "--kid-from", "x509-sha1-hex"}, f.fingerprint, false},
		{"PFX, default kid", nil,
			[]string{"--pfx", f.path("modern.pfx"), "--password-file", f.path("pw.txt")}, thumb, true},
		{"PFX, x5t", nil,
			[]string{"--pfx", f.path("modern.pfx"), "--password-file", f.path("pw.txt"), "--kid-from", "x5t"}, x5t, false},
		{"PFX, explicit kid, pending", nil,
			[]string{"--pfx", f.path("empty.pfx"), "--kid", "nhs-key-1", "--state", "pending"}, "nhs-key-1", false},
		{"encrypted PKCS#8 PEM", nil,
			[]string{"--pem", f.path("enc.pem"), "--password-file", f.path("pw.txt")}, thumb, false},
		{"plain PEM", nil,
			[]string{"--pem", f.path("key.pem")}, thumb, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kd := filepath.Join(t.TempDir(), "keys")
			r := runCLI(t, tt.env, append([]string{"keys", "import", "--dir", kd}, tt.args...)...)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			if got := strings.TrimSpace(r.Stdout); got != tt.wantKID {
				t.Fatalf("kid %q, want %q", got, tt.wantKID)
			}
			if hint := strings.Contains(r.Stderr, "--kid-from x509-sha1-hex") && strings.Contains(r.Stderr, f.fingerprint); hint != tt.note {
				t.Fatalf("hint shown %v, want %v: %s", hint, tt.note, r.Stderr)
			}
			if kids := keyListKIDs(t, kd); len(kids) != 1 || kids[0] != tt.wantKID {
				t.Fatalf("keys list: %v", kids)
			}
			ring, err := keydir.Dir{Path: kd}.LoadRing()
			if err != nil {
				t.Fatal(err)
			}
			k, err := ring.Lookup(tt.wantKID)
			if err != nil {
				t.Fatal(err)
			}
			if !k.Public().(*rsa.PublicKey).Equal(key.Public()) {
				t.Fatal("another key was stored")
			}
			if strings.Contains(strings.Join(tt.args, " "), "--pfx") != (k.Certificate != nil) {
				t.Fatalf("certificate kept: %v", k.Certificate != nil)
			}
			checkFileModes(t, kd)
		})
	}
}

// checkFileModes fails unless every file in dir has mode 0600.
func checkFileModes(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", e.Name(), info.Mode().Perm())
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshot returns every file name, mode and content under dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.IsDir() {
			out[rel+"/"] = info.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = info.Mode().String() + " " + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKeysImportRejects(t *testing.T) {
	f := newPFXFixture(t, "rsa:2048")
	ec := newPFXFixture(t, "ec:"+ecParamFile(t))
	testutil.OpenSSL(t, f.dir, "pkcs12", "-export", "-nokeys", "-in", "cert.pem", "-out", "nokey.pfx", "-passout", "pass:")
	testutil.OpenSSL(t, f.dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "key.pem", "-out", "enc.pem", "-passout", "file:pw.txt")
	modern := readFile(t, f.path("modern.pfx"))
	write := func(name string, data []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := write("truncated.pfx", modern[:len(modern)*2/3])
	twoKeys := write("two.pfx", testutil.TwoKeyPFX(t))
	wrongPW := write("wrong.txt", []byte("not the password\n"))

	// A key directory that already holds the key of f under its
	// certificate-thumbprint kid.
	kd := filepath.Join(t.TempDir(), "keys")
	if r := runCLI(t, nil, "keys", "import", "--dir", kd, "--pfx", f.path("empty.pfx"), "--kid-from", "x509-sha1-hex"); r.Code != 0 {
		t.Fatalf("setup import: %d %s", r.Code, r.Stderr)
	}
	other := newPFXFixture(t, "rsa:2048")

	tests := []struct {
		name string
		env  []string
		args []string
		code int
		msg  string
	}{
		{"wrong password", nil, []string{"--pfx", f.path("modern.pfx"), "--password-file", wrongPW}, 1, "wrong password"},
		{"password needed, none given", nil, []string{"--pfx", f.path("modern.pfx")}, 1, "has a password"},
		{"truncated PFX", nil, []string{"--pfx", truncated, "--password-file", f.path("pw.txt")}, 1, "truncated"},
		{"PFX with two keys", nil, []string{"--pfx", twoKeys}, 1, "more than one private key"},
		{"PFX with no key", nil, []string{"--pfx", f.path("nokey.pfx")}, 1, "no private key"},
		{"EC key under RS512", nil, []string{"--pfx", ec.path("empty.pfx")}, 1, "RS512 needs an RSA key"},
		{"same key again", nil, []string{"--pfx", f.path("empty.pfx"), "--kid-from", "x509-sha1-hex"}, 1, "already in"},
		{"same key, another kid", nil, []string{"--pfx", f.path("empty.pfx")}, 1, "already in"},
		{"another key, existing kid", nil, []string{"--pfx", other.path("empty.pfx"), "--kid", f.fingerprint}, 1, "already in"},
		{"encrypted PEM without password", nil, []string{"--pem", f.path("enc.pem")}, 1, "encrypted"},
		{"encrypted PEM, wrong password", nil, []string{"--pem", f.path("enc.pem"), "--password-file", wrongPW}, 1, "wrong password"},
		{"PFX given as PEM", nil, []string{"--pem", f.path("modern.pfx")}, 1, "PEM"},
		{"missing file", nil, []string{"--pfx", filepath.Join(f.dir, "nope.pfx")}, 2, "no such file"},
		{"both --pfx and --pem", nil, []string{"--pfx", f.path("empty.pfx"), "--pem", f.path("key.pem")}, 2, "one of --pfx"},
		{"neither", nil, nil, 2, "one of --pfx"},
		{"unknown --kid-from", nil, []string{"--pfx", f.path("empty.pfx"), "--kid-from", "sha1"}, 2, "x509-sha1-hex"},
		{"--kid and --kid-from", nil, []string{"--pfx", f.path("empty.pfx"), "--kid", "a", "--kid-from", "x5t"}, 2, "not both"},
		{"cert kid for a PEM key", nil, []string{"--pem", f.path("key.pem"), "--kid-from", "x5t"}, 2, "needs a certificate"},
		{"bad kid", nil, []string{"--pfx", f.path("empty.pfx"), "--kid", "a b"}, 2, "kid"},
		{"unset --password-env", nil, []string{"--pfx", f.path("modern.pfx"), "--password-env", "PKJWT_TEST_UNSET_PW"}, 2, "unset"},
		{"both password flags", []string{"PW=x"}, []string{"--pfx", f.path("modern.pfx"), "--password-env", "PW", "--password-file", wrongPW}, 2, "not both"},
		{"a password flag value", nil, []string{"--pfx", f.path("modern.pfx"), "--password", fixturePassword}, 2, "not defined"},
		{"bad state", nil, []string{"--pfx", f.path("empty.pfx"), "--state", "retired"}, 2, "--state"},
		{"unsupported alg", nil, []string{"--pfx", f.path("empty.pfx"), "--alg", "HS256"}, 2, "--alg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, kd)
			r := runCLI(t, tt.env, append([]string{"keys", "import", "--dir", kd}, tt.args...)...)
			if r.Code != tt.code {
				t.Fatalf("exit %d, want %d: %s", r.Code, tt.code, r.Stderr)
			}
			if !strings.Contains(r.Stderr, tt.msg) {
				t.Fatalf("stderr %q does not say %q", r.Stderr, tt.msg)
			}
			if r.Stdout != "" {
				t.Fatalf("printed %q on failure", r.Stdout)
			}
			after := snapshot(t, kd)
			if len(before) != len(after) {
				t.Fatalf("the key directory changed: %d files before, %d after", len(before), len(after))
			}
			for name, v := range before {
				if after[name] != v {
					t.Fatalf("the key directory changed: %s", name)
				}
			}
		})
	}
	if kids := keyListKIDs(t, kd); len(kids) != 1 || kids[0] != f.fingerprint {
		t.Fatalf("keys after the failed imports: %v", kids)
	}
}

func ecParamFile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testutil.OpenSSL(t, dir, "ecparam", "-name", "prime256v1", "-out", "ec.param")
	return filepath.Join(dir, "ec.param")
}

func TestKeysExport(t *testing.T) {
	f := newPFXFixture(t, "rsa:2048")
	kd := filepath.Join(t.TempDir(), "keys")
	r := runCLI(t, nil, "keys", "import", "--dir", kd, "--pfx", f.path("empty.pfx"), "--kid-from", "x509-sha1-hex")
	if r.Code != 0 {
		t.Fatalf("import: %d %s", r.Code, r.Stderr)
	}
	r = runCLI(t, nil, "keys", "generate", "--dir", kd, "--bits", "2048", "--state", "pending")
	if r.Code != 0 {
		t.Fatalf("generate: %d %s", r.Code, r.Stderr)
	}
	generatedKID := strings.TrimSpace(r.Stdout)
	out := t.TempDir()
	pw := filepath.Join(out, "pw.txt")
	if err := os.WriteFile(pw, []byte("export pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, kid, file string
		extra           []string
		keepsCert       bool
	}{
		{"imported key keeps its certificate", f.fingerprint, "imported.pfx", nil, true},
		{"generated key gets a self-signed certificate", generatedKID, "generated.pfx", nil, false},
		{"legacy encoding", f.fingerprint, "legacy.pfx", []string{"--legacy"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(out, tt.file)
			args := append([]string{"keys", "export", "--dir", kd, "--kid", tt.kid, "--pfx", dst, "--password-file", pw}, tt.extra...)
			r := runCLI(t, nil, args...)
			if r.Code != 0 {
				t.Fatalf("export: %d %s", r.Code, r.Stderr)
			}
			info, err := os.Stat(dst)
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Fatalf("exported file: %v, mode %v", err, info.Mode().Perm())
			}
			infoArgs := []string{"pkcs12", "-info", "-nodes", "-in", dst, "-passin", "file:" + pw}
			if tt.extra != nil {
				infoArgs = append(infoArgs, "-legacy")
			}
			dump := testutil.OpenSSL(t, out, infoArgs...)
			var gotKey, gotCert bool
			for rest := dump; ; {
				var b *pem.Block
				if b, rest = pem.Decode(rest); b == nil {
					break
				}
				switch b.Type {
				case "PRIVATE KEY":
					gotKey = true
				case "CERTIFICATE":
					c, err := x509.ParseCertificate(b.Bytes)
					if err != nil {
						t.Fatal(err)
					}
					sha1, err := keys.KIDFrom(keys.KIDX509SHA1Hex, nil, c)
					if err != nil {
						t.Fatal(err)
					}
					if (sha1 == f.fingerprint) != tt.keepsCert {
						t.Fatalf("certificate SHA-1 %s, imported %s, keeps it: want %v", sha1, f.fingerprint, tt.keepsCert)
					}
					gotCert = true
				}
			}
			if !gotKey || !gotCert {
				t.Fatalf("openssl shows key %v, certificate %v", gotKey, gotCert)
			}
			// Read back by pkjwt, the key is the same.
			kd2 := filepath.Join(t.TempDir(), "keys")
			r = runCLI(t, nil, "keys", "import", "--dir", kd2, "--pfx", dst, "--password-file", pw, "--kid", tt.kid)
			if r.Code != 0 {
				t.Fatalf("re-import: %d %s", r.Code, r.Stderr)
			}
			a, _ := keydir.Dir{Path: kd}.Load(tt.kid)
			b, _ := keydir.Dir{Path: kd2}.Load(tt.kid)
			if a == nil || b == nil || !a.Public().(*rsa.PublicKey).Equal(b.Public()) {
				t.Fatal("the exported key is not the stored key")
			}
			// No overwrite without --force; the file stays as it was.
			before := readFile(t, dst)
			r = runCLI(t, nil, args...)
			if r.Code != 1 || !strings.Contains(r.Stderr, "--force") {
				t.Fatalf("second export: %d %s", r.Code, r.Stderr)
			}
			if string(readFile(t, dst)) != string(before) {
				t.Fatal("the existing file was changed")
			}
			if r = runCLI(t, nil, append(args, "--force")...); r.Code != 0 {
				t.Fatalf("--force: %d %s", r.Code, r.Stderr)
			}
			if string(readFile(t, dst)) == string(before) {
				t.Fatal("--force did not replace the file")
			}
			leftovers, _ := filepath.Glob(filepath.Join(out, ".*tmp-*"))
			if len(leftovers) > 0 {
				t.Fatalf("temporary files left: %v", leftovers)
			}
		})
	}

	t.Run("public JWK", func(t *testing.T) {
		r := runCLI(t, nil, "keys", "export", "--dir", kd, "--kid", f.fingerprint, "--public")
		if r.Code != 0 {
			t.Fatalf("%d %s", r.Code, r.Stderr)
		}
		var members map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &members); err != nil {
			t.Fatal(err)
		}
		var names []string
		for m := range members {
			names = append(names, m)
		}
		sort.Strings(names)
		if strings.Join(names, ",") != "alg,e,kid,kty,n,use" || members["kid"] != f.fingerprint || members["alg"] != "RS512" {
			t.Fatalf("JWK %v", members)
		}
	})
	t.Run("public PEM to a file", func(t *testing.T) {
		dst := filepath.Join(out, "pub.pem")
		r := runCLI(t, nil, "keys", "export", "--dir", kd, "--kid", f.fingerprint, "--public", "--format", "pem", "--out", dst)
		if r.Code != 0 || r.Stdout != "" {
			t.Fatalf("%d %q %s", r.Code, r.Stdout, r.Stderr)
		}
		data := readFile(t, dst)
		b, rest := pem.Decode(data)
		if b == nil || b.Type != "PUBLIC KEY" || len(strings.TrimSpace(string(rest))) != 0 {
			t.Fatalf("not one PUBLIC KEY block: %q", data)
		}
		pub, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		k, err := keydir.Dir{Path: kd}.Load(f.fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		if !k.Public().(*rsa.PublicKey).Equal(pub) {
			t.Fatal("another public key")
		}
	})
	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no kid", []string{"--public"}, 2, "--kid is required"},
		{"unknown kid", []string{"--kid", "nope", "--public"}, 1, "not found"},
		{"neither --pfx nor --public", []string{"--kid", f.fingerprint}, 2, "one of --pfx"},
		{"both", []string{"--kid", f.fingerprint, "--public", "--pfx", filepath.Join(out, "x.pfx")}, 2, "one of --pfx"},
		{"bad format", []string{"--kid", f.fingerprint, "--public", "--format", "der"}, 2, "--format"},
		{"password with --public", []string{"--kid", f.fingerprint, "--public", "--password-file", pw}, 2, "no private key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, append([]string{"keys", "export", "--dir", kd}, tt.args...)...)
			if r.Code != tt.code || !strings.Contains(r.Stderr, tt.msg) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q", r.Code, tt.code, r.Stderr, tt.msg)
			}
		})
	}
}

func TestKeysImportExportHelp(t *testing.T) {
	for _, c := range []string{"import", "export"} {
		r := runCLI(t, nil, "keys", c, "--help")
		if r.Code != 0 || !strings.Contains(r.Stdout, "Usage: pkjwt keys "+c) || !strings.Contains(r.Stdout, "--password-file") {
			t.Fatalf("keys %s --help: %d %s", c, r.Code, r.Stdout)
		}
	}
	r := runCLI(t, nil, "keys", "import", "--help")
	for _, m := range keys.KIDMethods() {
		if !strings.Contains(r.Stdout, m+" = ") {
			t.Errorf("--help does not describe --kid-from %s", m)
		}
	}
}
