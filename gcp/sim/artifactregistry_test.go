package sim

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"testing"

	artifactregistry "cloud.google.com/go/artifactregistry/apiv1"
	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
)

func createRepo(c *artifactregistry.Client, ctx context.Context, loc, id string) (*artifactregistrypb.Repository, error) {
	op, err := c.CreateRepository(ctx, &artifactregistrypb.CreateRepositoryRequest{
		Parent:       parent(testProject, loc),
		RepositoryId: id,
		Repository:   &artifactregistrypb.Repository{Format: artifactregistrypb.Repository_DOCKER, Description: "the lab's images"},
	})
	if err != nil {
		return nil, err
	}
	return op.Wait(ctx)
}

func TestArtifactRegistryDisabled(t *testing.T) {
	s := startSim(t, Options{})
	_, err := createRepo(newARClient(t, s), testCtx(t), "us-central1", "lab")
	wantCode(t, err, codes.PermissionDenied, "Artifact Registry API has not been used in project")
	var ae *apierror.APIError
	if !errors.As(err, &ae) || ae.Reason() != "SERVICE_DISABLED" || ae.Metadata()["service"] != APIArtifactRegistry {
		t.Errorf("error %v: want ErrorInfo SERVICE_DISABLED for %s", err, APIArtifactRegistry)
	}
}

func TestArtifactRegistryRepositories(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIArtifactRegistry)
	c := newARClient(t, s)
	ctx := testCtx(t)

	repo, err := createRepo(c, ctx, "us-central1", "lab")
	if err != nil {
		t.Fatalf("CreateRepository: %v", err)
	}
	name := parent(testProject, "us-central1") + "/repositories/lab"
	if repo.Name != name || repo.Format != artifactregistrypb.Repository_DOCKER || repo.Mode != artifactregistrypb.Repository_STANDARD_REPOSITORY ||
		repo.RegistryUri != "us-central1-docker.pkg.dev/"+testProject+"/lab" || repo.Description != "the lab's images" ||
		!repo.SatisfiesPzi || repo.GetVulnerabilityScanningConfig().GetEnablementState() != artifactregistrypb.Repository_VulnerabilityScanningConfig_SCANNING_DISABLED {
		t.Errorf("created repository = %v", repo)
	}
	// As recorded from Google: the create operation's repository has no
	// times; a get has them.
	if repo.CreateTime != nil {
		t.Errorf("created repository has createTime %v; Google's operation answers none", repo.CreateTime)
	}
	got, err := c.GetRepository(ctx, &artifactregistrypb.GetRepositoryRequest{Name: name})
	if err != nil || got.Name != name || got.CreateTime == nil {
		t.Fatalf("GetRepository = %v, %v", got, err)
	}

	// gcloud artifacts repositories update --description: PATCH with a mask.
	upd, err := c.UpdateRepository(ctx, &artifactregistrypb.UpdateRepositoryRequest{
		Repository: &artifactregistrypb.Repository{Name: name, Description: "updated", Labels: map[string]string{"keep": "no"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	})
	if err != nil || upd.Description != "updated" || len(upd.Labels) != 0 {
		t.Errorf("UpdateRepository(description) = %v, %v; want the description changed and nothing else", upd, err)
	}
	_, err = c.UpdateRepository(ctx, &artifactregistrypb.UpdateRepositoryRequest{
		Repository: &artifactregistrypb.Repository{Name: name, Format: artifactregistrypb.Repository_MAVEN},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"format"}},
	})
	wantCode(t, err, codes.InvalidArgument, "Invalid update_mask path \"format\"")

	_, err = createRepo(c, ctx, "us-central1", "lab")
	wantCode(t, err, codes.AlreadyExists, "the repository already exists")
	_, err = createRepo(c, ctx, "us-central1", "Lab_Images")
	wantCode(t, err, codes.InvalidArgument, "Invalid repository id")
	_, err = createRepo(c, ctx, "atlantis1", "lab")
	wantCode(t, err, codes.InvalidArgument, "Invalid location")

	for _, id := range []string{"b-repo", "a-repo"} {
		if _, err := createRepo(c, ctx, "us-central1", id); err != nil {
			t.Fatalf("CreateRepository(%s): %v", id, err)
		}
	}
	if _, err := createRepo(c, ctx, "europe", "elsewhere"); err != nil {
		t.Fatalf("CreateRepository in multi-region europe: %v", err)
	}
	var names []string
	it := c.ListRepositories(ctx, &artifactregistrypb.ListRepositoriesRequest{Parent: parent(testProject, "us-central1"), PageSize: 2})
	for {
		r, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("ListRepositories: %v", err)
		}
		names = append(names, r.Name)
	}
	p := parent(testProject, "us-central1") + "/repositories/"
	if want := fmt.Sprint([]string{p + "a-repo", p + "b-repo", p + "lab"}); fmt.Sprint(names) != want {
		t.Errorf("ListRepositories = %v, want %v", names, want)
	}

	s.mu.Lock()
	exists := s.repositoryExistsLocked(testProject, "us-central1", "lab")
	s.mu.Unlock()
	if !exists {
		t.Error("repositoryExistsLocked(lab) = false after create")
	}

	dop, err := c.DeleteRepository(ctx, &artifactregistrypb.DeleteRepositoryRequest{Name: name})
	if err != nil {
		t.Fatalf("DeleteRepository: %v", err)
	}
	if err := dop.Wait(ctx); err != nil {
		t.Fatalf("DeleteRepository.Wait: %v", err)
	}
	_, err = c.GetRepository(ctx, &artifactregistrypb.GetRepositoryRequest{Name: name})
	wantCode(t, err, codes.NotFound, "Requested entity was not found.")
	_, err = c.DeleteRepository(ctx, &artifactregistrypb.DeleteRepositoryRequest{Name: name})
	wantCode(t, err, codes.NotFound, "Requested entity was not found.")

	s.mu.Lock()
	exists = s.repositoryExistsLocked(testProject, "us-central1", "lab")
	s.mu.Unlock()
	if exists {
		t.Error("repositoryExistsLocked(lab) = true after delete")
	}
}

func TestArtifactRegistryFault(t *testing.T) {
	faults := NewFaults(1, 0, Fault{Method: "artifactregistry.CreateRepository", Status: 409, Message: "injected conflict", Times: 1})
	s := startSim(t, Options{Faults: faults})
	enableAPIs(t, s, testProject, APIArtifactRegistry)
	c := newARClient(t, s)
	_, err := createRepo(c, testCtx(t), "us-central1", "lab")
	wantCode(t, err, codes.AlreadyExists, "injected conflict")
	if _, err := createRepo(c, testCtx(t), "us-central1", "lab"); err != nil {
		t.Fatalf("CreateRepository after the fault is spent: %v", err)
	}
}

// A Cloud Run deploy cannot pull from a repository that does not exist,
// whatever the registry holds.
func TestArtifactRegistryGatesRunImages(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIArtifactRegistry)
	image := "us-central1-docker.pkg.dev/" + testProject + "/lab/app:v1"
	pushed := []runImageVerdict{{image: image, found: true, digest: "sha256:abc"}}
	gate := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.gateVerdictsLocked(pushed)[0].found
	}
	if gate() {
		t.Error("image of a missing repository passes the gate")
	}
	if _, err := createRepo(newARClient(t, s), testCtx(t), "us-central1", "lab"); err != nil {
		t.Fatalf("CreateRepository: %v", err)
	}
	if !gate() {
		t.Error("image of an existing repository refused by the gate")
	}
}
