package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/beyond-lab/beyond/lab"

	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// IAM admin (google.iam.admin.v1.IAM) for service accounts, and the
// identity facts the rest of the simulator asks: whether an account exists
// (Cloud Run refuses a revision that names one that does not), and which
// roles it holds on its project (Gemini refuses a caller without
// roles/aiplatform.user). The project's IAM policy itself is served by
// Resource Manager (projects.go).
//
// A new project has the Compute Engine default service account, holding
// roles/editor as Google grants it in projects outside an organisation that
// enforces iam.automaticIamGrantsForDefaultServiceAccounts; the simulator's
// caller (runPrincipal) owns the project.

// APIIAM and APIResourceManager are the services of these APIs.
const (
	APIIAM             = lab.APIIAM
	APIResourceManager = lab.APIResourceManager
)

// projectIAM is a project's service accounts and IAM policy.
type projectIAM struct {
	accounts map[string]*adminpb.ServiceAccount // by email
	policy   iamPolicy
}

// defaultServiceAccount is the Compute Engine default service account of a
// project: what a Cloud Run revision runs as unless it names another.
func defaultServiceAccount(number int64) string {
	return fmt.Sprintf("%d-compute@developer.gserviceaccount.com", number)
}

func newProjectIAM(id string, number int64) *projectIAM {
	x := &projectIAM{accounts: map[string]*adminpb.ServiceAccount{}}
	def := defaultServiceAccount(number)
	x.accounts[def] = iamNewAccount(id, def, "Compute Engine default service account", "")
	x.policy.version = 1
	x.policy.bindings = []*iampb.Binding{
		{Role: "roles/editor", Members: []string{"serviceAccount:" + def}},
		{Role: "roles/owner", Members: []string{"user:" + runPrincipal}},
	}
	return x
}

// iamNewAccount builds an account with a stable unique ID (21 digits, as
// Google's).
func iamNewAccount(project, email, display, description string) *adminpb.ServiceAccount {
	sum := sha256.Sum256([]byte(project + "/" + email))
	uid := "1" + fmt.Sprintf("%020d", binary.BigEndian.Uint64(sum[:8]))
	return &adminpb.ServiceAccount{
		Name:           "projects/" + project + "/serviceAccounts/" + email,
		ProjectId:      project,
		UniqueId:       uid,
		Email:          email,
		DisplayName:    display,
		Description:    description,
		Oauth2ClientId: uid,
		Etag:           []byte{0x07, 0x06, 0x00},
	}
}

// actAs fails as Cloud Run does when a revision names a service account
// that does not exist (Google cannot tell "missing" from "not allowed").
func (x *projectIAM) actAs(email string) error {
	if _, ok := x.accounts[email]; ok {
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "Permission 'iam.serviceaccounts.actAs' denied on service account %s (or it may not exist).", email)
}

// holds reports whether the account email exists and holds one of roles on
// the project.
func (x *projectIAM) holds(email string, roles ...string) bool {
	if _, ok := x.accounts[email]; !ok {
		return false
	}
	for _, r := range roles {
		if x.policy.allows(r, "serviceAccount:"+email) {
			return true
		}
	}
	return false
}

// iamAdminServer is google.iam.admin.v1.IAM, service accounts only.
type iamAdminServer struct {
	adminpb.UnimplementedIAMServer
	s *Sim
}

func (s *Sim) registerIAMAdmin(g *grpc.Server) {
	adminpb.RegisterIAMServer(g, &iamAdminServer{s: s})
}

// iamProjectLocked resolves projects/P (P an ID, a number, or "-" with an
// email that names the project) for an IAM admin call.
func (s *Sim) iamProjectLocked(ref, email string) (*project, error) {
	if ref == "-" {
		_, domain, _ := strings.Cut(email, "@")
		if id, ok := strings.CutSuffix(domain, ".iam.gserviceaccount.com"); ok {
			ref = id
		} else if num, ok := strings.CutSuffix(email, "-compute@developer.gserviceaccount.com"); ok {
			ref = num
		} else {
			return nil, status.Error(codes.NotFound, "Unknown service account")
		}
	}
	p, err := s.lookupProjectLocked(ref, APIIAM)
	if err != nil {
		return nil, err
	}
	if err := s.requireEnabledLocked(p, APIIAM); err != nil {
		return nil, err
	}
	return p, nil
}

// parseAccountName splits projects/P/serviceAccounts/ACCOUNT.
func parseAccountName(name string) (proj, account string, err error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "serviceAccounts" || parts[1] == "" || parts[3] == "" {
		return "", "", grpcInvalid("Invalid service account name %q: want projects/PROJECT/serviceAccounts/EMAIL", name)
	}
	return parts[1], parts[3], nil
}

// accountLocked finds an account by email or unique ID.
func (x *projectIAM) accountLocked(account string) (*adminpb.ServiceAccount, bool) {
	if sa, ok := x.accounts[account]; ok {
		return sa, true
	}
	if _, err := strconv.ParseUint(account, 10, 64); err == nil {
		for _, sa := range x.accounts {
			if sa.GetUniqueId() == account {
				return sa, true
			}
		}
	}
	return nil, false
}

