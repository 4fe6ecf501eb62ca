package ansi

import (
	"testing"

	"github.com/microcosm-cc/bluemonday"
)

// TestStripTagsIsBluemonday: stripTags does what glamour's
// bluemonday.StrictPolicy().Sanitize does, on every kind of HTML a page
// may hold, well-formed or not.
func TestStripTagsIsBluemonday(t *testing.T) {
	strict := bluemonday.StrictPolicy()
	for _, in := range []string{
		"", "   ", "\n", "plain text", "a & b < c > d \"e\" 'f'",
		"<b>bold</b> and <i>italic</i>", "<p>para</p>\n<p>two</p>",
		"<!-- a comment --> after", "<!DOCTYPE html><html><body>x</body></html>",
		"<script>alert('x')</script>visible", "<style>p { color: red }</style>shown",
		"<title>hidden</title>kept", "<iframe src=x>inside</iframe>out",
		"<noscript><p>no</p></noscript>yes", "<object><param>o</param></object>after",
		"</title>stray end<title>open", "<script>never closed", "<SCRIPT>upper</SCRIPT>after",
		"<br/>self<img src='x'/>closing", "<a href=\"https://example.com\">link</a>",
		"&amp; &lt;tag&gt; &#13; &copy; &nbsp;", "text\r\nwith\tcontrol",
		"<div><span>nested <em>deep</em></span></div>", "<p>unclosed <b>bold",
		"<title><title>twice</title>still</title>after", "< not a tag", "a <3 b",
		"<ünïcode>x</ünïcode>", "<style>a</style><p>b</p><script>c</script>d",
	} {
		if got, want := stripTags(in), strict.Sanitize(in); got != want {
			t.Errorf("stripTags(%q) = %q, bluemonday says %q", in, got, want)
		}
	}
}
