// Package clock is the simulator's time: the real clock, and one that tests
// move forward so that what the simulated cloud makes wait (operations, a
// load balancer's propagation, outlier ejection) passes without waiting.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time and runs functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened; it reports whether it
	// did prevent it.
	Stop() bool
}

// Real is the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// After returns a channel that receives once d has passed on c, and a
// function that releases it early.
func After(c Clock, d time.Duration) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	t := c.AfterFunc(d, func() { close(ch) })
	return ch, func() { t.Stop() }
}

// Adjustable is real time plus an offset that Advance moves forward: it
// runs as the wall clock does, and a test can skip ahead. A function
// scheduled with AfterFunc runs when its time comes on this clock: by real
// time passing, or by Advance reaching it. Safe for concurrent use.
type Adjustable struct {
	mu      sync.Mutex
	offset  time.Duration
	pending map[*adjustableTimer]bool
}

// NewAdjustable returns a clock that reads the wall clock until advanced.
func NewAdjustable() *Adjustable {
	return &Adjustable{pending: map[*adjustableTimer]bool{}}
}

// Now is the wall clock plus every Advance so far.
func (c *Adjustable) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d and runs, oldest first, what was
// scheduled up to the new time (each in its own goroutine, started in
// order of its time).
func (c *Adjustable) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += max(d, 0)
	now := time.Now().Add(c.offset)
	var due []*adjustableTimer
	for t := range c.pending {
		if !t.due.After(now) {
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	sortByDue(due)
	for _, t := range due {
		t.fire()
	}
}

// AfterFunc calls f once d has passed on c.
func (c *Adjustable) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &adjustableTimer{c: c, due: time.Now().Add(c.offset + d), f: f}
	c.pending[t] = true
	// Real time passing reaches due too; Advance may reach it first.
	t.real = time.AfterFunc(d, t.fire)
	return t
}

type adjustableTimer struct {
	c    *Adjustable
	due  time.Time
	f    func()
	real *time.Timer
}

// fire runs f once, whichever of real time and Advance comes first.
func (t *adjustableTimer) fire() {
	t.c.mu.Lock()
	if !t.c.pending[t] {
		t.c.mu.Unlock()
		return
	}
	delete(t.c.pending, t)
	t.c.mu.Unlock()
	t.real.Stop()
	go t.f()
}

func (t *adjustableTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if !t.c.pending[t] {
		return false
	}
	delete(t.c.pending, t)
	t.real.Stop()
	return true
}

func sortByDue(ts []*adjustableTimer) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].due.Before(ts[j-1].due); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}
