package parity

import "strings"

// accepted are the differences from Google that the simulator keeps, each
// with its reason. request is a part of the recorded "METHOD URL"; diff is
// the start of the difference as the test words it ("" is any). An entry
// that no longer matches anything fails the test, so the list stays true.
var accepted = []struct {
	log, request, diff, reason string
}{}

func acceptedIndex(log string, d difference) int {
	for i, a := range accepted {
		if a.log == log && strings.Contains(d.request, a.request) && strings.HasPrefix(d.what, a.diff) {
			return i
		}
	}
	return -1
}
