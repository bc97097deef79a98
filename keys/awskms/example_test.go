package awskms_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/awskms"
)

// Open a KMS key by alias and get NHS INT tokens with it. The credentials
// come from the AWS SDK's default chain. (Not run: it needs AWS; the tests
// run the same steps against local-kms.)
func ExampleBackend_Open() {
	ctx := context.Background()
	signer, err := awskms.New().Open(ctx, "awskms:///alias/pkjwt?region=eu-west-2")
	if err != nil {
		fmt.Println(err) // errors.Is(err, keys.ErrPermissionDenied), keys.ErrNotFound, ...
		return
	}
	key, err := keys.New(signer, "RS512", time.Now()) // kid: the RFC 7638 thumbprint
	if err != nil {
		fmt.Println(err)
		return
	}
	ts, err := pkjwt.NewTokenSource(pkjwt.Config{
		Profile:  pkjwt.NHSInt(),
		ClientID: "YOUR-API-KEY",
		Keys:     key,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := ts.TokenContext(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pkjwt.Info(tok).KeyID)
}

// A reference is checked before any call to AWS: a malformed one is an
// error matching ErrBadRef, saying what is wrong.
func ExampleBackend_Open_badReference() {
	b := awskms.New()
	for _, ref := range []string{
		"awskms:///alias/pkjwt?endpoint=http://kms.example.org",
		"awskms://alias/pkjwt?region=eu-west-2",
		"awskms:///alias/pkjwt?region=eu-west-2&profile=prod",
	} {
		_, err := b.Open(context.Background(), ref)
		fmt.Println(errors.Is(err, awskms.ErrBadRef), err)
	}
	// Output:
	// true awskms: bad key reference "awskms:///alias/pkjwt?endpoint=http://kms.example.org": endpoint "http://kms.example.org": plain http is allowed to a loopback address only; use https
	// true awskms: bad key reference "awskms://alias/pkjwt?region=eu-west-2": no host allowed: write awskms:///KEY (three slashes)
	// true awskms: bad key reference "awskms:///alias/pkjwt?region=eu-west-2&profile=prod": unknown parameter "profile" (only region and endpoint)
}
