package steps

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/probe"
)

// feed is a runner's one prober of the global IP. Watch (a front end's
// "watch") and the failover steps all need the global IP's traffic: they
// share one stream of requests, so watching while the lab breaks a region
// sends the set rate, not twice it. Each sample is emitted once, as
// EventSample, and handed to every subscriber.
type feed struct {
	emit func(Event)
	// health reads both regions' service health while the prober runs
	// (nil where it cannot be read); see health.go.
	health func(context.Context) []RegionHealth

	mu   sync.Mutex
	key  string // what runs: URL, rate, client location
	gen  int    // bumped at every (re)start; a stale prober's samples are dropped
	stop context.CancelFunc
	done chan struct{}
	subs map[int]subscriber
	next int

	healthSubs map[int]func([]RegionHealth, time.Time)
}

type subscriber struct {
	step string // the step subscribed, named on the samples; "" for Watch
	fn   func(Sample)
}

func feedKey(c probe.Config) string {
	return fmt.Sprintf("%s %s %v %s", c.Method, c.URL, c.Rate, c.Header.Get(lab.ClientLocationHeader))
}

// join subscribes fn (nil: only emit) to the samples of cfg, starting the
// prober, or restarting it if it probes something else (the client moved).
// leave unsubscribes, and stops the prober when nobody is left, waiting for
// it to end.
func (f *feed) join(cfg probe.Config, step string, fn func(Sample)) (leave func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = map[int]subscriber{}
	}
	id := f.next
	f.next++
	f.subs[id] = subscriber{step, fn}
	if k := feedKey(cfg); f.stop == nil || k != f.key {
		f.startLocked(cfg, k)
	}
	var once sync.Once
	return func() { once.Do(func() { f.leave(id) }) }
}

func (f *feed) startLocked(cfg probe.Config, key string) {
	if f.stop != nil {
		f.stop() // it ends by itself; what it still sends is dropped
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	f.gen++
	gen := f.gen
	f.key, f.stop, f.done = key, cancel, done
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		f.pollHealth(ctx, gen)
	}()
	go func() {
		defer close(done)
		probe.Run(ctx, cfg, func(sm Sample) { f.deliver(gen, sm) })
		<-pollDone
	}()
}

func (f *feed) leave(id int) {
	f.mu.Lock()
	delete(f.subs, id)
	var stop context.CancelFunc
	var done chan struct{}
	if len(f.subs) == 0 && f.stop != nil {
		stop, done = f.stop, f.done
		f.stop, f.done, f.key = nil, nil, ""
		f.gen++
	}
	f.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (f *feed) deliver(gen int, sm Sample) {
	f.mu.Lock()
	if gen != f.gen {
		f.mu.Unlock()
		return
	}
	step, newest := "", -1
	fns := make([]func(Sample), 0, len(f.subs))
	for id, s := range f.subs {
		if s.fn != nil {
			fns = append(fns, s.fn)
		}
		if s.step != "" && id > newest {
			step, newest = s.step, id
		}
	}
	f.mu.Unlock()
	if f.emit != nil {
		f.emit(Event{Kind: EventSample, Step: step, Sample: &sm, At: sm.At})
	}
	for _, fn := range fns {
		fn(sm)
	}
}
