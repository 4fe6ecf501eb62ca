// Package tui is the lab's terminal front end, a Bubble Tea program. It draws
// the runner's events and sends the runner commands; it never talks to Google
// Cloud itself, so what it shows is what a non-interactive replay reports.
//
// One model (Model) owns the screen and lays it out. The step list
// (stepList), the prose (prosePane), the command with its full-screen view
// (commandPane), the run panel with the check's verdict (runPanel) and the
// live failover panel (failoverPanel) are components with their own size,
// and keys and scroll where they have them; a component's keys say what
// they ask for, and the model, which alone calls the runner, does it. The
// help bar and the questions it asks are plain methods. Every key is in one
// KeyMap; each component takes its own from it, and both the footer and
// the ? page are drawn from those. Runner calls happen in commands, never
// in Update. The class board (Board) is the same: its table (boardTable)
// is a component, laid out with the selected project's detail.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/term"
)

// Lab is what the TUI drives: the lab's runner. *steps.Runner satisfies it.
//
// Calls that wait (RunStep, CheckStep, Run, Watch) run in their own
// goroutine; the runner reports what happens through the emit function given
// to start, as steps.Events.
type Lab interface {
	Steps() []*steps.Step
	// Command renders a step's gcloud command.
	Command(id string) string
	RunStep(ctx context.Context, id string) (steps.Status, error)
	CheckStep(ctx context.Context, id string) (steps.Status, error)
	// Await waits for the learner to type a step, checking every interval
	// until it holds or ctx ends.
	Await(ctx context.Context, id string, every time.Duration) (steps.Status, error)
	Run(ctx context.Context, rg steps.Range) (steps.Summary, error)
	Saved() steps.Saved
	Simulated() bool
	Vars() steps.Vars
	// Outputs returns the facts earlier steps learned, such as the global IP.
	Outputs() steps.Outputs
	// Watch probes the global IP, emitting EventSample, until ctx ends.
	Watch(ctx context.Context) error
	// SetClientLocation moves the simulated client (simulator only). A
	// Watch already running keeps the old location: the TUI restarts it.
	SetClientLocation(region string) error
}

// Options configure the TUI.
type Options struct {
	// Accessible draws for screen readers: one column, words beside
	// glyphs, no frames, no animation.
	Accessible bool
	// NoColor draws without colour; the NO_COLOR environment variable sets
	// it too.
	NoColor bool
	// Input and Output replace the terminal (tests). When both are nil the
	// TUI needs a terminal on stdin and stdout.
	Input  io.Reader
	Output io.Writer
	// Target names where the lab runs, for the banner: "SIMULATOR" or
	// "Google Cloud project P". Empty means derived from the lab.
	Target string
	// Width and Height set the screen size when Output is not a terminal.
	Width, Height int
	// Mouse scrolls the text with the mouse wheel. It is off by default:
	// mouse mode takes the terminal's own selection away, and the learner
	// selects commands to paste them.
	Mouse bool
	// FirstFrame, when set, is called once, from the first View: the
	// guide's first screen is drawn, and Bubble Tea writes it out on its
	// next frame.
	FirstFrame func()
}

// ErrNotTerminal is returned by Run when stdin or stdout is not a terminal.
var ErrNotTerminal = errors.New("not a terminal: use --non-interactive")

// IsTerminal reports whether in and out are both terminals, as the TUI
// needs.
func IsTerminal(in io.Reader, out io.Writer) bool {
	fi, ok := in.(interface{ Fd() uintptr })
	fo, ok2 := out.(interface{ Fd() uintptr })
	return ok && ok2 && term.IsTerminal(fi.Fd()) && term.IsTerminal(fo.Fd())
}

// Run shows the lab until the learner quits. start builds the runner with
// the emit function the runner must report its events to.
//
// When the lab ran on Google, Run prints, after the screen is gone, what is
// still billable and how to delete it.
func Run(ctx context.Context, start func(emit func(steps.Event)) (Lab, error), opts Options) error {
	if opts.Input == nil && opts.Output == nil && !IsTerminal(os.Stdin, os.Stdout) {
		return ErrNotTerminal
	}
	if os.Getenv("NO_COLOR") != "" {
		opts.NoColor = true
	}
	if opts.Output == nil {
		opts.Output = os.Stdout
	}

	// Events reach the program through Send, which blocks until Update has
	// taken them: so they arrive in order, and before the message saying
	// the call that emitted them returned. No event comes before the program
	// exists: the runner emits only while a step runs, and steps run only
	// when the program asks.
	var prog atomic.Pointer[tea.Program]
	emit := func(e steps.Event) {
		if p := prog.Load(); p != nil {
			p.Send(eventMsg{e})
		}
	}
	lab, err := start(emit)
	if err != nil {
		return err
	}

	m := New(ctx, lab, opts)
	defer m.Close()
	popts := programOptions(ctx, opts.Input, opts.Output, opts.NoColor, opts.Width, opts.Height)
	p := tea.NewProgram(m, popts...)
	prog.Store(p)
	final, err := p.Run()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("terminal user interface: %w", err)
	}
	if fm, ok := final.(*Model); ok {
		if bye := fm.Farewell(); bye != "" {
			fmt.Fprint(opts.Output, bye)
		}
	}
	return nil
}

// Farewell is what to print after the screen is gone: on Google, what is
// still billable and the command that deletes it.
func (m *Model) Farewell() string {
	if m.simulated {
		return ""
	}
	v := m.vars
	var list []*steps.Step
	for _, it := range m.items {
		if it.step != nil {
			list = append(list, it.step)
		}
	}
	ran := map[string]steps.SavedState{}
	for id, r := range m.runs {
		ran[id] = steps.SavedState{Status: r.status, At: r.at}
	}
	return steps.LeftBillable(list, v, ran) + fmt.Sprintf("Progress is saved: run beyond --project %s to carry on.\n", v.Project)
}

// programOptions are the Bubble Tea options the guide and the board share.
// The colour profile is set rather than left to Bubble Tea: detecting it
// inside tmux runs `tmux info`, about 40 ms before the first frame, and
// lipgloss already did so for standard output when it was initialised
// (lipgloss.Writer), so the guide reuses that answer.
func programOptions(ctx context.Context, in io.Reader, out io.Writer, noColor bool, width, height int) []tea.ProgramOption {
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(out)}
	if in != nil {
		popts = append(popts, tea.WithInput(in))
	}
	switch {
	case noColor:
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	case out == os.Stdout:
		popts = append(popts, tea.WithColorProfile(lipgloss.Writer.Profile))
	}
	if width > 0 && height > 0 {
		popts = append(popts, tea.WithWindowSize(width, height))
	}
	return popts
}
