package webapp_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/emulator"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/webapp"
)

// The web app against the emulator, as "pkjwt demo" wires them: the app
// publishes its JWKS, the emulator fetches it to verify the assertion, and
// the System to System Call shows the synthetic patient Jane Smith.
func Example() {
	// NHS England requires 4096-bit keys; 2048 bits keeps the example fast.
	key, err := keys.Generate("RS512", 2048)
	if err != nil {
		log.Fatal(err)
	}
	ring := keys.NewRing(key)

	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		log.Fatal(err)
	}
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()

	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile:  pkjwt.Local(emuSrv.URL),
		ClientID: "exampleApiKey",
		Keys:     ring,
	})
	if err != nil {
		log.Fatal(err)
	}
	app, err := webapp.New(webapp.Config{TokenSource: ts})
	if err != nil {
		log.Fatal(err)
	}
	web := httptest.NewServer(app.Handler())
	defer web.Close()

	// Register the app with the emulator, as one registers it with NHS.
	err = emu.AddApp(emulator.App{Name: "example", APIKey: "exampleApiKey",
		JWKSURL: web.URL + jwks.Path, Scopes: []string{emulator.PDSScope}})
	if err != nil {
		log.Fatal(err)
	}

	resp, err := http.Get(web.URL + "/system-to-system")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	tok, _ := ts.Token() // the cached token the app used
	fmt.Println(resp.Status)
	fmt.Println("shows the patient:", strings.Contains(string(page), "Jane Smith"))
	fmt.Println("shows the token:", strings.Contains(string(page), tok.AccessToken))
	// Output:
	// 200 OK
	// shows the patient: true
	// shows the token: false
}
