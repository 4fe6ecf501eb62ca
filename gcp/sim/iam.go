package sim

import (
	"bytes"
	"encoding/binary"
	"strings"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// iamPolicy is the IAM policy of one resource: what SetIamPolicy stored and
// how many times it was set, which makes its etag.
type iamPolicy struct {
	bindings []*iampb.Binding
	version  int32
	sets     uint32
}

// iamEmptyEtag is the etag Google gives a policy never set ("ACAB").
var iamEmptyEtag = []byte{0x00, 0x20, 0x01}

func (ip *iamPolicy) etag() []byte {
	if ip.sets == 0 {
		return iamEmptyEtag
	}
	// Google's etags for set policies start "BwY" in base64; keep the look.
	return binary.BigEndian.AppendUint32([]byte{0x07, 0x06, 0x00}, ip.sets)
}

// get returns the policy as GetIamPolicy answers it.
func (ip *iamPolicy) get() *iampb.Policy {
	out := &iampb.Policy{Version: ip.version, Etag: ip.etag()}
	for _, b := range ip.bindings {
		out.Bindings = append(out.Bindings, proto.Clone(b).(*iampb.Binding))
	}
	return out
}

// set replaces the policy, as SetIamPolicy does. A policy carrying an etag
// must carry the current one (read-modify-write); rolePrefix is the family
// of roles the resource accepts besides the basic ones ("roles/run.").
func (ip *iamPolicy) set(in *iampb.Policy, rolePrefix string) (*iampb.Policy, error) {
	if in == nil {
		return nil, grpcInvalid("policy is required")
	}
	if len(in.GetEtag()) > 0 && !bytes.Equal(in.GetEtag(), ip.etag()) {
		return nil, status.Error(codes.Aborted, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.")
	}
	version := int32(1)
	var bindings []*iampb.Binding
	for _, b := range in.GetBindings() {
		if err := iamValidateBinding(b, rolePrefix); err != nil {
			return nil, err
		}
		if b.GetCondition() != nil {
			version = 3
		}
		if len(b.GetMembers()) == 0 {
			continue // Google drops bindings left with no members
		}
		bindings = append(bindings, proto.Clone(b).(*iampb.Binding))
	}
	if in.GetVersion() > version {
		version = in.GetVersion()
	}
	ip.bindings = bindings
	ip.version = version
	ip.sets++
	return ip.get(), nil
}

// allows reports whether member holds role.
func (ip *iamPolicy) allows(role, member string) bool {
	for _, b := range ip.bindings {
		if b.GetRole() != role || b.GetCondition() != nil {
			continue
		}
		for _, m := range b.GetMembers() {
			if m == member {
				return true
			}
		}
	}
	return false
}

func iamValidateBinding(b *iampb.Binding, rolePrefix string) error {
	role := b.GetRole()
	switch {
	case role == "":
		return grpcInvalid("a binding has no role: every binding needs a role such as %sinvoker", rolePrefix)
	case role == "roles/owner", role == "roles/editor", role == "roles/viewer", strings.HasPrefix(role, rolePrefix):
	case strings.HasPrefix(role, "projects/") || strings.HasPrefix(role, "organizations/"):
		// custom roles: accepted as given
	case strings.HasPrefix(role, "roles/"):
		return grpcInvalid("Role %s is not supported for this resource.", role)
	default:
		return grpcInvalid("Role %s is not a valid role name: roles are named roles/NAME, e.g. %sinvoker", role, rolePrefix)
	}
	for _, m := range b.GetMembers() {
		if !iamValidMember(m) {
			return grpcInvalid("Invalid member '%s' in the binding for %s: use allUsers, allAuthenticatedUsers, user:EMAIL, serviceAccount:EMAIL, group:EMAIL or domain:DOMAIN.", m, role)
		}
	}
	return nil
}

func iamValidMember(m string) bool {
	if m == "allUsers" || m == "allAuthenticatedUsers" {
		return true
	}
	for _, prefix := range []string{"user:", "serviceAccount:", "group:", "domain:", "principal://", "principalSet://", "deleted:", "projectOwner:", "projectEditor:", "projectViewer:"} {
		if rest, ok := strings.CutPrefix(m, prefix); ok && rest != "" {
			return true
		}
	}
	return false
}

// iamTestPermissions answers TestIamPermissions for the simulator's only caller,
// who owns the project: every valid permission asked is held. Permissions of
// another service than the resource's (prefix "run.") are invalid.
func iamTestPermissions(perms []string, prefix string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range perms {
		if !strings.HasPrefix(p, prefix) || strings.Count(p, ".") != 2 {
			return nil, grpcInvalid("Permission %s is not valid for this resource.", p)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}
