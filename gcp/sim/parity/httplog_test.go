package parity

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// exchange is one recorded request and Google's answer, in the format of
// Config Connector's golden logs: the request line, headers, a blank line,
// an optional body; the status line ("200 OK"), headers, a blank line and
// the body; entries separated by a line "---".
type exchange struct {
	line    int // where the request starts in the log, for messages
	method  string
	url     string
	reqType string // the request's Content-Type
	reqBody string
	status  int
	body    string
}

var statusLine = regexp.MustCompile(`^([1-5][0-9][0-9]) [A-Za-z]`)

// readLog parses a recording.
func readLog(path string) ([]exchange, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out   []exchange
		block []string
		start = 1
		n     int
	)
	flush := func() error {
		if len(strings.TrimSpace(strings.Join(block, ""))) == 0 {
			return nil
		}
		ex, err := parseExchange(block)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, start, err)
		}
		ex.line = start
		out = append(out, ex)
		return nil
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
		if sc.Text() == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			block, start = nil, n+1
			continue
		}
		block = append(block, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseExchange(lines []string) (exchange, error) {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	if len(lines) == 0 {
		return exchange{}, fmt.Errorf("empty entry")
	}
	var ex exchange
	method, url, ok := strings.Cut(lines[0], " ")
	if !ok {
		return ex, fmt.Errorf("no request line: %q", lines[0])
	}
	ex.method, ex.url = method, url
	i := 1
	for ; i < len(lines) && lines[i] != ""; i++ {
		if k, v, ok := strings.Cut(lines[i], ":"); ok && strings.EqualFold(k, "Content-Type") {
			ex.reqType = strings.TrimSpace(v)
		}
	}
	var body []string
	for ; i < len(lines); i++ {
		if m := statusLine.FindStringSubmatch(lines[i]); m != nil {
			ex.status, _ = strconv.Atoi(m[1])
			break
		}
		body = append(body, lines[i])
	}
	if ex.status == 0 {
		return ex, fmt.Errorf("%s %s: no status line", method, url)
	}
	ex.reqBody = strings.TrimSpace(strings.Join(body, "\n"))
	for i++; i < len(lines) && lines[i] != ""; i++ {
	}
	ex.body = strings.TrimSpace(strings.Join(lines[min(i, len(lines)):], "\n"))
	return ex, nil
}
