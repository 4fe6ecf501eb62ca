package sim

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/beyond-lab/beyond/lab"

	"cloud.google.com/go/run/apiv2/runpb"
)

// What deploying an image comes to: ready, never listening, or not found.

// runImageVerdict is what deploying an image will come to, decided when the
// deploy is asked for (Google resolves the image then too).
type runImageVerdict struct {
	image  string
	digest string
	broken bool // starts but never listens on its port
	found  bool
}

// judgeImages resolves every container image of t. It calls the registry, so
// call it without s.mu held.
func (s *Sim) judgeImages(t *runpb.RevisionTemplate) []runImageVerdict {
	var out []runImageVerdict
	for _, c := range t.GetContainers() {
		out = append(out, s.judgeImage(c.GetImage()))
	}
	return out
}

func (s *Sim) judgeImage(ref string) runImageVerdict {
	v := runImageVerdict{image: ref}
	switch runImageRepo(ref) {
	case lab.HelloImage, runHelloImageLegacy:
		v.found = true
	case lab.BrokenImage:
		v.found, v.broken = true, true
	default:
		// The registry's owner maps *-docker.pkg.dev references, and its
		// own host, to what was pushed.
		v.digest, v.found = s.registryImage(ref)
	}
	return v
}

// gateVerdictsLocked refuses images of Artifact Registry repositories that
// do not exist (any more): Google cannot pull from a deleted repository,
// whatever the registry still holds.
func (s *Sim) gateVerdictsLocked(vs []runImageVerdict) []runImageVerdict {
	out := slices.Clone(vs)
	for i, v := range out {
		host, path, _ := strings.Cut(v.image, "/")
		loc, ok := strings.CutSuffix(host, "-docker.pkg.dev")
		parts := strings.Split(path, "/")
		if !v.found || !ok || len(parts) < 3 || runImageRepo(v.image) == lab.HelloImage {
			continue
		}
		if !s.repositoryExistsLocked(parts[0], loc, parts[1]) {
			out[i].found, out[i].digest = false, ""
		}
	}
	return out
}

// runImageRepo strips the tag or digest from an image reference.
func runImageRepo(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// runFailureMessage is Cloud Run's text for a revision that cannot serve.
func runFailureMessage(p *project, rs *runService, rev *runRevision, v runImageVerdict) (string, runpb.Condition_CommonReason) {
	head := fmt.Sprintf("Revision '%s' is not ready and cannot serve traffic.", rev.name)
	if !v.found {
		return fmt.Sprintf("%s Image '%s' not found.", head, v.image), runpb.Condition_CONTAINER_MISSING
	}
	filter := url.QueryEscape(fmt.Sprintf("resource.type=\"cloud_run_revision\"\nresource.labels.service_name=\"%s\"\nresource.labels.revision_name=\"%s\"", rs.id, rev.name))
	logs := fmt.Sprintf("https://console.cloud.google.com/logs/viewer?project=%s&resource=cloud_run_revision/service_name/%s/revision_name/%s&advancedFilter=%s", p.id, rs.id, rev.name, filter)
	return fmt.Sprintf("%s The user-provided container failed to start and listen on the port defined provided by the PORT=%d environment variable within the allocated timeout. This can happen when the container port is misconfigured or if the timeout is too short. The health check timeout can be extended. Logs for this revision might contain more information.\n\nLogs URL: %s\nFor more troubleshooting guidance, see https://cloud.google.com/run/docs/troubleshooting#container-failed-to-start",
		head, runIngressPort(rev.template), logs), runpb.Condition_REVISION_FAILED
}

// runIngressPort is the port the revision's ingress container listens on.
func runIngressPort(t *runpb.RevisionTemplate) int32 {
	if c := runIngressContainer(t); c != nil && len(c.GetPorts()) > 0 {
		return c.GetPorts()[0].GetContainerPort()
	}
	return 8080
}

// runIngressContainer is the container that receives requests: the one with a
// port, or the only one.
func runIngressContainer(t *runpb.RevisionTemplate) *runpb.Container {
	for _, c := range t.GetContainers() {
		if len(c.GetPorts()) > 0 {
			return c
		}
	}
	if len(t.GetContainers()) > 0 {
		return t.GetContainers()[0]
	}
	return nil
}
