package tui

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// syncBuffer is a bytes.Buffer safe for the program's writer and the test's
// reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitOutput waits until the program has written want.
func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(ansi.Strip(out.String()), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the program never wrote %q; it wrote:\n%s", want, ansi.Strip(out.String()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRun runs the real program on pipes: events reach it through the emit
// function Run hands to start, and on Google it says what is billable after
// quitting.
func TestRun(t *testing.T) {
	lab := newFakeLab()
	lab.sim = false
	lab.saved.Steps[steps.ForwardingRule] = steps.SavedState{Status: steps.StatusPassed, At: time.Now()}
	in, keys := io.Pipe()
	defer keys.Close()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(t.Context(), func(emit func(steps.Event)) (Lab, error) {
			lab.emit = emit
			return lab, nil
		}, Options{Input: in, Output: out, Width: 80, Height: 24, Target: "Google Cloud project fake-project"})
	}()
	waitOutput(t, out, "Resume?")
	io.WriteString(keys, "n")
	waitOutput(t, out, "Nothing to run here")
	io.WriteString(keys, "j\r")
	waitOutput(t, out, "Check passed: Verified project.")
	io.WriteString(keys, "q")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after q")
	}
	for _, want := range []string{"the global forwarding rule gemini-global-ip", "beyond cleanup --project fake-project"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("after quitting, no %q in the output", want)
		}
	}
	if got := lab.callLog(); len(got) != 1 || got[0] != "run project" {
		t.Errorf("runner calls %v", got)
	}
}

func TestRunNeedsTerminal(t *testing.T) {
	if IsTerminal(strings.NewReader(""), io.Discard) {
		t.Fatal("a string reader is a terminal")
	}
	if IsTerminal(os.Stdin, os.Stdout) {
		t.Skip("stdin and stdout are a terminal here")
	}
	err := Run(context.Background(), func(func(steps.Event)) (Lab, error) {
		t.Fatal("start called without a terminal")
		return nil, nil
	}, Options{})
	if err != ErrNotTerminal {
		t.Fatalf("Run without a terminal: %v, want ErrNotTerminal", err)
	}
}
