package webapp_test

import (
	"os"
	"testing"

	"github.com/pkjwt/pkjwt/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.LockHolderMain() // the other process of TestJWKSNeverWaitsForTheKeyDirectory
	os.Exit(m.Run())
}
