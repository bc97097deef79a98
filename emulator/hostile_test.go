package emulator

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Answers of the hostile corpus that the other tests' constants do not
// name (docs/emulator.md's rule table).
const descBodyTooLarge = "Request body too large"

// hostileCase is one bad request: it must get exactly the documented NHS
// error (status, error, error_description), never a token, never a panic.
type hostileCase struct {
	name string
	// cfg changes the emulator's config; setup runs once the emulator
	// and its JWKS server are up (e.g. to serve a hostile JWKS).
	cfg   func(*Config)
	setup func(t *testing.T, e *testEnv, h *hostileWorld)
	// assertion is posted as client_assertion in a valid form; req, if
	// set, builds the whole request instead.
	assertion func(e *testEnv, h *hostileWorld) string
	req       func(e *testEnv, h *hostileWorld) *http.Request
	status    int
	errCode   string
	desc      string
}

// hostileWorld holds what the attacker controls: a key, a certificate and
// a server that must never be contacted.
type hostileWorld struct {
	attackerKey  any // *rsa.PrivateKey
	attackerCert []byte
	ecKey        *ecdsa.PrivateKey
	attacker     *httptest.Server
	attackerHits *atomic.Int64
}

func (h *hostileWorld) url(path string) string { return h.attacker.URL + path }

