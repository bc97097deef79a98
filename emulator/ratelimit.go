package emulator

import (
	"fmt"
	"sync"
	"time"
)

// maxLimiterKeys bounds a limiter's table; apps are registered by the
// operator, so this is only reached by a misconfiguration. When it is hit,
// counters of past windows are dropped first, then the table is reset.
const maxLimiterKeys = 100_000

// windowLimiter is a fixed-window quota per key ("n requests every 1
// unit"), the model of Apigee's Quota policy.
type windowLimiter struct {
	limit    int
	interval time.Duration
	unit     string // "second" or "minute", for the NHS message

	mu       sync.Mutex
	counters map[string]windowCount
}

type windowCount struct {
	start time.Time
	n     int
}

func newWindowLimiter(limit int, interval time.Duration, unit string) *windowLimiter {
	if limit <= 0 {
		return nil
	}
	return &windowLimiter{limit: limit, interval: interval, unit: unit, counters: map[string]windowCount{}}
}

// allow counts one request for key. When the quota is exhausted it returns
// false and how long until the window resets.
func (l *windowLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	start := now.Truncate(l.interval)
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.counters[key]
	if !ok || !c.start.Equal(start) {
		if !ok && len(l.counters) >= maxLimiterKeys {
			for k, v := range l.counters {
				if !v.start.Equal(start) {
					delete(l.counters, k)
				}
			}
			if len(l.counters) >= maxLimiterKeys {
				clear(l.counters)
			}
		}
		c = windowCount{start: start}
	}
	if c.n >= l.limit {
		l.counters[key] = c
		return false, start.Add(l.interval).Sub(now)
	}
	c.n++
	l.counters[key] = c
	return true, 0
}

// quotaMessage is NHS's app-quota text (docs/nhs-reference.md, "PDS errors").
func (l *windowLimiter) quotaMessage(appName string) string {
	return fmt.Sprintf("Your application, %s, has exceeded its quota of %d requests every 1 %s(s) and is being rate limited. Please see: %s for more details.",
		appName, l.limit, l.unit, rateLimitDocURL)
}

// retryAfterSeconds rounds a wait up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
