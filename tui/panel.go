package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
)

// failoverPanel is the live failover panel, a component: the timeline and
// statistics of the prober's samples (failover), its own keys (f, w, b, u,
// m, and { } to scroll the timeline), and its size. The parent lays it out, tells it what it knows of the
// runner (SetLive), and performs what a key asks of the runner: the panel
// only says which (panelAction), since the runner is the parent's to call.
type failoverPanel struct {
	*failover
	keys failoverKeys
	st   Styles
	pv   panelView
}

// failoverKeys are the panel's keys, taken from the one KeyMap.
type failoverKeys struct {
	Toggle, Watch, Break, Restore, Move key.Binding
	Earlier, Later                      key.Binding
}

func (k KeyMap) failoverKeys() failoverKeys {
	return failoverKeys{Toggle: k.Failover, Watch: k.Watch, Break: k.Break, Restore: k.Restore, Move: k.Move,
		Earlier: k.Earlier, Later: k.Later}
}

// FullHelp lists the panel's keys for the ? page.
func (k failoverKeys) FullHelp() []keyHelp {
	return []keyHelp{
		{k.Toggle, "show or hide the live failover panel"},
		{k.Watch, "start or stop probing the global IP"},
		{k.Break, "break region A (runs the break-region step)"},
		{k.Restore, "restore region A (runs the restore step)"},
		{k.Move, "move the simulated client to another region"},
		{key.NewBinding(key.WithKeys(append(k.Earlier.Keys(), k.Later.Keys()...)...)), "scroll the failover timeline to earlier lines, later ones"},
	}
}

// panelAction is what a key of the panel asks the parent to do.
type panelAction int

const (
	panelNone    panelAction = iota
	panelToggle              // show or hide the panel
	panelWatch               // start or stop probing the global IP
	panelBreak               // run the break-region step
	panelRestore             // run the restore step
	panelMove                // move the simulated client
)

func newFailoverPanel(v steps.Vars, keys KeyMap, st Styles, plain bool) failoverPanel {
	return failoverPanel{failover: newFailover(v), keys: keys.failoverKeys(), st: st,
		pv: panelView{plain: plain, letters: st.colorless}}
}

// SetSize sets the panel's width and the lines it may take.
func (p *failoverPanel) SetSize(w, h int) { p.pv.width, p.pv.height = w, h }

// liveState is what the parent knows that the panel shows: whether the
// prober runs, the global IP, where the simulated client stands.
type liveState struct {
	watching, canWatch bool
	ip, client         string
	simulated          bool
}

// SetLive tells the panel what the parent knows of the runner.
func (p *failoverPanel) SetLive(s liveState) {
	p.pv.watching, p.pv.canWatch, p.pv.ip, p.pv.client, p.pv.simulated = s.watching, s.canWatch, s.ip, s.client, s.simulated
}

// Height is how many lines the panel wants.
func (p *failoverPanel) Height() int { return p.height() }

// View draws the panel in the size set.
func (p *failoverPanel) View() []string {
	if p.pv.height <= 0 {
		return nil
	}
	return p.view(p.pv, p.st)
}

// Update says what a key of the panel asks for; ok is false for a key that
// is not the panel's.
func (p *failoverPanel) Update(k tea.KeyPressMsg) (act panelAction, ok bool) {
	switch {
	case key.Matches(k, p.keys.Toggle):
		return panelToggle, true
	case key.Matches(k, p.keys.Watch):
		return panelWatch, true
	case key.Matches(k, p.keys.Break):
		return panelBreak, true
	case key.Matches(k, p.keys.Restore):
		return panelRestore, true
	case key.Matches(k, p.keys.Move):
		return panelMove, true
	case key.Matches(k, p.keys.Earlier):
		// The panel's own scroll: nothing for the parent to do.
		p.scroll(1, p.pv)
		return panelNone, true
	case key.Matches(k, p.keys.Later):
		p.scroll(-1, p.pv)
		return panelNone, true
	}
	return panelNone, false
}

// ShortHelp are the panel's keys for the footer; moving the client is the
// simulator's alone.
func (p *failoverPanel) ShortHelp() []key.Binding {
	b := []key.Binding{p.keys.Watch, p.keys.Break, p.keys.Restore}
	if p.pv.simulated {
		b = append(b, p.keys.Move)
	}
	return append(b, p.keys.Toggle)
}

// ScrollHelp are the timeline's keys for the footer, once it holds more
// than it shows: the parent puts them last, so that a narrow footer cuts
// them (the timeline's own first line names them too) rather than quit.
func (p *failoverPanel) ScrollHelp() []key.Binding {
	var b []key.Binding
	first, last, n := p.shown(p.pv)
	if first > 0 {
		b = append(b, p.keys.Earlier)
	}
	if last < n {
		b = append(b, p.keys.Later)
	}
	return b
}