// rawPost posts body with the given Content-Type and extra headers.
func rawPost(e *testEnv, contentType string, body []byte, hdr map[string]string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, e.tokenURL(), bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// withHeader signs the env's reference claims with extra header members.
func withHeader(kv map[jose.HeaderKey]any, key any) func(e *testEnv, h *hostileWorld) string {
	return func(e *testEnv, h *hostileWorld) string {
		if key == nil {
			key = h.attackerKey
		}
		return e.sign(e.claims(), signOpts{key: key, header: kv})
	}
}

func hostileCases() []hostileCase {
	claimsWith := func(kv ...any) func(e *testEnv, h *hostileWorld) string {
		return func(e *testEnv, h *hostileWorld) string { return e.sign(with(e.claims(), kv...), signOpts{}) }
	}
	const (
		inv = "invalid_request"
		pke = "public_key error"
	)
	cases := []hostileCase{
		// --- the algorithm: only RS512 with the registered key ---
		{name: "alg none", assertion: func(e *testEnv, h *hostileWorld) string {
			return unsignedJWT(map[string]any{"alg": "none", "typ": "JWT", "kid": e.kid}, e.claims())
		}, status: 400, errCode: inv, desc: descAlg},
		{name: "alg None (case)", assertion: func(e *testEnv, h *hostileWorld) string {
			return unsignedJWT(map[string]any{"alg": "None", "typ": "JWT", "kid": e.kid}, e.claims())
		}, status: 400, errCode: inv, desc: descAlg},
		{name: "alg missing", assertion: func(e *testEnv, h *hostileWorld) string {
			return unsignedJWT(map[string]any{"typ": "JWT", "kid": e.kid}, e.claims())
		}, status: 400, errCode: inv, desc: descAlg},
		{name: "alg rs512 (lower case)", assertion: func(e *testEnv, h *hostileWorld) string {
			s := e.sign(e.claims(), signOpts{})
			parts := strings.Split(s, ".")
			return b64(`{"alg":"rs512","typ":"JWT","kid":"`+e.kid+`"}`) + "." + parts[1] + "." + parts[2]
		}, status: 400, errCode: inv, desc: descAlg},
		{name: "HS512 signed with the registered public key as HMAC secret", assertion: func(e *testEnv, h *hostileWorld) string {
			der, err := x509.MarshalPKIXPublicKey(&e.key.PublicKey)
			if err != nil {
				e.t.Fatal(err)
			}
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			return e.sign(e.claims(), signOpts{alg: jose.HS512, key: secret})
		}, status: 400, errCode: inv, desc: descAlg},
		{name: "HS256 signed with the JWK modulus as secret", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{alg: jose.HS256, key: e.key.PublicKey.N.Bytes()})
		}, status: 400, errCode: inv, desc: descAlg},
		{name: "RS256 with the registered key", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{alg: jose.RS256})
		}, status: 400, errCode: inv, desc: descAlg},
		{name: "PS512 with the registered key", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{alg: jose.PS512})
		}, status: 400, errCode: inv, desc: descAlg},
		{name: "ES256", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{alg: jose.ES256, key: h.ecKey})
		}, status: 400, errCode: inv, desc: descAlg},
		{name: "RS512 header, signature stripped", assertion: func(e *testEnv, h *hostileWorld) string {
			s := e.sign(e.claims(), signOpts{})
			return s[:strings.LastIndex(s, ".")+1]
		}, status: 401, errCode: pke, desc: descBadSig},
		{name: "RS512 signed by another key under the registered kid", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{key: h.attackerKey})
		}, status: 401, errCode: pke, desc: descBadSig},
		{name: "payload swapped after signing", assertion: func(e *testEnv, h *hostileWorld) string {
			s := strings.Split(e.sign(e.claims(), signOpts{}), ".")
			other := strings.Split(e.sign(with(e.claims(), "iss", e.apiKey), signOpts{}), ".")
			return s[0] + "." + other[1] + "." + s[2]
		}, status: 401, errCode: pke, desc: descBadSig},

		// --- where the key comes from: only the app's registered JWKS ---
		{name: "kid with ../", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{kid: strp("../../../../etc/passwd")})
		}, status: 401, errCode: inv, desc: descNoKey},
		{name: "kid with ../ to the registered kid", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{kid: strp("x/../" + e.kid)})
		}, status: 401, errCode: inv, desc: descNoKey},
		{name: "kid URL-encoded traversal and NUL", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{kid: strp("%2e%2e%2f" + e.kid + "\x00")})
		}, status: 401, errCode: inv, desc: descNoKey},
		{name: "kid in another case", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{kid: strp(strings.ToUpper(e.kid))})
		}, status: 401, errCode: inv, desc: descNoKey},
		{name: "jku to the attacker's JWKS", assertion: func(e *testEnv, h *hostileWorld) string {
			return withHeader(map[jose.HeaderKey]any{"jku": h.url("/jwks.json")}, nil)(e, h)
		}, status: 401, errCode: pke, desc: descBadSig},
		{name: "jku to the attacker with the attacker's kid", assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{key: h.attackerKey, kid: strp("attacker-kid"),
				header: map[jose.HeaderKey]any{"jku": h.url("/jwks.json")}})
		}, status: 401, errCode: inv, desc: descNoKey},
		{name: "x5u to the attacker's certificate", assertion: func(e *testEnv, h *hostileWorld) string {
			return withHeader(map[jose.HeaderKey]any{"x5u": h.url("/cert.pem")}, nil)(e, h)
		}, status: 401, errCode: pke, desc: descBadSig},
		{name: "jwk header with the attacker's public key", assertion: func(e *testEnv, h *hostileWorld) string {
			jwk := jose.JSONWebKey{Key: publicOf(h.attackerKey), KeyID: e.kid, Algorithm: "RS512"}
			return withHeader(map[jose.HeaderKey]any{"jwk": jwk}, nil)(e, h)
		}, status: 401, errCode: pke, desc: descBadSig},
		{name: "jwk header with a private key", assertion: func(e *testEnv, h *hostileWorld) string {
			jwk := jose.JSONWebKey{Key: h.attackerKey, KeyID: e.kid, Algorithm: "RS512"}
			return withHeader(map[jose.HeaderKey]any{"jwk": jwk}, nil)(e, h)
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "x5c with the attacker's self-signed certificate", assertion: func(e *testEnv, h *hostileWorld) string {
			return withHeader(map[jose.HeaderKey]any{"x5c": []string{base64.StdEncoding.EncodeToString(h.attackerCert)}}, nil)(e, h)
		}, status: 401, errCode: pke, desc: descBadSig},
		{name: "jku, x5u, jwk together, attacker's key", assertion: func(e *testEnv, h *hostileWorld) string {
			return withHeader(map[jose.HeaderKey]any{"jku": h.url("/jwks.json"), "x5u": h.url("/cert.pem"),
				"jwk": jose.JSONWebKey{Key: publicOf(h.attackerKey)}}, nil)(e, h)
		}, status: 401, errCode: pke, desc: descBadSig},

		// --- exp in every shape ---
		{name: "exp as numeric string", assertion: claimsWith("exp", "99999999999"), status: 400, errCode: inv, desc: descExpType},
		{name: "exp as word", assertion: claimsWith("exp", "soon"), status: 400, errCode: inv, desc: descExpType},
		{name: "exp as past string", assertion: claimsWith("exp", "1"), status: 400, errCode: inv, desc: descExpired},
		{name: "exp as past float", assertion: claimsWith("exp", 1.5), status: 400, errCode: inv, desc: descExpired},
		{name: "exp as huge float", assertion: claimsWith("exp", 1e300), status: 400, errCode: inv, desc: descExpFar},
		{name: "exp as huge integer", assertion: rawExp("999999999999999999999999999999"), status: 400, errCode: inv, desc: descExpFar},
		{name: "exp beyond float64", assertion: rawExp("1e400"), status: 400, errCode: inv, desc: descExpFar},
		{name: "exp negative", assertion: claimsWith("exp", -1), status: 400, errCode: inv, desc: descExpired},
		{name: "exp hugely negative", assertion: claimsWith("exp", -1e300), status: 400, errCode: inv, desc: descExpired},
		{name: "exp null", assertion: claimsWith("exp", jsonNull{}), status: 400, errCode: inv, desc: descExpired},
		{name: "exp true", assertion: claimsWith("exp", true), status: 400, errCode: inv, desc: descExpired},
		{name: "exp object", assertion: claimsWith("exp", map[string]any{"n": 1}), status: 400, errCode: inv, desc: descExpType},
		{name: "exp missing", assertion: claimsWith("exp", nil), status: 400, errCode: inv, desc: descNoExp},

		// --- structure ---
		{name: "nested JWS as the payload", assertion: func(e *testEnv, h *hostileWorld) string {
			inner := e.sign(e.claims(), signOpts{})
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS512, Key: e.key},
				(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", e.kid).WithContentType("JWT"))
			if err != nil {
				e.t.Fatal(err)
			}
			obj, err := signer.Sign([]byte(inner))
			if err != nil {
				e.t.Fatal(err)
			}
			s, err := obj.CompactSerialize()
			if err != nil {
				e.t.Fatal(err)
			}
			return s
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "JWE (5 parts)", assertion: func(e *testEnv, h *hostileWorld) string {
			enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: &e.key.PublicKey},
				(&jose.EncrypterOptions{}).WithType("JWT").WithHeader("kid", e.kid))
			if err != nil {
				e.t.Fatal(err)
			}
			c, _ := json.Marshal(e.claims())
			obj, err := enc.Encrypt(c)
			if err != nil {
				e.t.Fatal(err)
			}
			s, err := obj.CompactSerialize()
			if err != nil {
				e.t.Fatal(err)
			}
			return s
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "claims are an array", assertion: func(e *testEnv, h *hostileWorld) string {
			return b64(`{"alg":"RS512","typ":"JWT","kid":"k"}`) + "." + b64(`[1,2]`) + "."
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "claims with trailing data", assertion: func(e *testEnv, h *hostileWorld) string {
			return b64(`{"alg":"RS512","typ":"JWT","kid":"k"}`) + "." + b64(`{"exp":1}{"exp":2}`) + "."
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "10,000 dots", assertion: func(e *testEnv, h *hostileWorld) string {
			return strings.Repeat(".", 10_000)
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "bad base64", assertion: func(e *testEnv, h *hostileWorld) string {
			return "!!!!.????.****"
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "base64 with padding", assertion: func(e *testEnv, h *hostileWorld) string {
			s := strings.Split(e.sign(e.claims(), signOpts{}), ".")
			return s[0] + "==." + s[1] + "." + s[2]
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "standard base64 alphabet", assertion: func(e *testEnv, h *hostileWorld) string {
			return base64.StdEncoding.EncodeToString([]byte(`{"alg":"RS512","typ":"JWT","kid":"k??>"}`)) + "." + b64(`{}`) + "."
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "NUL bytes", assertion: func(e *testEnv, h *hostileWorld) string {
			return "\x00\x00.\x00.\x00"
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "header not JSON", assertion: func(e *testEnv, h *hostileWorld) string {
			return b64(`{"alg":"RS512",`) + "." + b64(`{}`) + "."
		}, status: 400, errCode: inv, desc: descMalformed},
		{name: "1 MB assertion", req: func(e *testEnv, h *hostileWorld) *http.Request {
			a := e.sign(with(e.claims(), "pad", strings.Repeat("A", 1<<20)), signOpts{})
			return rawPost(e, formContentType, []byte(form(a).Encode()), nil)
		}, status: 413, errCode: inv, desc: descBodyTooLarge},
		{name: "10 MB body", req: func(e *testEnv, h *hostileWorld) *http.Request {
			return rawPost(e, formContentType, bytes.Repeat([]byte("a"), 10<<20), nil)
		}, status: 413, errCode: inv, desc: descBodyTooLarge},
		{name: "gzip bomb (Content-Encoding: gzip) is not inflated", req: func(e *testEnv, h *hostileWorld) *http.Request {
			// 1 GiB of zeros in about 1 MB: 1024 gzip members of 1 MiB
			// each (concatenated members are one valid gzip stream).
			var member bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
			_, _ = zw.Write(make([]byte, 1<<20))
			_ = zw.Close()
			return rawPost(e, formContentType, bytes.Repeat(member.Bytes(), 1024), map[string]string{"Content-Encoding": "gzip"})
		}, status: 413, errCode: inv, desc: descBodyTooLarge},
		{name: "small gzip body is read as it is, not inflated", req: func(e *testEnv, h *hostileWorld) *http.Request {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write([]byte(form(e.sign(e.claims(), signOpts{})).Encode()))
			_ = zw.Close()
			return rawPost(e, formContentType, buf.Bytes(), map[string]string{"Content-Encoding": "gzip"})
		}, status: 400, errCode: inv, desc: descGrantMissing},
		{name: "JSON body", req: func(e *testEnv, h *hostileWorld) *http.Request {
			return rawPost(e, "application/json", []byte(`{"grant_type":"client_credentials"}`), nil)
		}, status: 415, errCode: inv, desc: descContentType},
		{name: "60 KB of empty parameters", req: func(e *testEnv, h *hostileWorld) *http.Request {
			return rawPost(e, formContentType, bytes.Repeat([]byte("a=&"), 20_000), nil)
		}, status: 400, errCode: inv, desc: descGrantMissing},
		{name: "grant_type injection", req: func(e *testEnv, h *hostileWorld) *http.Request {
			f := form(e.sign(e.claims(), signOpts{}))
			f.Set("grant_type", "client_credentials\r\nX-Injected: 1")
			return rawPost(e, formContentType, []byte(f.Encode()), nil)
		}, status: 400, errCode: "unsupported_grant_type", desc: descGrantInvalid},

		// --- hostile JWKS answers: the app's JWKS URL is the only source ---
		{name: "JWKS of 10 MB", setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
			big := append([]byte(`{"keys":[],"pad":"`), bytes.Repeat([]byte("A"), 10<<20)...)
			e.jwks.set(func(js *jwksServer) { js.rawBody = append(big, `"}`...) })
		}, assertion: claimsSigned, status: 403, errCode: pke, desc: descJWKSDown},
		{name: "JWKS slower than the fetch timeout", cfg: func(c *Config) { c.JWKSFetchTimeout = 100 * time.Millisecond },
			setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
				e.jwks.set(func(js *jwksServer) { js.delay = time.Second })
			}, assertion: claimsSigned, status: 403, errCode: pke, desc: descJWKSDown},
		{name: "JWKS redirecting to the attacker", setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
			redir := httptest.NewServer(http.RedirectHandler(h.url("/jwks.json"), http.StatusFound))
			t.Cleanup(redir.Close)
			reRegister(t, e, redir.URL+"/.well-known/jwks.json")
		}, assertion: func(e *testEnv, h *hostileWorld) string {
			return e.sign(e.claims(), signOpts{key: h.attackerKey})
		}, status: 403, errCode: pke, desc: descJWKSDown},
		{name: "JWKS redirecting to itself (a loop)", setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
			var loop *httptest.Server
			loop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, loop.URL+r.URL.Path, http.StatusMovedPermanently)
			}))
			t.Cleanup(loop.Close)
			reRegister(t, e, loop.URL+"/.well-known/jwks.json")
		}, assertion: claimsSigned, status: 403, errCode: pke, desc: descJWKSDown},
		{name: "JWKS with a symmetric key under the kid", setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
			e.jwks.set(func(js *jwksServer) {
				js.rawBody = []byte(`{"keys":[{"kty":"oct","kid":"` + e.kid + `","k":"` + b64("secret-secret-secret-secret-secret") + `"}]}`)
			})
		}, assertion: claimsSigned, status: 401, errCode: inv, desc: descNoKey},
		{name: "JWKS with an EC key under the kid", setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
			e.jwks.set(func(js *jwksServer) {
				js.keys = []jose.JSONWebKey{{Key: &h.ecKey.PublicKey, KeyID: e.kid}}
			})
		}, assertion: claimsSigned, status: 401, errCode: inv, desc: descNoKey},
		{name: "JWKS not JSON", setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
			e.jwks.set(func(js *jwksServer) { js.rawBody = []byte("<html>not a jwks</html>") })
		}, assertion: claimsSigned, status: 401, errCode: inv, desc: descNoKey},
		{name: "JWKS answering 500", setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
			e.jwks.set(func(js *jwksServer) { js.status = 500 })
		}, assertion: claimsSigned, status: 403, errCode: pke, desc: descJWKSDown},
		{name: "JWKS URL without a path", setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
			reRegister(t, e, e.jwks.URL)
		}, assertion: claimsSigned, status: 403, errCode: pke, desc: descJWKSDown},
		{name: "JWKS with the attacker's key added under another kid", setup: func(t *testing.T, e *testEnv, h *hostileWorld) {
			e.jwks.addKey("attacker-kid", publicOf(h.attackerKey))
		}, assertion: func(e *testEnv, h *hostileWorld) string {
			// The attacker's key is published, but under its own kid; the
			// assertion names the app's kid: only that key may verify.
			return e.sign(e.claims(), signOpts{key: h.attackerKey})
		}, status: 401, errCode: pke, desc: descBadSig},
	}
	return cases
}

