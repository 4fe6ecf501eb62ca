package ansi

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// stripTags removes every tag, comment and doctype from s, and the content
// of the elements whose text is not prose (script, style, title, frames,
// objects), leaving the text HTML-escaped. It does exactly what glamour's
// bluemonday.StrictPolicy().Sanitize does (strip_test.go compares the two):
// bluemonday's package init compiles CSS tables and regular expressions
// (about 3 ms and 1 MB at every start of beyond) for its other policies.
func stripTags(s string) string {
	if strings.TrimSpace(s) == "" {
		return s
	}
	var (
		b        strings.Builder
		skip     bool   // in an element whose content is left out
		skipping int    // how deep, counted as bluemonday counts
		recent   string // the element most recently started
	)
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		if z.Next() == html.ErrorToken {
			return b.String() // io.EOF: a strings.Reader fails no other way
		}
		t := z.Token()
		switch t.Type {
		case html.StartTagToken:
			recent = elementName(t.Data)
			if recent == "script" || recent == "style" {
				continue
			}
			if skipContent[t.Data] {
				skip = true
				skipping++
			}
		case html.EndTagToken:
			name := elementName(t.Data)
			if recent == name {
				recent = ""
			}
			if name == "script" || name == "style" {
				continue
			}
			if skipContent[t.Data] {
				skipping--
				if skipping == 0 {
					skip = false
				}
			}
		case html.TextToken:
			if !skip && recent != "script" && recent != "style" {
				b.WriteString(t.String())
			}
		}
	}
}

// skipContent are the elements whose content bluemonday's policies leave
// out with the element.
var skipContent = map[string]bool{
	"frame": true, "frameset": true, "iframe": true, "noembed": true, "noframes": true,
	"noscript": true, "nostyle": true, "object": true, "script": true, "style": true, "title": true,
}

// elementName is bluemonday's normaliseElementName.
func elementName(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(strconv.QuoteToASCII(s)), `"`), `"`)
}
