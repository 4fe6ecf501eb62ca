package clock

import (
	"testing"
	"time"
)

func TestAdjustableAdvanceRunsWhatIsDue(t *testing.T) {
	c := NewAdjustable()
	start := c.Now()
	ran := make(chan string, 3)
	c.AfterFunc(time.Hour, func() { ran <- "hour" })
	c.AfterFunc(10*time.Second, func() { ran <- "ten" })
	stopped := c.AfterFunc(20*time.Second, func() { ran <- "stopped" })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true once, then false")
	}
	c.Advance(30 * time.Second)
	if got := <-ran; got != "ten" {
		t.Fatalf("after 30 s ran %q, want ten", got)
	}
	select {
	case got := <-ran:
		t.Fatalf("after 30 s also ran %q", got)
	default:
	}
	if d := c.Now().Sub(start); d < 30*time.Second || d > time.Minute {
		t.Errorf("Now moved %v, want about 30 s", d)
	}
	c.Advance(time.Hour)
	if got := <-ran; got != "hour" {
		t.Fatalf("after an hour ran %q", got)
	}
}

func TestAdjustableRunsOnRealTime(t *testing.T) {
	c := NewAdjustable()
	done, _ := After(c, time.Millisecond)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a 1 ms timer did not fire on real time")
	}
}
