package pkjwt_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pkjwt/pkjwt/keys"
)

// testKey returns a 2048-bit RS512 key, made once per test binary (the
// 4096-bit default is exercised by the CLI and benchmark tests).
var testKey = sync.OnceValue(func() *keys.Key {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	k, err := keys.New(priv, "RS512", time.Now())
	if err != nil {
		panic(err)
	}
	return k
})

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// seenAssertion is what the test token endpoint recorded of one request.
type seenAssertion struct {
	Header map[string]any
	Claims map[string]any
	JTI    string
	Err    string // why the endpoint rejected it, "" if it verified
}

// tokenServer is an independent token endpoint for tests: it verifies every
// assertion with go-jose and the public key alone, checks every claim and
// the form, and answers with reply (or a 200 NHS-style token).
type tokenServer struct {
	*httptest.Server
	t        testing.TB
	pub      *rsa.PublicKey
	clientID string
	lifetime time.Duration
	requests atomic.Int64
	mu       sync.Mutex
	seen     []seenAssertion
	jtis     map[string]bool
	reply    func(n int64, w http.ResponseWriter) // nil: success
	now      func() time.Time                     // the server's clock
	// wantHeader and wantClaims are the extra header members and claims
	// every assertion must carry, exactly (nil: none).
	wantHeader map[string]any
	wantClaims map[string]any
}

// sameJSON reports whether a and b encode to the same JSON.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func newTokenServer(t testing.TB, k *keys.Key, clientID string) *tokenServer {
	ts := &tokenServer{t: t, pub: k.Public().(*rsa.PublicKey), clientID: clientID, lifetime: 3 * time.Minute, jtis: map[string]bool{}, now: time.Now}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) tokenURL() string { return ts.URL + "/oauth2/token" }

func (ts *tokenServer) record(s seenAssertion) {
	ts.mu.Lock()
	ts.seen = append(ts.seen, s)
	ts.mu.Unlock()
}

func (ts *tokenServer) assertions() []seenAssertion {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]seenAssertion(nil), ts.seen...)
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	n := ts.requests.Add(1)
	s := seenAssertion{}
	if err := ts.verify(r, &s); err != nil {
		s.Err = err.Error()
		ts.record(s)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":%q}`, err.Error())
		return
	}
	ts.record(s)
	if ts.reply != nil {
		ts.reply(n, w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":"599","token_type":"Bearer","issued_at":"%d"}`, n, time.Now().UnixMilli())
}

func (ts *tokenServer) verify(r *http.Request, s *seenAssertion) error {
	if r.Method != http.MethodPost {
		return fmt.Errorf("method %s", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		return fmt.Errorf("content type %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		return err
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		return fmt.Errorf("grant_type %q", g)
	}
	if g := r.PostForm.Get("client_assertion_type"); g != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return fmt.Errorf("client_assertion_type %q", g)
	}
	raw := r.PostForm.Get("client_assertion")
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("assertion has %d parts", len(parts))
	}
	// Read the header and claims as raw JSON too, to check their types.
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(hb, &s.Header)
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(cb, &s.Claims)

	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS512})
	if err != nil {
		return fmt.Errorf("parse: %v", err)
	}
	var c jwt.Claims
	if err := tok.Claims(ts.pub, &c); err != nil {
		return fmt.Errorf("signature: %v", err)
	}
	if s.Header["typ"] != "JWT" {
		return fmt.Errorf("typ %v", s.Header["typ"])
	}
	if s.Header["alg"] != "RS512" {
		return fmt.Errorf("alg %v", s.Header["alg"])
	}
	kid, _ := keys.Thumbprint(ts.pub)
	if s.Header["kid"] != kid {
		return fmt.Errorf("kid %v, want %s", s.Header["kid"], kid)
	}
	if len(s.Header) != 3+len(ts.wantHeader) {
		return fmt.Errorf("header has %d members, want %d: %v", len(s.Header), 3+len(ts.wantHeader), s.Header)
	}
	for k, v := range ts.wantHeader {
		if !sameJSON(s.Header[k], v) {
			return fmt.Errorf("header %s = %v, want %v", k, s.Header[k], v)
		}
	}
	if c.Issuer != ts.clientID || c.Subject != ts.clientID {
		return fmt.Errorf("iss %q sub %q", c.Issuer, c.Subject)
	}
	// aud must be the token URL as one exact string, not an array.
	if aud, ok := s.Claims["aud"].(string); !ok || aud != ts.tokenURL() {
		return fmt.Errorf("aud %#v, want %q", s.Claims["aud"], ts.tokenURL())
	}
	if !uuidV4.MatchString(c.ID) {
		return fmt.Errorf("jti %q is not a UUIDv4", c.ID)
	}
	s.JTI = c.ID
	ts.mu.Lock()
	dup := ts.jtis[c.ID]
	ts.jtis[c.ID] = true
	ts.mu.Unlock()
	if dup {
		return fmt.Errorf("jti %s reused", c.ID)
	}
	if c.Expiry == nil || c.IssuedAt == nil {
		return fmt.Errorf("exp or iat missing")
	}
	if life := c.Expiry.Time().Sub(c.IssuedAt.Time()); life != ts.lifetime {
		return fmt.Errorf("exp - iat = %s, want %s", life, ts.lifetime)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Time: ts.now()}, time.Second); err != nil {
		return fmt.Errorf("time claims: %v", err)
	}
	for k := range s.Claims {
		switch k {
		case "iss", "sub", "aud", "jti", "iat", "exp":
		default:
			if want, ok := ts.wantClaims[k]; !ok || !sameJSON(s.Claims[k], want) {
				return fmt.Errorf("unexpected claim %q = %v", k, s.Claims[k])
			}
		}
	}
	for k := range ts.wantClaims {
		if _, ok := s.Claims[k]; !ok {
			return fmt.Errorf("claim %q missing", k)
		}
	}
	return nil
}
