package pkjwt_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsNoCloudSDK: the client core (pkjwt, keys, jwks, the
// emulator and the web app) depends on no cloud SDK, so that a program
// that uses only local keys compiles and links none; the cloud backends
// live in keys/awskms, keys/azurekv and jwks/publish.
func TestCoreImportsNoCloudSDK(t *testing.T) {
	core := []string{".", "./keys", "./keys/keydir", "./keys/keyfile", "./jwks", "./emulator", "./webapp"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, core...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list -deps listed only %d packages", len(deps))
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/aws/", "github.com/Azure/", "github.com/pkjwt/pkjwt/keys/awskms", "github.com/pkjwt/pkjwt/keys/azurekv", "github.com/pkjwt/pkjwt/jwks/publish"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("the core depends on %s", d)
			}
		}
	}
}
