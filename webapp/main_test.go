package webapp_test

import (
	"os"
	"testing"

	"github.com/pkjwt/pkjwt/internal/testutil/lockholder"
)

func TestMain(m *testing.M) {
	lockholder.Main() // the other process of TestJWKSNeverWaitsForTheKeyDirectory
	os.Exit(m.Run())
}
