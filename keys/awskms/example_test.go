package awskms_test

import (
	"context"
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

func ExampleParseRef() {
	for _, s := range []string{
		"awskms:///alias/pkjwt?region=eu-west-2",
		"awskms:///arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"awskms:///alias/pkjwt?endpoint=http://kms.example.org",
	} {
		r, err := awskms.ParseRef(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("key %s, region %s\n", r.KeyID, r.Region)
	}
	// Output:
	// key alias/pkjwt, region eu-west-2
	// key arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, region eu-west-2
	// error: awskms: bad key reference "awskms:///alias/pkjwt?endpoint=http://kms.example.org": endpoint "http://kms.example.org": plain http is allowed to a loopback address only; use https
}
