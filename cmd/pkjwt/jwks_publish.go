package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pkjwt/pkjwt/internal/textsafe"
	"github.com/pkjwt/pkjwt/jwks"
	"github.com/pkjwt/pkjwt/jwks/publish"
	"github.com/pkjwt/pkjwt/jwks/publish/azblob"
	"github.com/pkjwt/pkjwt/jwks/publish/s3"
)

// publishScheme is one kind of 'jwks publish' destination: its URL scheme,
// the form shown in help, and the store package that opens it.
type publishScheme struct {
	name, form string
	open       func(e *env, to string) (publish.Destination, error)
}

// publishSchemes is the table of destinations, one store package each.
func publishSchemes() []publishScheme {
	return []publishScheme{
		{"file", "file:///abs/path.json or file:relative/path.json",
			func(_ *env, to string) (publish.Destination, error) { return publish.OpenFile(to) }},
		{"azblob", "azblob://ACCOUNT/CONTAINER/PATH[?endpoint=URL]",
			func(e *env, to string) (publish.Destination, error) {
				return azblob.Open(to, azblob.Options{Getenv: e.getenv})
			}},
		{"s3", "s3://BUCKET/KEY[?region=R&endpoint=URL&path-style=true]",
			func(_ *env, to string) (publish.Destination, error) { return s3.Open(to, s3.Options{}) }},
	}
}

// publishForms lists the destination forms, one per scheme.
func publishForms() []string {
	var out []string
	for _, sc := range publishSchemes() {
		out = append(out, sc.form)
	}
	return out
}

// openDestination picks the store by to's scheme.
func openDestination(e *env, to string) (publish.Destination, error) {
	scheme, _, _ := strings.Cut(to, ":")
	for _, sc := range publishSchemes() {
		if scheme == sc.name {
			return sc.open(e, to)
		}
	}
	return publish.Destination{}, fmt.Errorf("%w: %q: scheme must be one of: %s", publish.ErrDestination, scheme, strings.Join(publishForms(), ", "))
}

func cmdJWKSPublish() *command {
	return &command{
		name:    "jwks publish",
		args:    "--to URL [flags]",
		summary: "publish the JWKS as a static file (file, Azure Blob, S3), verify it, record when each key was first published",
		detail: `Builds the JWKS of DIR (the bytes 'pkjwt jwks' prints), uploads it to URL with
Content-Type application/json and --cache-control, reads it back and compares
the bytes and headers, and only then records the publication time of each key
in DIR that had none. NHS England caches a JWKS for an hour and does not
refetch it for an unknown kid: 'pkjwt keys activate' and 'pkjwt keys rotate'
use that time to make a key sign only once relying parties can know it.

URL is one of:
  ` + strings.Join(publishForms(), "\n  ") + `
A file is written atomically with mode 0644. For azblob, credentials come from
AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential (environment,
managed identity, Azure CLI); endpoint= points at Azurite or a private endpoint.
For s3, the AWS default credential chain; region=, endpoint= and path-style=true
serve S3-compatible stores. The container or bucket must exist.

Refused before anything is uploaded: an empty key directory (never publish
an empty set) and any key with a member beyond the public ones.`,
		examples: `# What would be published, uploading nothing
pkjwt jwks publish --to file:public/jwks.json --dry-run

# A local file, e.g. under a web server's document root
pkjwt jwks publish --to file:public/jwks.json

# S3, or Azure Blob Storage
pkjwt jwks publish --to 's3://BUCKET/.well-known/jwks.json?region=eu-west-2'
pkjwt jwks publish --to azblob://ACCOUNT/CONTAINER/.well-known/jwks.json`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			to := fs.String("to", "", "destination URL (file:, azblob://, s3://); required")
			cacheControl := fs.String("cache-control", publish.DefaultCacheControl, "Cache-Control header of the published object")
			dryRun := fs.Bool("dry-run", false, "check the keys and the destination, print what would be published; upload and record nothing")
			asJSON := fs.Bool("json", false, "print the result as JSON")
			timeout := fs.Duration("timeout", 2*time.Minute, "timeout of the upload and read-back")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			if *to == "" {
				return usagef("--to is required (%s)", strings.Join(publishForms(), ", "))
			}
			if *timeout <= 0 {
				return usagef("--timeout must be positive")
			}
			d := changeDir(e, fs, *dir)
			ring, err := d.LoadRing()
			if err != nil {
				return err
			}
			if ring.Len() == 0 {
				return fmt.Errorf("refusing to publish an empty JWKS (every assertion would fail): %w", noKeys(*dir))
			}
			body, err := jwks.MarshalRing(ring)
			if err != nil {
				return err
			}
			dest, err := openDestination(e, *to)
			if err != nil {
				return usagef("%s: %v", origin(fs, "to"), err)
			}
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			res, err := publish.Publish(ctx, dest, body, publish.Options{
				CacheControl: *cacheControl,
				DryRun:       *dryRun,
			})
			if errors.Is(err, publish.ErrDestination) {
				return usagef("%s: %v", origin(fs, "to"), err)
			}
			if err != nil {
				return err
			}
			var marked []string
			var markErr error
			if !*dryRun {
				marked, markErr = d.MarkPublished(ctx, res.KIDs, res.At)
			}
			if err := printPublished(e, res, marked, *dryRun, *asJSON); err != nil {
				return err
			}
			if markErr != nil {
				return fmt.Errorf("the JWKS is published at %s, but its publication time was not recorded in %s (run the command again): %w", res.URL, *dir, markErr)
			}
			return nil
		},
	}
}

