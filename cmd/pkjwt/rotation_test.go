package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
)

// TestRotationWithoutFailedRequest rotates the signing key of a running
// 'pkjwt serve' the way NHS's one-hour JWKS cache demands — publish the new
// key as pending, wait out the relying party's cache, activate it, retire
// the old one — while System to System Calls run back to back, and checks
// that not one call failed and that the new key took over. The emulator's
// JWKS cache is 3 s here instead of NHS's hour, and its tokens live 2 s so
// that assertions are signed all through the rotation.
func TestRotationWithoutFailedRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 15 s")
	}
	dir := filepath.Join(t.TempDir(), "keys")
	gen := func(args ...string) string {
		r := runCLI(t, nil, append([]string{"keys", "generate", "--dir", dir, "--bits", "2048"}, args...)...)
		if r.Code != 0 {
			t.Fatalf("keys generate: %v", r)
		}
		return strings.TrimSpace(r.Stdout)
	}
	kidA := gen()

	emu, err := emulator.New(emulator.Config{JWKSCacheTTL: 3 * time.Second, TokenLifetime: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()

	p, web := startServer(t, "serve", "--key-reload", "100ms", "--dir", dir,
		"--profile", "local", "--token-url", emuSrv.URL+"/oauth2/token", "--client-id", "rotation-app")
	if err := emu.AddApp(emulator.App{Name: "rotation", APIKey: "rotation-app", JWKSURL: web + jwks.Path, Scopes: []string{emulator.PDSScope}}); err != nil {
		t.Fatal(err)
	}

	kidRE := regexp.MustCompile(`<code id="token-kid">([A-Za-z0-9_-]{43})</code>`)
	var mu sync.Mutex
	var failures []string
	var kids []string
	calls := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get(web + "/system-to-system")
			var body []byte
			if err == nil {
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			mu.Lock()
			calls++
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case resp.StatusCode != 200 || !strings.Contains(string(body), "Jane"):
				failures = append(failures, resp.Status+": "+excerpt(string(body)))
			default:
				if m := kidRE.FindStringSubmatch(string(body)); m != nil && (len(kids) == 0 || kids[len(kids)-1] != m[1]) {
					kids = append(kids, m[1])
				}
			}
			mu.Unlock()
			time.Sleep(30 * time.Millisecond)
		}
	}()

	time.Sleep(time.Second)
	kidB := gen("--state", "pending") // 1. publish the new key; it does not sign yet
	// 2. The relying party's JWKS cache (3 s) runs out and it fetches the
	// JWKS with kidB, whose first serving the web app records; wait out the
	// lead (3.5 s, longer than that cache) from then.
	time.Sleep(7500 * time.Millisecond)
	// The web app recorded when it first served kidB; the guard counts
	// the lead from then.
	if r := runCLI(t, nil, "keys", "activate", "--dir", dir, "--kid", kidB, "--lead", "3500ms"); r.Code != 0 {
		t.Fatalf("activate: %v", r)
	}
	time.Sleep(2500 * time.Millisecond) // 3. the new key signs from the next token fetch; the old one is retired
	if r := runCLI(t, nil, "keys", "remove", "--dir", dir, "--kid", kidA, "--grace", "2s"); r.Code != 0 {
		t.Fatalf("remove: %v", r) // 4. the old key leaves the JWKS after its grace
	}
	time.Sleep(2 * time.Second)
	close(stop)
	<-done

	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d of %d calls failed during the rotation; first: %s\nserve's log:\n%s", len(failures), calls, failures[0], p.Stderr)
	}
	if len(kids) < 2 || kids[0] != kidA || kids[len(kids)-1] != kidB {
		t.Fatalf("signing kids seen in order %v; want %s then %s", kids, kidA, kidB)
	}
	resp, err := http.Get(web + jwks.Path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), kidA) || !strings.Contains(string(b), kidB) {
		t.Fatalf("JWKS after the rotation: %s", b)
	}
	t.Logf("%d calls, all 200; signing kids in order: %v", calls, kids)
}

func excerpt(s string) string {
	if len(s) > 300 {
		return s[:300]
	}
	return s
}
