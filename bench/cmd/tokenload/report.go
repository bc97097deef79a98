// What tokenload measures and prints: the JSON result line, and the CPU
// time and RSS of a process, read from /proc.

package main

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// result is the JSON line tokenload prints.
type result struct {
	Mode        string  `json:"mode"`
	Target      string  `json:"target,omitempty"`
	Clients     int     `json:"clients,omitempty"`
	Requests    int64   `json:"requests"`
	OK          int64   `json:"ok"`
	Failed      int64   `json:"failed"`
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms,omitempty"`
	P99ms       float64 `json:"p99_ms,omitempty"`
	SignSeconds float64 `json:"sign_seconds,omitempty"`
	Signed      int     `json:"signed,omitempty"`
	// ServerCPUms is the CPU time (user + system) the -pid process spent
	// per timed request: less sensitive to a busy machine than the rate.
	ServerCPUms float64 `json:"server_cpu_ms_per_request,omitempty"`
	// ClientCPUms is tokenload's own CPU time per timed request: what the
	// load generator takes from the cores the server shares with it.
	ClientCPUms float64      `json:"client_cpu_ms_per_request,omitempty"`
	RSS         []checkpoint `json:"rss,omitempty"`
}

// checkpoint is the RSS of the measured process after Requests requests.
type checkpoint struct {
	Requests int64 `json:"requests"`
	RSSKiB   int64 `json:"rss_kib"`
}

func printResult(r result) error {
	return json.NewEncoder(os.Stdout).Encode(r)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rss reads VmRSS of pid from /proc, in KiB.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}

// cpuTime reads the user + system CPU time of pid from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are fields 14 and 15 of the line.
	s := string(b)
	rest := s[strings.LastIndexByte(s, ')')+1:]
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, errors.New("short /proc/" + strconv.Itoa(pid) + "/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const clkTck = 100 // USER_HZ, 100 on every Linux architecture Go runs on
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// sampler records the RSS of pid every `every` requests.
type sampler struct {
	pid   int
	every int64
	mu    sync.Mutex
	cps   []checkpoint
}

func (s *sampler) after(done int64) {
	if s.pid <= 0 || s.every <= 0 || done%s.every != 0 {
		return
	}
	kib, err := rss(s.pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.cps = append(s.cps, checkpoint{done, kib})
	s.mu.Unlock()
}

func (s *sampler) final(done int64) []checkpoint {
	if s.pid > 0 {
		if kib, err := rss(s.pid); err == nil {
			s.cps = append(s.cps, checkpoint{done, kib})
		}
	}
	slices.SortFunc(s.cps, func(a, b checkpoint) int { return int(a.Requests - b.Requests) })
	return s.cps
}