// rawExp is an assertion whose exp is the given JSON number text, which
// json.Marshal could not produce; it is judged (rows 9–18) before any
// signature check, so it carries none.
func rawExp(num string) func(e *testEnv, h *hostileWorld) string {
	return func(e *testEnv, h *hostileWorld) string {
		c, _ := json.Marshal(with(e.claims(), "exp", nil))
		payload := `{"exp":` + num + `,` + string(c[1:])
		return b64(`{"alg":"RS512","typ":"JWT","kid":"`+e.kid+`"}`) + "." + b64(payload) + "."
	}
}

// claimsSigned is a valid assertion: the refusal comes from the JWKS.
func claimsSigned(e *testEnv, h *hostileWorld) string { return e.sign(e.claims(), signOpts{}) }

// reRegister points the env's app at another JWKS URL.
func reRegister(t *testing.T, e *testEnv, jwksURL string) {
	t.Helper()
	if err := e.srv.AddApp(App{Name: "Test App", APIKey: e.apiKey, JWKSURL: jwksURL, Scopes: []string{PDSScope}}); err != nil {
		t.Fatal(err)
	}
}

func publicOf(k any) any {
	if s, ok := k.(crypto.Signer); ok {
		return s.Public()
	}
	return k
}

// TestHostileCorpus: every request of the corpus gets exactly its
// documented NHS error, no token, no panic (a panic in a handler would
// close the connection: the client would see an error, not the answer);
// the attacker's server named in jku/x5u headers and redirects receives no
// request; the emulator's heap stays bounded over the whole corpus.
func TestHostileCorpus(t *testing.T) {
	cases := hostileCases()
	if len(cases) < 40 {
		t.Fatalf("corpus has %d cases, want at least 40", len(cases))
	}
	_, attackerKey := testKeys(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attackerKey.PublicKey, attackerKey)
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &attackerKey.PublicKey, KeyID: "test-1", Algorithm: "RS512", Use: "sig"},
			{Key: &attackerKey.PublicKey, KeyID: "attacker-kid", Algorithm: "RS512", Use: "sig"},
		}})
	}))
	defer attacker.Close()
	h := &hostileWorld{attackerKey: attackerKey, attackerCert: cert, ecKey: ec, attacker: attacker, attackerHits: &hits}

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, c.cfg)
			if c.setup != nil {
				c.setup(t, e, h)
			}
			var req *http.Request
			if c.req != nil {
				req = c.req(e, h)
			} else {
				req = rawPost(e, formContentType, []byte(form(c.assertion(e, h)).Encode()), nil)
			}
			res := e.do(req)
			assertTokenError(t, res, c.status, c.errCode, c.desc)
			if strings.Contains(string(res.body), "access_token") {
				t.Errorf("a token was issued: %s", res.body)
			}
		})
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// A loose sanity bound, not a measurement: the corpus sends about
	// 22 MB of bodies and JWKS; if any of it were kept (or a gzip bomb
	// inflated: 1 GiB) the live heap would grow by far more than this.
	const maxGrowth = 64 << 20
	if growth := int64(after.HeapInuse) - int64(before.HeapInuse); growth > maxGrowth {
		t.Errorf("heap in use grew by %d MiB over the corpus, bound %d MiB", growth>>20, maxGrowth>>20)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the attacker's server received %d requests, want none", n)
	}
}
