package jwks_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
)

// publicOnly is a crypto.Signer that has only a public key, as a remote
// key would; it lets the golden test use a committed public key.
type publicOnly struct{ pub crypto.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }
func (p publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("no private key")
}

func goldenKey(t *testing.T) *keys.Key {
	t.Helper()
	data, err := os.ReadFile("testdata/rsa4096-public.pem")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := keys.Thumbprint(pub)
	return &keys.Key{ID: kid, Algorithm: "RS512", Signer: publicOnly{pub}, State: keys.StateActive}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestGolden(t *testing.T) {
	got, err := jwks.Marshal([]*keys.Key{goldenKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("testdata/rsa4096.jwks.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/rsa4096.jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("JWKS bytes changed:\n got %s\nwant %s", got, want)
	}
}

// TestNoPrivateMembers feeds a real private key and proves that only the
// six public members come out.
func TestNoPrivateMembers(t *testing.T) {
	cases := []struct {
		alg  string
		bits int
		want []string
	}{
		{"RS512", 2048, []string{"alg", "e", "kid", "kty", "n", "use"}},
		{"PS256", 2048, []string{"alg", "e", "kid", "kty", "n", "use"}},
		{"ES256", 0, []string{"alg", "crv", "kid", "kty", "use", "x", "y"}},
	}
	for _, tc := range cases {
		t.Run(tc.alg, func(t *testing.T) {
			k, err := keys.Generate(tc.alg, tc.bits)
			if err != nil {
				t.Fatal(err)
			}
			if tc.alg == "RS512" {
				if _, ok := k.Signer.(*rsa.PrivateKey); !ok {
					t.Fatal("test needs a private key as signer")
				}
			}
			b, err := jwks.Marshal([]*keys.Key{k})
			if err != nil {
				t.Fatal(err)
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&set); err != nil || len(set.Keys) != 1 {
				t.Fatalf("%s: %v", b, err)
			}
			var got []string
			for m := range set.Keys[0] {
				got = append(got, m)
			}
			if strings.Join(sorted(got), ",") != strings.Join(tc.want, ",") {
				t.Fatalf("members %v, want %v", sorted(got), tc.want)
			}
			for _, priv := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`, `"oth"`, `"k"`} {
				if strings.Contains(string(b), priv) {
					t.Fatalf("private member %s in %s", priv, b)
				}
			}
			if set.Keys[0]["kid"] != k.ID || set.Keys[0]["use"] != "sig" || set.Keys[0]["alg"] != tc.alg {
				t.Fatalf("%v", set.Keys[0])
			}
		})
	}
}

func sorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestMarshalRejectsDuplicates(t *testing.T) {
	k := goldenKey(t)
	if _, err := jwks.Marshal([]*keys.Key{k, k}); err == nil {
		t.Fatal("duplicate kid accepted")
	}
	if b, err := jwks.Marshal(nil); err != nil || string(b) != "{\"keys\":[]}\n" {
		t.Fatalf("empty set: %s %v", b, err)
	}
}

func TestHandler(t *testing.T) {
	k := goldenKey(t)
	h, err := jwks.NewHandler([]*keys.Key{k}, jwks.WithMaxAge(90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	body, etag := h.Document()
	do := func(method string, hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+jwks.Path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	cases := []struct {
		name      string
		method    string
		hdr       map[string]string
		status    int
		body      string
		checkHdrs bool
	}{
		{"get", "GET", nil, 200, string(body), true},
		{"head", "HEAD", nil, 200, "", true},
		{"if-none-match", "GET", map[string]string{"If-None-Match": etag}, 304, "", false},
		{"weak if-none-match", "GET", map[string]string{"If-None-Match": `"x", W/` + etag}, 304, "", false},
		{"stale if-none-match", "GET", map[string]string{"If-None-Match": `"old"`}, 200, string(body), true},
		{"post", "POST", nil, 405, "method not allowed\n", false},
		{"delete", "DELETE", nil, 405, "method not allowed\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(tc.method, tc.hdr)
			if resp.StatusCode != tc.status || b != tc.body {
				t.Fatalf("%d %q", resp.StatusCode, b)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Fatalf("Allow %q", resp.Header.Get("Allow"))
			}
			if tc.checkHdrs {
				if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("ETag") != etag ||
					resp.Header.Get("Cache-Control") != "public, max-age=90" || resp.ContentLength != int64(len(body)) {
					t.Fatalf("headers %v", resp.Header)
				}
			}
		})
	}
	k2, _ := keys.Generate("ES256", 0)
	if err := h.Update([]*keys.Key{k2, k}); err != nil {
		t.Fatal(err)
	}
	resp, b := do("GET", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 200 || !strings.Contains(b, k2.ID) || resp.Header.Get("ETag") == etag {
		t.Fatalf("after Update: %d %s", resp.StatusCode, b)
	}
}

// TestHandlerNeverServesAnEmptySet: with no key, the JWKS endpoint answers
// 503 with no-store, so that no relying party caches an empty set (NHS
// England would keep it for an hour); once a key is back it serves 200.
func TestHandlerNeverServesAnEmptySet(t *testing.T) {
	h, err := jwks.NewHandler(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, method := range []string{"GET", "HEAD"} {
		req, _ := http.NewRequest(method, srv.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("ETag") != "" {
			t.Fatalf("%s of an empty set: %d %v", method, resp.StatusCode, resp.Header)
		}
		if strings.Contains(string(b), `"keys"`) {
			t.Fatalf("%s of an empty set served a key set: %s", method, b)
		}
	}
	k := goldenKey(t)
	if err := h.Update([]*keys.Key{k}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "public") {
		t.Fatalf("after a key came back: %d %v", resp.StatusCode, resp.Header)
	}
}
