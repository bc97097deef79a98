package awskms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pkjwt/pkjwt/keys/awskms"
)

const (
	testKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
	testARN   = "arn:aws:kms:eu-west-2:111122223333:key/" + testKeyID
)

func TestParseRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref       string
		want      awskms.Ref
		canonical string // "" means ref itself
	}{
		{ref: "awskms:///alias/pkjwt?region=eu-west-2", want: awskms.Ref{KeyID: "alias/pkjwt", Region: "eu-west-2"}},
		{ref: "awskms:///alias/team/pkjwt_signing-1", want: awskms.Ref{KeyID: "alias/team/pkjwt_signing-1"}},
		{ref: "awskms:///" + testKeyID + "?region=us-east-1", want: awskms.Ref{KeyID: testKeyID, Region: "us-east-1"}},
		{ref: "awskms:///mrk-1234abcd12ab34cd56ef1234567890ab?region=eu-west-2", want: awskms.Ref{KeyID: "mrk-1234abcd12ab34cd56ef1234567890ab", Region: "eu-west-2"}},
		{ref: "awskms:///" + testARN, want: awskms.Ref{KeyID: testARN, Region: "eu-west-2"}},
		{ref: "awskms:///" + testARN + "?region=eu-west-2", want: awskms.Ref{KeyID: testARN, Region: "eu-west-2"}, canonical: "awskms:///" + testARN},
		{ref: "awskms:///arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/pkjwt", want: awskms.Ref{KeyID: "arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/pkjwt", Region: "us-gov-west-1"}},
		{
			ref:       "awskms:///alias/pkjwt?endpoint=http://127.0.0.1:4566&region=eu-west-2",
			want:      awskms.Ref{KeyID: "alias/pkjwt", Region: "eu-west-2", Endpoint: "http://127.0.0.1:4566"},
			canonical: "awskms:///alias/pkjwt?region=eu-west-2&endpoint=http%3A%2F%2F127.0.0.1%3A4566",
		},
		{
			ref:  "awskms:///alias/pkjwt?region=eu-west-2&endpoint=https%3A%2F%2Fvpce-0abc-xyz.kms.eu-west-2.vpce.amazonaws.com",
			want: awskms.Ref{KeyID: "alias/pkjwt", Region: "eu-west-2", Endpoint: "https://vpce-0abc-xyz.kms.eu-west-2.vpce.amazonaws.com"},
		},
		{
			ref:       "awskms:///alias/pkjwt?endpoint=http://localhost:8080/",
			want:      awskms.Ref{KeyID: "alias/pkjwt", Endpoint: "http://localhost:8080"},
			canonical: "awskms:///alias/pkjwt?endpoint=http%3A%2F%2Flocalhost%3A8080",
		},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := awskms.ParseRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			want := tt.canonical
			if want == "" {
				want = tt.ref
			}
			if got.String() != want {
				t.Fatalf("String() = %q, want %q", got.String(), want)
			}
			again, err := awskms.ParseRef(got.String())
			if err != nil || again != got {
				t.Fatalf("String() does not parse back: %+v, %v", again, err)
			}
		})
	}
}

func TestParseRefRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ ref, says string }{
		{"", "scheme"},
		{"alias/pkjwt", "scheme"},
		{"azurekv://vault/keys/k", "scheme"},
		{"AWSKMS:///alias/pkjwt", "scheme"},
		{"awskms://alias/pkjwt", "no host"},
		{"awskms://eu-west-2/alias/pkjwt", "no host"},
		{"awskms://user@/alias/pkjwt", "no host"},
		{"awskms:alias/pkjwt", "three slashes"},
		{"awskms:/alias/pkjwt", "three slashes"},
		{"awskms:////alias/pkjwt", "is not alias/NAME"},
		{"awskms:///", "no key"},
		{"awskms:///?region=eu-west-2", "no key"},
		{"awskms:///alias/pkjwt#frag", "fragment"},
		{"awskms:///alias/pkjwt?region=eu-west-2&region=eu-west-1", "2 times"},
		{"awskms:///alias/pkjwt?regoin=eu-west-2", "unknown parameter"},
		{"awskms:///alias/pkjwt?profile=prod", "unknown parameter"},
		{"awskms:///alias/pkjwt?region=EU-WEST-2", "not an AWS Region"},
		{"awskms:///alias/pkjwt?region=eu-west-2;x", "query"},
		{"awskms:///alias/pkjwt?region=", "not an AWS Region"},
		{"awskms:///alias/", "alias/ then"},
		{"awskms:///alias/has space", "alias/ then"},
		{"awskms:///alias/" + strings.Repeat("a", 251), "alias/ then"},
		{"awskms:///key/" + testKeyID, "is not alias/NAME"},
		{"awskms:///1234ABCD-12AB-34CD-56EF-1234567890AB", "is not alias/NAME"},
		{"awskms:///1234abcd-12ab-34cd-56ef-1234567890a", "is not alias/NAME"},
		{"awskms:///pkjwt", "is not alias/NAME"},
		{"awskms:///arn:aws:kms:eu-west-2:111122223333:key/nope", "ARN resource"},
		{"awskms:///arn:aws:s3:eu-west-2:111122223333:key/" + testKeyID, "not a KMS ARN"},
		{"awskms:///arn:aws:kms:eu-west-2:1111:key/" + testKeyID, "12 digits"},
		{"awskms:///arn:aws:kms::111122223333:key/" + testKeyID, "ARN region"},
		{"awskms:///arn:evil:kms:eu-west-2:111122223333:key/" + testKeyID, "partition"},
		{"awskms:///" + testARN + "?region=eu-west-1", "differs from the ARN's region"},
		{"awskms:///alias/pkjwt?endpoint=http://kms.example.org", "loopback"},
		{"awskms:///alias/pkjwt?endpoint=http://10.0.0.1:4566", "loopback"},
		{"awskms:///alias/pkjwt?endpoint=ftp://127.0.0.1", "scheme must be https"},
		{"awskms:///alias/pkjwt?endpoint=https://kms.example.org/path", "host[:port] only"},
		{"awskms:///alias/pkjwt?endpoint=https://u:p@kms.example.org", "host[:port] only"},
		{"awskms:///alias/pkjwt?endpoint=127.0.0.1:4566", "endpoint"},
		{"awskms:///alias/pkjwt?endpoint=", "host[:port] only"},
		{"awskms:///alias/" + strings.Repeat("a", 5000), "bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r, err := awskms.ParseRef(tt.ref)
			if err == nil {
				t.Fatalf("accepted as %+v", r)
			}
			if !errors.Is(err, awskms.ErrBadRef) {
				t.Fatalf("error %v does not match ErrBadRef", err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %q does not say %q", err, tt.says)
			}
		})
	}
}

func TestParseTemplate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ref  string
		want awskms.Ref
		ok   bool
	}{
		{"awskms:///?region=eu-west-2", awskms.Ref{Region: "eu-west-2"}, true},
		{"awskms:///?region=eu-west-2&endpoint=http://127.0.0.1:1", awskms.Ref{Region: "eu-west-2", Endpoint: "http://127.0.0.1:1"}, true},
		{"awskms:", awskms.Ref{}, true},
		{"awskms:///", awskms.Ref{}, true},
		{"awskms:///alias/pkjwt?region=eu-west-2", awskms.Ref{}, false},
		{"awskms:///?region=eu-west-2&tag=x", awskms.Ref{}, false},
	} {
		got, err := awskms.ParseTemplate(tt.ref)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseTemplate(%q) = %+v, %v", tt.ref, got, err)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"awskms:///alias/pkjwt?region=eu-west-2", "awskms:///" + testARN, "awskms:///?endpoint=http://127.0.0.1:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := awskms.ParseRef(s)
		if err != nil {
			return
		}
		again, err := awskms.ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("%q parsed as %+v, whose String %q parses as %+v, %v", s, r, r.String(), again, err)
		}
	})
}
