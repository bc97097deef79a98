package coarse

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// wall is a settable wall clock that counts its reads.
type wall struct {
	ns    atomic.Int64
	reads atomic.Int64
}

func newWall() *wall { w := &wall{}; w.ns.Store(time.Now().UnixNano()); return w }

func (w *wall) now() time.Time { w.reads.Add(1); return time.Unix(0, w.ns.Load()) }

func (w *wall) add(d time.Duration) { w.ns.Add(int64(d)) }

// same reports whether a reading is the source's time ns: equal but for
// the lowest bit, the clock's mark.
func same(reading, ns int64) bool { return reading>>1 == ns>>1 }

// waitUntil polls cond for up to 5 s of real time.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReadingFollowsTheSource: a read between ticks returns the last
// reading; Tick, or the timer on its own, brings the jump in.
func TestReadingFollowsTheSource(t *testing.T) {
	cases := []struct {
		name string
		sync func(*Clock)
	}{
		{"Tick", (*Clock).Tick},
		{"timer", func(*Clock) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWall()
			c := New(w.now)
			c.interval = 20 * time.Millisecond
			start := w.ns.Load()
			if got := c.UnixNano(); !same(got, start) {
				t.Fatalf("first read %d, want the source's %d", got, start)
			}
			if !c.Running() {
				t.Fatal("the first read did not start the timer")
			}
			w.add(time.Hour) // a resume: the wall clock jumps, no tick yet
			tc.sync(c)
			want := start + int64(time.Hour)
			waitUntil(t, "reading after the jump", func() bool { return same(c.UnixNano(), want) })
		})
	}
}

// TestReadsDoNotReadTheSource: while the timer runs, reads cost no source
// read; only ticks do.
func TestReadsDoNotReadTheSource(t *testing.T) {
	w := newWall()
	c := New(w.now)
	c.interval = time.Hour // no tick during the test
	c.UnixNano()
	before := w.reads.Load()
	for range 10000 {
		c.UnixNano()
	}
	if n := w.reads.Load() - before; n != 0 {
		t.Fatalf("%d source reads for 10,000 clock reads, want 0", n)
	}
	c.Tick()
	if n := w.reads.Load() - before; n != 1 {
		t.Fatalf("%d source reads for one tick, want 1", n)
	}
}

// TestIdleClockStops: with no reads the timer stops after IdleTicks
// ticks, leaving no goroutine, and the next read reads the source (so a
// jump while stopped is seen at once) and starts it again.
func TestIdleClockStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	w := newWall()
	c := New(w.now)
	c.interval = 5 * time.Millisecond
	c.UnixNano()
	waitUntil(t, "idle stop", func() bool { return !c.Running() })
	ticks := w.reads.Load()
	time.Sleep(10 * c.interval)
	if n := w.reads.Load(); n != ticks {
		t.Fatalf("the stopped clock read its source %d more times", n-ticks)
	}
	if ticks > IdleTicks+2 {
		t.Fatalf("%d source reads before stopping, want about %d", ticks, IdleTicks+1)
	}
	w.add(time.Hour)
	if got, want := c.UnixNano(), w.ns.Load(); !same(got, want) {
		t.Fatalf("read after idle = %d, want the source's %d", got, want)
	}
	if !c.Running() {
		t.Fatal("a read did not restart the timer")
	}
	waitUntil(t, "second idle stop", func() bool { return !c.Running() })
}

// TestConcurrentReadsAndTicks: readers, manual ticks, timer ticks and
// idle stops at once (run with -race); every read is a reading the source
// gave, never the stopped marker.
func TestConcurrentReadsAndTicks(t *testing.T) {
	w := newWall()
	c := New(w.now)
	c.interval = time.Millisecond
	lo := w.ns.Load()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				if g == 0 && i%100 == 0 {
					c.Tick()
				}
				if g == 1 && i%200 == 0 {
					time.Sleep(3 * time.Millisecond) // long enough, sometimes, to stop
				}
				if ns := c.UnixNano(); ns>>1 < lo>>1 || ns == stopped {
					t.Errorf("read %d, before the source's first reading %d", ns, lo)
					return
				}
			}
		})
	}
	wg.Wait()
}
