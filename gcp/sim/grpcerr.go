package sim

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// Helpers shared by the gRPC APIs: Google's error shapes, project look-up by
// ID or number, and paging.

// grpcFaultPrefixes name the gRPC services in fault names: a call to
// /google.cloud.run.v2.Services/CreateService is the fault "run.CreateService".
var grpcFaultPrefixes = map[string]string{
	"google.cloud.run.v2.Services":                         "run",
	"google.longrunning.Operations":                        "longrunning",
	"google.api.serviceusage.v1.ServiceUsage":              "serviceusage",
	"google.devtools.artifactregistry.v1.ArtifactRegistry": "artifactregistry",
	"google.iam.admin.v1.IAM":                              "iam",
	"google.cloud.resourcemanager.v3.Projects":             "resourcemanager",
}

// grpcFaultName is the fault name of a gRPC method, "/SERVICE/METHOD": the
// service's short prefix and the method, or SERVICE.METHOD for a service
// without one.
func grpcFaultName(fullMethod string) string {
	service, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if prefix, ok := grpcFaultPrefixes[service]; ok {
		service = prefix
	}
	return service + "." + method
}

// injectFaults is the gRPC surface's fault interceptor: a call that an
// injected fault hits fails with the fault's code before any handler runs
// (so before any check or change of state).
func (s *Sim) injectFaults(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if f, ok := s.fault(grpcFaultName(info.FullMethod)); ok {
		if f.After {
			if _, err := handler(ctx, req); err != nil {
				return nil, err
			}
		}
		return nil, faultStatus(f)
	}
	return handler(ctx, req)
}

// grpcWithDetails attaches details to a status; it cannot fail for the
// well-formed messages used here, and falls back to the bare status if it
// ever did.
func grpcWithDetails(st *status.Status, details ...protoadapt.MessageV1) error {
	if d, err := st.WithDetails(details...); err == nil {
		return d.Err()
	}
	return st.Err()
}

// grpcServiceDisabled is Google's answer to a call reaching an API that is not
// enabled in the project: PERMISSION_DENIED with ErrorInfo reason
// SERVICE_DISABLED and a Help link to the activation page.
func grpcServiceDisabled(p *project, api, title string) error {
	url := activationURL(api, p.number)
	msg := disabledMessage(title, api, p.number)
	consumer := fmt.Sprintf("projects/%d", p.number)
	return grpcWithDetails(status.New(codes.PermissionDenied, msg),
		&errdetails.ErrorInfo{
			Reason: "SERVICE_DISABLED",
			Domain: "googleapis.com",
			Metadata: map[string]string{
				"service":       api,
				"consumer":      consumer,
				"activationUrl": url,
				"catalogTitle":  title,
				"containerInfo": strconv.FormatInt(p.number, 10),
			},
		},
		&errdetails.LocalizedMessage{Locale: "en-US", Message: msg},
		&errdetails.Help{Links: []*errdetails.Help_Link{{
			Description: "Google developers console API activation",
			Url:         url,
		}}},
	)
}

// grpcConsumerInvalid is Google's answer for a project that does not exist or
// whose ID is malformed: PERMISSION_DENIED with reason CONSUMER_INVALID.
func grpcConsumerInvalid(ref, api string) error {
	msg := fmt.Sprintf("Permission denied on resource project %s.", ref)
	return grpcWithDetails(status.New(codes.PermissionDenied, msg),
		&errdetails.ErrorInfo{
			Reason: "CONSUMER_INVALID",
			Domain: "googleapis.com",
			Metadata: map[string]string{
				"service":       api,
				"consumer":      "projects/" + ref,
				"containerInfo": ref,
			},
		},
		&errdetails.LocalizedMessage{Locale: "en-US", Message: msg},
		&errdetails.Help{Links: []*errdetails.Help_Link{{
			Description: "Google developers console",
			Url:         "https://console.developers.google.com",
		}}},
	)
}

// lookupProjectLocked resolves a project reference from a resource name, a
// project ID or a project number, as Google accepts both. A valid ID names a
// project that exists (a new one if none is stored: readProjectLocked); a number
// must be one already answered with. api names the API being called, for
// the error.
func (s *Sim) lookupProjectLocked(ref, api string) (*project, error) {
	if ref != "" && strings.Trim(ref, "0123456789") == "" {
		if p := s.projectByNumberLocked(ref); p != nil {
			return p, nil
		}
		return nil, grpcConsumerInvalid(ref, api)
	}
	p, err := s.readProjectLocked(ref)
	if err != nil {
		return nil, grpcConsumerInvalid(ref, api)
	}
	return p, nil
}

// projectByNumberLocked finds a project by its number, nil if none has it:
// a stored one, or one whose number a recent read answered with.
func (s *Sim) projectByNumberLocked(num string) *project {
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return nil
	}
	if p := s.byNumber[n]; p != nil {
		return p
	}
	if id, ok := s.shown.ids[n]; ok {
		if p, err := s.readProjectLocked(id); err == nil && p.number == n {
			return p
		}
	}
	return nil
}

// requireEnabledLocked fails with SERVICE_DISABLED unless api is enabled in
// p and, under Conditions.APIPropagation, the enable has spread. Call with
// s.mu held.
func (s *Sim) requireEnabledLocked(p *project, api string) error {
	if s.answersLocked(p, api) {
		return nil
	}
	return grpcServiceDisabled(p, api, catalogTitle(api))
}

// catalogTitle is the display name of a catalog service.
func catalogTitle(api string) string {
	for _, c := range catalog {
		if c.name == api {
			return c.title
		}
	}
	return api
}

// grpcInvalid is an INVALID_ARGUMENT error.
func grpcInvalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// grpcPage returns one page of items for a List call: size is the page size
// asked for (0 means def; more than limit is cut to limit), token the opaque
// token from the previous page. Tokens are offsets, encoded so that clients
// treat them as opaque.
func grpcPage[T any](items []T, size int32, token string, def, limit int) (page []T, next string, err error) {
	n := int(size)
	switch {
	case n < 0:
		return nil, "", grpcInvalid("page_size must not be negative, got %d", size)
	case n == 0:
		n = def
	case n > limit:
		n = limit
	}
	start := 0
	if token != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(token)
		off, ok := strings.CutPrefix(string(raw), "o:")
		start, err = strconv.Atoi(off)
		if derr != nil || !ok || err != nil || start < 0 || start > len(items) {
			return nil, "", grpcInvalid("invalid page_token %q: pass the next_page_token of the previous page unchanged", token)
		}
	}
	end := min(start+n, len(items))
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}
