// Command tokenload is the load generator of the token endpoint benchmarks
// (bench/README.md). It drives any RFC 7523 token endpoint (the emulator,
// ORY Hydra) the same way, over loopback only, and prints one JSON line of
// results. Modes:
//
//	tokenload tokens -dir D -client-id ID -token-url URL [-n 12000] [-c 64] [-duration 10s] [-cacert F]
//	    signs n assertions (distinct jti) with the signing key of the key
//	    directory D BEFORE the clock starts (fewer if -sign-budget, 90 s,
//	    runs out), then posts them from c concurrent clients until they are
//	    used up or the duration passes; -pid PID reports the CPU time that
//	    server process spent per timed request.
//	tokenload verify -dir D [-goroutines 2] [-duration 3s]
//	    rsa.VerifyPKCS1v15 (SHA-512) with the same key on g goroutines: the
//	    floor of a token endpoint written in Go on these cores (and the CPU
//	    time per verify, this process's).
//	tokenload live -dir D -client-id ID -token-url URL -n N [-c 64] [-duration 60s] -pid PID [-every 25000]
//	    signs while it sends (throughput is not the point) and samples the
//	    RSS of process PID every `every` requests: the memory row.
//	tokenload get -url URL [-n N] [-c 64] [-duration 60s] [-pid PID] [-every 25000]
//	    GETs a URL (the web app's pages) and samples PID's RSS likewise.
//	tokenload wait -url URL [-timeout 60s] [-o FILE] [-bearer-env NAME]
//	    waits until a GET of URL answers 200 (a server is up); -o FILE keeps
//	    the body, -bearer-env NAME sends the token held in $NAME.
//
// It never prints an assertion or a token.
package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha512"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pkjwt/pkjwt"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tokenload tokens|verify|live|get [flags]")
		os.Exit(2)
	}
	var err error
	switch mode, args := os.Args[1], os.Args[2:]; mode {
	case "tokens":
		err = runTokens(args, false)
	case "live":
		err = runTokens(args, true)
	case "verify":
		err = runVerify(args)
	case "get":
		err = runGet(args)
	case "wait":
		err = runWait(args)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokenload:", err)
		os.Exit(1)
	}
}

func runTokens(args []string, live bool) error {
	mode := "tokens"
	if live {
		mode = "live"
	}
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	dir := fs.String("dir", "", "key directory (its signing key signs)")
	clientID := fs.String("client-id", "", "iss and sub")
	tokenURL := fs.String("token-url", "", "token endpoint (loopback)")
	aud := fs.String("aud", "", "aud (default: the token URL)")
	n := fs.Int("n", 12000, "assertions (requests)")
	c := fs.Int("c", 64, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "longest run")
	lifetime := fs.Duration("lifetime", 5*time.Minute, "assertion lifetime (the emulator allows at most 310 s ahead of its clock)")
	signBudget := fs.Duration("sign-budget", 90*time.Second, "stop pre-signing after this long and send fewer than n (tokens mode)")
	warm := fs.Int("warmup", 256, "requests before the clock starts (tokens mode; taken from the n)")
	cacert := fs.String("cacert", "", "PEM certificate to trust (https)")
	pid := fs.Int("pid", 0, "server process: its RSS is sampled (live mode), its CPU time per request reported (tokens mode)")
	every := fs.Int64("every", 25000, "sample the RSS every this many requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *clientID == "" || *tokenURL == "" {
		return errors.New("-dir, -client-id and -token-url are required")
	}
	if err := loopbackOnly(*tokenURL); err != nil {
		return err
	}
	if *aud == "" {
		*aud = *tokenURL
	}
	key, err := signingKey(*dir)
	if err != nil {
		return err
	}
	client, err := httpClient(*cacert, *c)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	a := pkjwt.Assertion{ClientID: *clientID, Audience: *aud, Lifetime: *lifetime}
	ctx := context.Background()

	if live {
		s := &sampler{pid: *pid, every: *every}
		res := load{n: *n, c: *c, duration: *duration, after: s.after,
			do: func(ctx context.Context, _ int) error {
				jws, err := a.Sign(ctx, key)
				if err != nil {
					return err
				}
				return post(ctx, client, *tokenURL, form(jws))
			}}.run(ctx)
		res.Mode, res.Target = mode, *tokenURL
		res.RSS = s.final(res.Requests)
		return printResult(res)
	}

	// Pre-sign the assertions on every core, before the clock starts: n of
	// them, or as many as the sign budget allows on a busy machine.
	t0 := time.Now()
	signDeadline := t0.Add(*signBudget)
	bodies := make([]string, *n)
	var idx atomic.Int64
	var signErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Go(func() {
			for {
				if time.Now().After(signDeadline) {
					return
				}
				i := int(idx.Add(1) - 1)
				if i >= *n {
					return
				}
				jws, err := a.Sign(ctx, key)
				if err != nil {
					signErr.CompareAndSwap(nil, &err)
					return
				}
				bodies[i] = form(jws)
			}
		})
	}
	wg.Wait()
	if p := signErr.Load(); p != nil {
		return *p
	}
	signSecs := time.Since(t0).Seconds()
	bodies = slices.DeleteFunc(bodies, func(b string) bool { return b == "" }) // unsigned: over budget
	if *warm >= len(bodies) {
		return fmt.Errorf("only %d assertions signed in the %s budget (-warmup %d): the machine is too busy", len(bodies), *signBudget, *warm)
	}
	if left := *lifetime - time.Since(t0) - *duration; left < 30*time.Second {
		return fmt.Errorf("signing took %.0f s: the first assertions would expire during the run (-lifetime %s, -duration %s)", signSecs, *lifetime, *duration)
	}
	// Warm-up: connections, the server's JWKS cache, its first allocations.
	warmRes := load{n: *warm, c: *c, duration: time.Minute, do: func(ctx context.Context, i int) error {
		return post(ctx, client, *tokenURL, bodies[i])
	}}.run(ctx)
	if warmRes.Failed > 0 {
		return fmt.Errorf("warm-up: %d of %d failed, first: %s", warmRes.Failed, warmRes.Requests, warmRes.FirstError)
	}
	rest := bodies[*warm:]
	var cpu0 time.Duration
	if *pid > 0 {
		if cpu0, err = cpuTime(*pid); err != nil {
			return err
		}
	}
	self0, err := cpuTime(os.Getpid())
	if err != nil {
		return err
	}
	res := load{n: len(rest), c: *c, duration: *duration, do: func(ctx context.Context, i int) error {
		return post(ctx, client, *tokenURL, rest[i])
	}}.run(ctx)
	if *pid > 0 && res.Requests > 0 {
		cpu1, err := cpuTime(*pid)
		if err != nil {
			return err
		}
		res.ServerCPUms = float64((cpu1 - cpu0).Microseconds()) / 1000 / float64(res.Requests)
	}
	if self1, err := cpuTime(os.Getpid()); err == nil && res.Requests > 0 {
		res.ClientCPUms = float64((self1 - self0).Microseconds()) / 1000 / float64(res.Requests)
	}
	res.Mode, res.Target, res.SignSeconds, res.Signed = mode, *tokenURL, signSecs, len(bodies)
	return printResult(res)
}

