package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the TUI answers, in one place, so the help bar and
// Update cannot disagree.
type KeyMap struct {
	Next, Prev           key.Binding
	Run, Check, Copy     key.Binding
	PageUp, PageDown     key.Binding
	List, Failover       key.Binding
	Watch, Break         key.Binding
	Restore, Move        key.Binding
	Help, Quit           key.Binding
	Yes, No, Begin, Back key.Binding
}

// DefaultKeyMap returns the keys described in the README.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Next:     key.NewBinding(key.WithKeys("j", "down", "n"), key.WithHelp("j/n/↓", "next step")),
		Prev:     key.NewBinding(key.WithKeys("k", "up", "p"), key.WithHelp("k/p/↑", "previous step")),
		Run:      key.NewBinding(key.WithKeys("enter", "r"), key.WithHelp("enter/r", "run step")),
		Check:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "re-check")),
		Copy:     key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy command")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "scroll up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d", "space"), key.WithHelp("pgdn", "scroll down")),
		List:     key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "step list")),
		Failover: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "failover panel")),
		Watch:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "start/stop watching")),
		Break:    key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "break region A")),
		Restore:  key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "restore region A")),
		Move:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "move client")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Yes:      key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:       key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),
		Begin:    key.NewBinding(key.WithKeys("enter", "space"), key.WithHelp("enter", "begin")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	}
}

// FullHelp groups every key by what it acts on, for the ? screen.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Next, k.Prev, k.PageDown, k.PageUp, k.List},
		{k.Run, k.Check, k.Copy, k.Help, k.Quit},
		{k.Failover, k.Watch, k.Break, k.Restore, k.Move},
	}
}