// publishedReport is the --json output of 'jwks publish'.
type publishedReport struct {
	URL          string     `json:"url"`
	DryRun       bool       `json:"dry_run"`
	Verified     bool       `json:"verified"`
	KIDs         []string   `json:"kids"`
	Bytes        int        `json:"bytes"`
	SHA256       string     `json:"sha256"`
	ContentType  string     `json:"content_type"`
	CacheControl string     `json:"cache_control"`
	VerifiedAt   *time.Time `json:"verified_at,omitempty"`
	// FirstPublished are the kids whose publication time this run recorded.
	FirstPublished []string `json:"first_published"`
}

func printPublished(e *env, res publish.Result, marked []string, dryRun, asJSON bool) error {
	if marked == nil {
		marked = []string{}
	}
	if asJSON {
		r := publishedReport{URL: res.URL, DryRun: dryRun, Verified: res.Verified, KIDs: res.KIDs, Bytes: res.Bytes,
			SHA256: res.SHA256, ContentType: res.ContentType, CacheControl: res.CacheControl, VerifiedAt: timePtr(res.At),
			FirstPublished: marked}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	var b strings.Builder
	if dryRun {
		fmt.Fprintf(&b, "dry run: would publish %s (nothing uploaded, nothing recorded)\n", res.URL)
	} else {
		fmt.Fprintf(&b, "published %s (read back and verified)\n", res.URL)
	}
	fmt.Fprintf(&b, "  kids:          %s\n", strings.Join(res.KIDs, " "))
	fmt.Fprintf(&b, "  bytes:         %d\n", res.Bytes)
	fmt.Fprintf(&b, "  sha256:        %s\n", res.SHA256)
	fmt.Fprintf(&b, "  content-type:  %s\n", res.ContentType)
	fmt.Fprintf(&b, "  cache-control: %s\n", res.CacheControl)
	if !dryRun {
		fmt.Fprintf(&b, "  published at:  %s\n", res.At.Format(time.RFC3339))
		first := "none (every key was already published)"
		if len(marked) > 0 {
			first = strings.Join(marked, " ")
		}
		fmt.Fprintf(&b, "  first published now: %s\n", first)
	}
	_, err := io.WriteString(e.stdout, textsafe.EscapeLines(b.String()))
	return err
}
