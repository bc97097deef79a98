// Package coarse is a wall clock that is cheap to read: a reading taken by a
// timer every [Interval] and kept in an atomic integer, so that a hot path
// (the token cache) reads the wall clock with one atomic load instead of a
// clock read (time.Now costs tens of nanoseconds on a VM's kvm-clock; see
// bench/README.md, "Client core").
//
// The timer re-reads the wall clock each time it fires. Go's timers run on
// the monotonic clock, which stops while a host or VM is suspended, but a
// timer due every Interval fires at most Interval after the resume, and its
// reading then jumps to the wall clock: a reader sees a time at most about
// Interval behind the wall clock, across a suspend too.
//
// A Clock runs only while it is read: after [IdleTicks] ticks with no read
// its timer stops (no goroutine waits between ticks, none is left when a
// Clock is dropped), and the next read reads the source directly and starts
// the timer again.
package coarse

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Interval is how often a running Clock re-reads its source: the most a
// reading lags the source's wall clock.
const Interval = 250 * time.Millisecond

// IdleTicks is how many ticks without a read stop the timer.
const IdleTicks = 8

// stopped marks a Clock whose timer is not running. It is even, so that a
// read takes it for "not yet marked" and goes to the rare path.
const stopped = math.MinInt64

// Clock is a coarse reading of a wall-clock source. The zero Clock is not
// usable; call [New]. A Clock is safe for concurrent use.
type Clock struct {
	src      func() time.Time
	interval time.Duration // Interval, shorter in this package's tests

	// v is the last reading in Unix nanoseconds, with its lowest bit
	// (a nanosecond) used as a mark: a tick stores it clear, the first
	// read after the tick sets it, so that the next tick knows the clock
	// was read. Only that first read writes. stopped: no timer.
	v atomic.Int64

	mu    sync.Mutex  // serialises start, tick and the timer
	timer *time.Timer // under mu; nil until the first start
	idle  int         // under mu: ticks in a row without a read
}

// New returns a Clock that reads src (time.Now in production, an injected
// clock in tests: both go through the same ticks). Its timer starts on the
// first read.
func New(src func() time.Time) *Clock {
	c := &Clock{src: src, interval: Interval}
	c.v.Store(stopped)
	return c
}

// UnixNano returns the source's time in Unix nanoseconds (to within a
// nanosecond) as of the last tick, at most about Interval old; when the
// timer is stopped it reads the source and starts the timer. It is one
// atomic load, and small enough to inline.
func (c *Clock) UnixNano() int64 {
	if v := c.v.Load(); v&1 != 0 {
		return v // the mark bit is one nanosecond: not worth clearing
	}
	return c.mark()
}

// mark is UnixNano's rare path: the first read since a tick records that
// the clock is in use (one write per tick, not per read, so that readers on
// many cores do not write a shared cache line), and a read of a stopped
// clock starts it.
func (c *Clock) mark() int64 {
	v := c.v.Load()
	if v&1 != 0 {
		return v
	}
	if v == stopped {
		return c.start()
	}
	c.v.CompareAndSwap(v, v|1) // lost to a tick or another reader: either way fine
	return v | 1
}

// start reads the source, publishes the reading and starts the timer if
// it is not running.
func (c *Clock) start() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ns := c.src().UnixNano() &^ 1
	if c.v.Load() == stopped {
		c.idle = 0
		if c.timer == nil {
			c.timer = time.AfterFunc(c.interval, c.tick)
		} else {
			c.timer.Reset(c.interval)
		}
	}
	c.v.Store(ns | 1)
	return ns | 1
}

// Tick re-reads the source now, as the timer does every Interval. A
// program may call it when it knows the wall clock jumped (a resume
// notification, a test's fake clock moved forward); a stopped Clock is
// left stopped, since its next read reads the source anyway.
func (c *Clock) Tick() { c.tick() }

// tick is the timer's function.
func (c *Clock) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.v.Load() == stopped {
		return
	}
	ns := c.src().UnixNano() &^ 1
	if old := c.v.Swap(ns); old&1 == 1 {
		c.idle = 0
	} else if c.idle++; c.idle >= IdleTicks {
		c.v.Store(stopped)
		c.timer.Stop()
		return
	}
	c.timer.Reset(c.interval)
}

// Running reports whether the timer is running (for tests and metrics).
func (c *Clock) Running() bool { return c.v.Load() != stopped }
