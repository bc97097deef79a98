// The load loop: loopback HTTP clients that post assertions (or GET a page)
// from concurrent workers and time each request.

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkjwt/pkjwt"
	"github.com/pkjwt/pkjwt/keys"
	"github.com/pkjwt/pkjwt/keys/keydir"
)

// loopbackOnly refuses any URL whose host is not a loopback IP literal.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: tokenload sends to loopback IP addresses only", raw)
	}
	return nil
}

func httpClient(cacert string, conns int) (*http.Client, error) {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: conns,
		IdleConnTimeout: time.Minute, ForceAttemptHTTP2: false}
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate", cacert)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1, like wrk
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

func signingKey(dir string) (*keys.Key, error) {
	ring, err := keydir.Dir{Path: dir}.LoadRing()
	if err != nil {
		return nil, err
	}
	return ring.SigningKey()
}

// load runs n requests (do(i) sends request i) from c workers until n are
// done or the deadline passes, recording each latency; after is called
// with the running count after every request (for RSS checkpoints).
type load struct {
	n        int
	c        int
	duration time.Duration
	do       func(ctx context.Context, i int) error
	after    func(done int64)
}

func (l load) run(ctx context.Context) (res result) {
	ctx, cancel := context.WithTimeout(ctx, l.duration)
	defer cancel()
	var next, ok, failed, done atomic.Int64
	var firstErr atomic.Pointer[string]
	lat := make([][]time.Duration, l.c)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < l.c; w++ {
		wg.Go(func() {
			mine := make([]time.Duration, 0, l.n/l.c+1)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if l.n > 0 && i >= l.n {
					break
				}
				t0 := time.Now()
				err := l.do(ctx, i)
				if ctx.Err() != nil && err != nil {
					break // cut off by the deadline: not a server failure
				}
				mine = append(mine, time.Since(t0))
				if err != nil {
					failed.Add(1)
					s := err.Error()
					firstErr.CompareAndSwap(nil, &s)
				} else {
					ok.Add(1)
				}
				d := done.Add(1)
				if l.after != nil {
					l.after(d)
				}
			}
			lat[w] = mine
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	res = result{Clients: l.c, Requests: done.Load(), OK: ok.Load(), Failed: failed.Load(),
		Seconds: elapsed.Seconds(), PerSecond: float64(done.Load()) / elapsed.Seconds()}
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	if len(all) > 0 {
		res.P50ms = ms(all[len(all)/2])
		res.P99ms = ms(all[min(len(all)-1, len(all)*99/100)])
	}
	return res
}

// post sends one token request and wants 200 with an access token.
func post(ctx context.Context, client *http.Client, tokenURL, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		// The body is an OAuth error: it holds no token. Keep it short.
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		return errors.New("200 without an access_token")
	}
	return nil
}

func form(assertion string) string {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {pkjwt.AssertionType},
		"client_assertion":      {assertion},
	}.Encode()
}