func (a *iamAdminServer) CreateServiceAccount(ctx context.Context, req *adminpb.CreateServiceAccountRequest) (*adminpb.ServiceAccount, error) {
	s := a.s
	ref, ok := strings.CutPrefix(req.GetName(), "projects/")
	if !ok || ref == "" || strings.Contains(ref, "/") {
		return nil, grpcInvalid("Invalid name %q: want projects/PROJECT", req.GetName())
	}
	id := req.GetAccountId()
	if !lab.ServiceAccountID.Valid(id) {
		return nil, grpcInvalid("Invalid account_id %q: an account ID has 6 to 30 characters, lowercase letters, digits or hyphens, starts with a letter and does not end with a hyphen.", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.iamProjectLocked(ref, "")
	if err != nil {
		return nil, err
	}
	email := id + "@" + p.id + ".iam.gserviceaccount.com"
	if _, exists := p.iam.accounts[email]; exists {
		return nil, status.Errorf(codes.AlreadyExists, "Service account %s already exists within project projects/%s.", id, p.id)
	}
	in := req.GetServiceAccount()
	sa := iamNewAccount(p.id, email, in.GetDisplayName(), in.GetDescription())
	s.keepLocked(p)
	p.iam.accounts[email] = sa
	s.changedLocked()
	return proto.Clone(sa).(*adminpb.ServiceAccount), nil
}

// namedAccountLocked finds the service account projects/P/serviceAccounts/
// EMAIL (or unique ID), or answers Google's NOT_FOUND. Call with s.mu held.
func (s *Sim) namedAccountLocked(name string) (*project, *adminpb.ServiceAccount, error) {
	ref, account, err := parseAccountName(name)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.iamProjectLocked(ref, account)
	if err != nil {
		return nil, nil, err
	}
	sa, ok := p.iam.accountLocked(account)
	if !ok {
		return nil, nil, status.Error(codes.NotFound, "Unknown service account")
	}
	return p, sa, nil
}

func (a *iamAdminServer) GetServiceAccount(ctx context.Context, req *adminpb.GetServiceAccountRequest) (*adminpb.ServiceAccount, error) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	_, sa, err := s.namedAccountLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	return proto.Clone(sa).(*adminpb.ServiceAccount), nil
}

func (a *iamAdminServer) ListServiceAccounts(ctx context.Context, req *adminpb.ListServiceAccountsRequest) (*adminpb.ListServiceAccountsResponse, error) {
	s := a.s
	ref, ok := strings.CutPrefix(req.GetName(), "projects/")
	if !ok || ref == "" || strings.Contains(ref, "/") {
		return nil, grpcInvalid("Invalid name %q: want projects/PROJECT", req.GetName())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.iamProjectLocked(ref, "")
	if err != nil {
		return nil, err
	}
	var all []*adminpb.ServiceAccount
	for _, email := range sortedKeys(p.iam.accounts) {
		all = append(all, proto.Clone(p.iam.accounts[email]).(*adminpb.ServiceAccount))
	}
	page, next, err := grpcPage(all, req.GetPageSize(), req.GetPageToken(), 20, 100)
	if err != nil {
		return nil, err
	}
	return &adminpb.ListServiceAccountsResponse{Accounts: page, NextPageToken: next}, nil
}

// PatchServiceAccount changes an account's display name and description
// (gcloud iam service-accounts update). As recorded from Google
// (parity/testdata), the answer holds the account's name and the fields
// the mask names, not the whole account. An empty mask is refused, as
// Google does.
func (a *iamAdminServer) PatchServiceAccount(ctx context.Context, req *adminpb.PatchServiceAccountRequest) (*adminpb.ServiceAccount, error) {
	s := a.s
	in := req.GetServiceAccount()
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, grpcInvalid("update_mask is required: name the fields to change, display_name or description")
	}
	for _, p := range paths {
		if p != "display_name" && p != "description" {
			return nil, grpcInvalid("Invalid update_mask path %q: only display_name and description can be changed", p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, sa, err := s.namedAccountLocked(in.GetName())
	if err != nil {
		return nil, err
	}
	out := &adminpb.ServiceAccount{Name: sa.GetName()}
	for _, p := range paths {
		switch p {
		case "display_name":
			sa.DisplayName, out.DisplayName = in.GetDisplayName(), in.GetDisplayName()
		case "description":
			sa.Description, out.Description = in.GetDescription(), in.GetDescription()
		}
	}
	s.changedLocked()
	return out, nil
}

// DeleteServiceAccount deletes the account. As on Google, its bindings stay
// in the project's policy, renamed deleted:serviceAccount:EMAIL?uid=ID, and
// grant nothing: an account created again with the same name starts with
// no roles.
func (a *iamAdminServer) DeleteServiceAccount(ctx context.Context, req *adminpb.DeleteServiceAccountRequest) (*emptypb.Empty, error) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, sa, err := s.namedAccountLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	delete(p.iam.accounts, sa.GetEmail())
	member := "serviceAccount:" + sa.GetEmail()
	for _, b := range p.iam.policy.bindings {
		for i, m := range b.Members {
			if m == member {
				b.Members[i] = "deleted:" + member + "?uid=" + sa.GetUniqueId()
			}
		}
	}
	s.changedLocked()
	return &emptypb.Empty{}, nil
}
