package main

import (
	"crypto"
	"errors"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// publication warns when the signing key took over from another key less
// than the lead after its first publication (or with none recorded): NHS
// England caches a JWKS for an hour and does not refetch it for an unknown
// kid (docs/nhs-reference.md), so until then it may answer 401 "Invalid
// 'kid'". A key that signed after a guarded activation, or the directory's
// first key, has a Signed date and is not warned about. The warning names
// the rollback: the retired key that may sign again at once.
func (c *checker) publication(ring *keys.Ring, signer *keys.Key, now time.Time, dir string) {
	if !signer.Signed.IsZero() || ring.Len() < 2 {
		return
	}
	lead := keydir.DefaultLead
	var retired []*keys.Key
	for _, k := range ring.Keys() {
		if k.State == keys.StateRetired {
			retired = append(retired, k)
		}
	}
	switch {
	case !signer.Published.IsZero() && now.Sub(signer.Published) < lead:
		safe := signer.Published.Add(lead)
		c.warn("keys", "the signing key %s was first published %s ago, less than the %s lead: NHS England may still hold a JWKS without it and answer 401 \"Invalid 'kid'\" until %s",
			signer.ID, age(now.Sub(signer.Published)), lead, safe.UTC().Format(time.RFC3339))
	case signer.Published.IsZero() && len(retired) > 0:
		c.warn("keys", "the signing key %s replaced another key but was never recorded as published ('pkjwt jwks publish' or 'pkjwt serve' record it): NHS England may not know it", signer.ID)
	default:
		return
	}
	// The rollback: the most recently retired key that may sign at once.
	sort.SliceStable(retired, func(i, j int) bool { return retired[i].StateChanged.After(retired[j].StateChanged) })
	for _, k := range retired {
		if keydir.CheckActivate(k, now, lead) == nil {
			c.warn("keys", "to roll back at once: pkjwt keys activate --dir %s --kid %s (it signed before and is still published); activate %s again once it has been published for %s",
				dir, k.ID, signer.ID, lead)
			return
		}
	}
	c.warn("keys", "no retired key can sign at once, so there is no rollback: wait out the lead, or publish the JWKS ('pkjwt jwks publish') if it was never published")
}

// keyDirOf returns the key directory a --keys or --dir value names, for a
// command line in a message.
func keyDirOf(where string) string { return strings.TrimPrefix(where, "dir:") }

// sameKeyOtherKID looks in a published JWKS for the public key of k under
// a kid other than k's own, and returns that kid, or "".
func sameKeyOtherKID(set *jose.JSONWebKeySet, k *keys.Key) string {
	for _, jk := range set.Keys {
		if jk.KeyID == k.ID {
			continue
		}
		if eq, ok := jk.Key.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(k.Public()) {
			return jk.KeyID
		}
	}
	return ""
}

// kidAdvice tells how to sign with key k under kid instead of k.ID: the
// kid method that derives kid from the key, if one does, as ?kid-from= of
// --keys and --kid-from of 'keys import'; else ?kid= and --kid.
func kidAdvice(k *keys.Key, kid string) string {
	for _, m := range keys.KIDMethods() {
		if got, err := keys.KIDFrom(m, k.Public(), k.Certificate); err == nil && got == kid {
			return fmt.Sprintf("sign under that kid: add ?kid-from=%s to --keys (for example --keys 'pfx:FILE?kid-from=%s'), or import the key again with 'pkjwt keys import --kid-from %s'", m, m, m)
		}
	}
	return fmt.Sprintf("sign under that kid: add ?kid=%s to --keys, or import the key again with 'pkjwt keys import --kid %s' (no --kid-from method gives that kid)", kid, kid)
}

// duplicateKeys returns one line per public key that set publishes under
// more than one kid.
func duplicateKeys(set *jose.JSONWebKeySet) []string {
	byThumb := map[string][]string{}
	var order []string
	for _, jk := range set.Keys {
		tp, err := keys.Thumbprint(jk.Key)
		if err != nil {
			continue
		}
		if _, seen := byThumb[tp]; !seen {
			order = append(order, tp)
		}
		byThumb[tp] = append(byThumb[tp], jk.KeyID)
	}
	var out []string
	for _, tp := range order {
		if kids := byThumb[tp]; len(kids) > 1 {
			out = append(out, fmt.Sprintf("one public key (thumbprint %s) is published under %d kids: %s", tp, len(kids), strings.Join(kids, ", ")))
		}
	}
	return out
}

// connectionHint explains a token endpoint that refused the connection, or
// returns "". Under --profile local the endpoint is the emulator, at
// --token-url or by default where pkjwt.Local("") points.
func connectionHint(err error, ts *pkjwt.TokenSource) string {
	if !errors.Is(err, syscall.ECONNREFUSED) && !strings.Contains(err.Error(), "connection refused") {
		return ""
	}
	if ts.Config().Profile.Name == "local" {
		return fmt.Sprintf("nothing listens at %s: start the emulator ('pkjwt emulator' prints its token URL; it listens on %s by default) and pass that URL with --token-url", ts.Config().TokenURL, strings.TrimSuffix(pkjwt.Local("").TokenURL, "/oauth2/token"))
	}
	return fmt.Sprintf("nothing listens at %s: check --token-url and the profile", ts.Config().TokenURL)
}
