package steps

import "testing"

// TestDescribeBodyShowsAnErrorPagesTitle: an HTML error page (a load
// balancer's, Google's front end's) is said by its title, not its markup;
// any other body is said as it is.
func TestDescribeBodyShowsAnErrorPagesTitle(t *testing.T) {
	page := func(title string) string {
		return `<html><head> <meta http-equiv="content-type" content="text/html;charset=utf-8"> <title>` + title + `</title> </head> <body text=#000000 bgcolor=#ffffff> <h1>Error: ` + title + `</h1></body></html>`
	}
	for _, c := range []struct {
		sm   Sample
		body string
		want string
	}{
		{Sample{Status: 404}, page("404 Not Found"), "404 Not Found"},
		{Sample{Status: 503, Region: "us-central1"}, page("503 Service Unavailable"), "503 Service Unavailable from us-central1"},
		{Sample{Status: 502}, page("Server Error"), "502: Server Error"},
		{Sample{Status: 503}, "no healthy upstream", "503: no healthy upstream"},
		{Sample{Status: 200}, page("It's running!"), "200"},
	} {
		if got := describeBody(c.sm, c.body); got != c.want {
			t.Errorf("describeBody(%d, %.30q…) = %q; want %q", c.sm.Status, c.body, got, c.want)
		}
	}
}
