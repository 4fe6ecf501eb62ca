// Package glamour renders Markdown for the terminal: a copy of
// charm.land/glamour/v2 v2.0.1 (MIT, LICENSE beside this file) cut to what
// the guide uses (NewTermRenderer with WithStyles and WithWordWrap), without
// syntax highlighting.
//
// Why a copy: glamour's ansi package imports chroma for code blocks, and
// chroma parses all of its ~250 lexer and ~70 style XML files in package
// init, at every start of beyond whatever it then does: about 13 ms of CPU
// and a third of the heap that start allocates, the largest part of the
// guide's time to its first frame. The guide's style names no highlighting
// theme, so glamour drew its code blocks without chroma anyway: the output
// is the same, byte for byte (tui's TestProseRendererMatchesGlamour renders
// every page of content/ with both).
//
// What changed from v2.0.1: codeblock.go renders every block as glamour does
// a block whose style names no theme; the style's Theme and Chroma fields,
// the Options' ChromaFormatter and glamour.go's other options (standard
// styles, JSON styles, emoji, io.Reader/Writer) are gone. HTML is stripped
// by ansi/strip.go, which does what bluemonday's strict policy did without
// bluemonday's package init (3 ms, 1 MB: its CSS tables and expressions
// serve its other policies). The rest of ansi/ and internal/autolink are
// glamour's files with their imports renamed.
package glamour

import (
	"bytes"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"

	"github.com/beyond-lab/beyond/tui/internal/glamour/ansi"
)

const (
	defaultWidth = 80
	highPriority = 1000
)

// A TermRendererOption sets an option on a TermRenderer.
type TermRendererOption func(*TermRenderer) error

// TermRenderer renders Markdown in a style.
type TermRenderer struct {
	md          goldmark.Markdown
	ansiOptions ansi.Options
}

// NewTermRenderer returns a new TermRenderer the given options.
func NewTermRenderer(options ...TermRendererOption) (*TermRenderer, error) {
	tr := &TermRenderer{
		md: goldmark.New(
			goldmark.WithExtensions(
				extension.GFM,
				extension.DefinitionList,
			),
			goldmark.WithParserOptions(
				parser.WithAutoHeadingID(),
			),
		),
		ansiOptions: ansi.Options{
			WordWrap: defaultWidth,
		},
	}
	for _, o := range options {
		if err := o(tr); err != nil {
			return nil, err
		}
	}
	ar := ansi.NewRenderer(tr.ansiOptions)
	tr.md.SetRenderer(
		renderer.NewRenderer(
			renderer.WithNodeRenderers(
				util.Prioritized(ar, highPriority),
			),
		),
	)
	return tr, nil
}

// WithStyles sets a TermRenderer's styles.
func WithStyles(styles ansi.StyleConfig) TermRendererOption {
	return func(tr *TermRenderer) error {
		tr.ansiOptions.Styles = styles
		return nil
	}
}

// WithWordWrap sets a TermRenderer's word wrap.
func WithWordWrap(wordWrap int) TermRendererOption {
	return func(tr *TermRenderer) error {
		tr.ansiOptions.WordWrap = wordWrap
		return nil
	}
}

// Render returns the markdown rendered into a string.
func (tr *TermRenderer) Render(in string) (string, error) {
	b, err := tr.RenderBytes([]byte(in))
	return string(b), err
}

// RenderBytes returns the markdown rendered into a byte slice.
func (tr *TermRenderer) RenderBytes(in []byte) ([]byte, error) {
	var buf bytes.Buffer
	err := tr.md.Convert(in, &buf)
	return buf.Bytes(), err
}