func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	dir := fs.String("dir", "", "key directory (its signing key)")
	g := fs.Int("goroutines", runtime.GOMAXPROCS(0), "goroutines")
	duration := fs.Duration("duration", 3*time.Second, "how long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := signingKey(*dir)
	if err != nil {
		return err
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("key %s is not RSA", key.ID)
	}
	digest := sha512.Sum512([]byte("header.payload"))
	sig, err := key.Signer.Sign(nil, digest[:], crypto.SHA512)
	if err != nil {
		return err
	}
	cpu0, err := cpuTime(os.Getpid())
	if err != nil {
		return err
	}
	res := load{c: *g, duration: *duration, do: func(context.Context, int) error {
		return rsa.VerifyPKCS1v15(pub, crypto.SHA512, digest[:], sig)
	}}.run(context.Background())
	res.Mode, res.P50ms, res.P99ms = "verify", 0, 0
	if cpu1, err := cpuTime(os.Getpid()); err == nil && res.Requests > 0 {
		res.ServerCPUms = float64((cpu1 - cpu0).Microseconds()) / 1000 / float64(res.Requests) // this process's, per verify
	}
	return printResult(res)
}

func runGet(args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	target := fs.String("url", "", "URL to GET (loopback)")
	n := fs.Int("n", 0, "requests (0: until the duration)")
	c := fs.Int("c", 64, "concurrent clients")
	duration := fs.Duration("duration", 60*time.Second, "longest run")
	pid := fs.Int("pid", 0, "process whose RSS to sample")
	every := fs.Int64("every", 25000, "sample the RSS every this many requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopbackOnly(*target); err != nil {
		return err
	}
	client, err := httpClient("", *c)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	s := &sampler{pid: *pid, every: *every}
	res := load{n: *n, c: *c, duration: *duration, after: s.after, do: func(ctx context.Context, _ int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}}.run(context.Background())
	res.Mode, res.Target = "get", *target
	res.RSS = s.final(res.Requests)
	return printResult(res)
}

func runWait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	target := fs.String("url", "", "URL to GET (loopback)")
	timeout := fs.Duration("timeout", time.Minute, "give up after")
	out := fs.String("o", "", "write the 200 response's body to this file")
	bearerEnv := fs.String("bearer-env", "", "send Authorization: Bearer with the token in this environment variable, and a new X-Request-ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopbackOnly(*target); err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(*timeout)
	var last error
	for time.Now().Before(deadline) {
		req, err := http.NewRequest(http.MethodGet, *target, nil)
		if err != nil {
			return err
		}
		if *bearerEnv != "" {
			req.Header.Set("Authorization", "Bearer "+os.Getenv(*bearerEnv))
			req.Header.Set("X-Request-ID", uuid.NewString())
		}
		resp, err := client.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				if *out != "" {
					return os.WriteFile(*out, body, 0o644)
				}
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %v", *target, *timeout, last)
}
