package parity

import "strings"

// accepted are the differences from Google that the simulator keeps, each
// with its reason. request is a part of the recorded "METHOD URL"; diff is
// the start of the difference as the test words it ("" is any). An entry
// that no longer matches anything fails the test, so the list stays true.
var accepted = []struct {
	log, request, diff, reason string
}{
	{"artifactregistry-repository-gcloud.log", "/repositories", "extra field registryUri",
		"registryUri (REGION-docker.pkg.dev/PROJECT/REPO) is a field of Artifact Registry v1 Repository message in the client library the simulator is built on (artifactregistrypb), which Google fills; the recording (May 2025) predates it"},
	{"artifactregistry-repository-gcloud.log", "/operations/", "extra field response.registryUri",
		"as above, in the create operation's response"},
}

func acceptedIndex(log string, d difference) int {
	for i, a := range accepted {
		if a.log == log && strings.Contains(d.request, a.request) && strings.HasPrefix(d.what, a.diff) {
			return i
		}
	}
	return -1
}
