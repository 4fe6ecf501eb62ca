package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
)

// KeyMap is every key the TUI answers, in one place, so the help bar and
// Update cannot disagree.
type KeyMap struct {
	Next, Prev           key.Binding
	Run, Check, Copy     key.Binding
	RunRest              key.Binding // run the remaining steps until one fails
	Type                 key.Binding
	View                 key.Binding // the command, full screen
	BoxUp, BoxDown       key.Binding // scroll the command box
	PageUp, PageDown     key.Binding
	List, Failover       key.Binding
	Watch, Break         key.Binding
	Restore, Move        key.Binding
	Earlier, Later       key.Binding // scroll the failover panel's timeline
	RunMore, RunBack     key.Binding // scroll the run panel
	Help, Quit           key.Binding
	Close                key.Binding // closes the full-screen command
	Stop                 key.Binding // leaves typing mode
	Yes, No, Begin, Back key.Binding
}

// DefaultKeyMap returns the keys described in the README.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Next:     key.NewBinding(key.WithKeys("j", "down", "n"), key.WithHelp("n", "next")),
		Prev:     key.NewBinding(key.WithKeys("k", "up", "p"), key.WithHelp("p", "prev")),
		Run:      key.NewBinding(key.WithKeys("enter", "r"), key.WithHelp("enter", "run")),
		RunRest:  key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "run the rest")),
		Check:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "check")),
		Copy:     key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy")),
		Type:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "type it")),
		View:     key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "view")),
		BoxUp:    key.NewBinding(key.WithKeys("["), key.WithHelp("[", "back")),
		BoxDown:  key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "more")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "scroll up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d", "space"), key.WithHelp("pgdn", "scroll")),
		List:     key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "list")),
		Failover: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "panel")),
		Watch:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "watch")),
		Break:    key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "break A")),
		Restore:  key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "restore A")),
		Move:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "move")),
		Earlier:  key.NewBinding(key.WithKeys("{"), key.WithHelp("{", "earlier")),
		Later:    key.NewBinding(key.WithKeys("}"), key.WithHelp("}", "later")),
		RunMore:  key.NewBinding(key.WithKeys(">"), key.WithHelp(">", "more")),
		RunBack:  key.NewBinding(key.WithKeys("<"), key.WithHelp("<", "back")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "keys")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Stop:     key.NewBinding(key.WithKeys("t", "esc"), key.WithHelp("t/esc", "stop waiting")),
		Close:    key.NewBinding(key.WithKeys("v", "esc", "q"), key.WithHelp("v/esc", "close")),
		Yes:      key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:       key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),
		Begin:    key.NewBinding(key.WithKeys("enter", "space"), key.WithHelp("enter", "begin")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	}
}

// keyHelp is one line of the ? page.
type keyHelp struct {
	b    key.Binding
	desc string
}

// FullHelp lists every key with what it does, for the ? page.
// The components' keys come from the components' own lists.
func (k KeyMap) FullHelp() []keyHelp {
	all := []keyHelp{
		{k.Next, "next step"},
		{k.Prev, "previous step"},
	}
	all = append(all, k.runKeys().FullHelp()...)
	all = append(all, []keyHelp{
		{k.Copy, "copy the step's gcloud command (OSC 52 clipboard)"},
		{k.View, "show the whole command, full screen (v, esc or q closes it)"},
		{key.NewBinding(key.WithKeys(append(k.BoxDown.Keys(), k.BoxUp.Keys()...)...)), "scroll the command box down, up"},
		{k.PageDown, "scroll the text down"},
		{k.PageUp, "scroll the text up"},
		{k.List, "show or hide the list of steps"},
	}...)
	all = append(all, k.failoverKeys().FullHelp()...)
	return append(all,
		keyHelp{k.Help, "show or hide this page (q closes it too)"},
		keyHelp{k.Quit, "quit; progress is saved (asks first if a step is running)"},
	)
}

// keyNames writes a binding's keys the way a keyboard labels them.
func keyNames(b key.Binding) string {
	names := map[string]string{"down": "↓", "up": "↑", "pgdown": "pgdn", "space": "space"}
	var out []string
	for _, k := range b.Keys() {
		if n, ok := names[k]; ok {
			k = n
		}
		out = append(out, k)
	}
	return strings.Join(out, " ")
}
