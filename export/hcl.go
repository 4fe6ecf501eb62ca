package export

import (
	"fmt"
	"strconv"
	"strings"
)

// A Resource is one resource of the Terraform configuration: its block and
// the import block that adopts what already exists.
type Resource struct {
	Type string // e.g. google_compute_url_map
	Name string // the local name
	// Doc is the provider's documentation page for Type, cited above the
	// block: argument names and the import ID format come from it.
	Doc string
	// Import is the import ID, an HCL template (it may use ${var.project}).
	Import string
	// Notes are comments above the block: what the provider cannot say, or
	// what the learner must know.
	Notes []string
	// Body is the block's body (attributes and nested blocks), as HCL.
	Body string
}

// Address is how other blocks refer to the resource.
func (r Resource) Address() string { return r.Type + "." + r.Name }

// docPage is the google provider's page for a resource type.
func docPage(typ string) string {
	return "https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/" + strings.TrimPrefix(typ, "google_")
}

// body writes an HCL body: attributes and nested blocks, indented by two
// spaces a level. terraform fmt aligns the equals signs; Format does it
// here (hclwrite.Format).
type body struct {
	b     strings.Builder
	depth int
}

func (w *body) line(s string) {
	w.b.WriteString(strings.Repeat("  ", w.depth))
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

// attr writes name = expr, expr being HCL already.
func (w *body) attr(name, expr string) { w.line(name + " = " + expr) }

// str writes a string attribute, unless it is empty.
func (w *body) str(name, value string) {
	if value != "" {
		w.attr(name, quote(value))
	}
}

// num writes a number attribute, unless it is zero.
func (w *body) num(name string, n int64) {
	if n != 0 {
		w.attr(name, strconv.FormatInt(n, 10))
	}
}

// flag writes a bool attribute, unless it is false.
func (w *body) flag(name string, on bool) {
	if on {
		w.attr(name, "true")
	}
}

func (w *body) list(name string, values []string) {
	if len(values) == 0 {
		return
	}
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = quote(v)
	}
	w.attr(name, "["+strings.Join(q, ", ")+"]")
}

func (w *body) comment(text string) {
	for _, l := range strings.Split(text, "\n") {
		w.line("# " + l)
	}
}

// block writes a nested block whose body f writes; an empty one is left
// out.
func (w *body) block(name string, f func(*body)) {
	inner := &body{depth: w.depth + 1}
	f(inner)
	if inner.b.Len() == 0 {
		return
	}
	w.line(name + " {")
	w.b.WriteString(inner.b.String())
	w.line("}")
}

func (w *body) String() string { return w.b.String() }

// quote is s as an HCL string literal: the template sequences ${ and %{
// are escaped, so that a value is never read as an expression.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case (c == '$' || c == '%') && i+1 < len(s) && s[i+1] == '{':
			b.WriteByte(c)
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// localName turns a cloud name into a Terraform local name.
func localName(name string) string {
	n := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, name)
	if n == "" || (n[0] >= '0' && n[0] <= '9') {
		n = "r_" + n
	}
	return n
}
