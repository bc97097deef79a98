package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/pkjwt/pkjwt/keys"
)

// keyListing is the JSON form of one key in "keys list --json".
type keyListing struct {
	KID          string     `json:"kid"`
	Algorithm    string     `json:"alg"`
	Bits         int        `json:"bits"`
	State        keys.State `json:"state"`
	Created      time.Time  `json:"created"`
	AgeSeconds   int64      `json:"age_seconds"`
	Published    *time.Time `json:"published,omitempty"`
	StateChanged *time.Time `json:"state_changed,omitempty"`
	Signed       *time.Time `json:"signed,omitempty"`
	NotBefore    *time.Time `json:"not_before,omitempty"`
	Ref          string     `json:"ref,omitempty"`
	Signing      bool       `json:"signing"`
}

func cmdKeysList() *command {
	return &command{
		name:    "keys list",
		args:    "[flags]",
		summary: "list the keys in a key directory: state, age, publication, which one signs",
		detail: `Lists every key, newest first, with its state (pending, active, retired), its
age, when it was first published (by 'pkjwt jwks publish' or the first time the
web app's JWKS endpoint served it), where its private half lives (a file, or a
key service reference) and whether it is the one that signs now.`,
		examples: `# The keys of ./.pkjwt/keys, newest first
pkjwt keys list

# The same as JSON, for a script
pkjwt keys list --json`,
		run: func(ctx context.Context, e *env, c *command, args []string) error {
			fs := newFlags(e, c)
			dir := dirFlag(fs)
			asJSON := fs.Bool("json", false, "print JSON")
			if err := parseFlags(e, c, fs, args); err != nil {
				return err
			}
			if err := noArgs(fs); err != nil {
				return err
			}
			if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
				return noKeys(*dir) // a missing directory is an error, an empty one an answer
			}
			ring, err := openDir(fs, *dir).LoadRing()
			if err != nil {
				return err
			}
			now := time.Now()
			signer, _ := ring.SignerAt(now)
			list := []keyListing{}
			for _, k := range ring.Keys() {
				list = append(list, keyListing{
					KID: k.ID, Algorithm: k.Algorithm, Bits: k.Bits(), State: k.State, Created: k.Created,
					AgeSeconds: int64(now.Sub(k.Created) / time.Second), Published: timePtr(k.Published),
					StateChanged: timePtr(k.StateChanged), Signed: timePtr(k.Signed), NotBefore: timePtr(k.NotBefore), Ref: k.Ref, Signing: signer != nil && signer.ID == k.ID,
				})
			}
			if *asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			if len(list) == 0 {
				fmt.Fprintf(e.stderr, "%v\nhint: %s\n", noKeys(*dir), noKeys(*dir).(*hintError).hint)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tALG\tBITS\tSTATE\tAGE\tPUBLISHED\tSIGNING\tWHERE")
			for _, l := range list {
				sign, pub, where := "", "never", "file"
				if l.Signing {
					sign = "yes"
				}
				if l.Published != nil {
					pub = age(now.Sub(*l.Published)) + " ago"
				}
				if l.Ref != "" {
					where = l.Ref
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", l.KID, l.Algorithm, l.Bits, l.State, age(now.Sub(l.Created)), pub, sign, where)
			}
			return tw.Flush()
		},
	}
}
