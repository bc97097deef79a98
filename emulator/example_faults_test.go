package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/pkjwt/pkjwt/emulator"
)

// Make the PDS API rate limit the next request (429 with Retry-After: 2),
// then recover: the fault clears after one hit. The second request gets
// PDS's ordinary answer to a request without a token.
func ExampleServer_SetFaults() {
	srv, err := emulator.New(emulator.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	err = srv.SetFaults([]emulator.Fault{{
		Kind: emulator.FaultRateLimit, Target: emulator.TargetPDS, RetryAfter: 2 * time.Second, Count: 1,
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < 2; i++ {
		resp, err := http.Get(ts.URL + emulator.PDSBasePath + "/Patient/9000000009")
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	fmt.Println("hits:", srv.FaultHits()[emulator.FaultRateLimit])
	// Output:
	// 429 Retry-After="2"
	// 401 Retry-After=""
	// hits: 1
}
