package sim

import (
	"context"
	"errors"
	"net/http"
	"testing"

	artifactregistry "cloud.google.com/go/artifactregistry/apiv1"
	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/iterator"
)

// TestArtifactRegistryREST drives repositories over REST with the official
// REST client: create, get, list, delete, Google's refusals, and the gRPC
// surface seeing the same repositories.
func TestArtifactRegistryREST(t *testing.T) {
	s := startSim(t, Options{})
	ctx := testCtx(t)
	c, err := artifactregistry.NewRESTClient(context.Background(), restOptions(t, s, "artifactregistry.googleapis.com")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var ae *apierror.APIError

	_, err = createRepo(c, ctx, "us-central1", "lab")
	if !errors.As(err, &ae) || ae.HTTPCode() != http.StatusForbidden || ae.Reason() != "SERVICE_DISABLED" {
		t.Errorf("create before the API is enabled: %v; want 403 SERVICE_DISABLED", err)
	}
	enableAPIs(t, s, testProject, APIArtifactRegistry)

	repo, err := createRepo(c, ctx, "us-central1", "lab")
	if err != nil {
		t.Fatalf("CreateRepository over REST: %v", err)
	}
	if repo.GetName() != "projects/"+testProject+"/locations/us-central1/repositories/lab" || repo.GetFormat() != artifactregistrypb.Repository_DOCKER ||
		repo.GetRegistryUri() != "us-central1-docker.pkg.dev/"+testProject+"/lab" {
		t.Errorf("created repository = %v", repo)
	}
	if _, err := createRepo(c, ctx, "us-central1", "lab"); !errors.As(err, &ae) || ae.HTTPCode() != http.StatusConflict {
		t.Errorf("a second create: %v; want 409", err)
	}
	if _, err := createRepo(c, ctx, "us-central1", "Bad_Name"); !errors.As(err, &ae) || ae.HTTPCode() != http.StatusBadRequest {
		t.Errorf("a bad repository id: %v; want 400", err)
	}
	if _, err := createRepo(c, ctx, "mars-north1", "lab"); !errors.As(err, &ae) || ae.HTTPCode() != http.StatusBadRequest {
		t.Errorf("an unknown location: %v; want 400", err)
	}
	if _, err := createRepo(c, ctx, "europe-west1", "other"); err != nil {
		t.Fatal(err)
	}

	// The gRPC surface sees the repository made over REST.
	got, err := newARClient(t, s).GetRepository(ctx, &artifactregistrypb.GetRepositoryRequest{Name: repo.GetName()})
	if err != nil || got.GetDescription() != "the lab's images" {
		t.Errorf("GetRepository over gRPC = %v, %v", got, err)
	}
	it := c.ListRepositories(ctx, &artifactregistrypb.ListRepositoriesRequest{Parent: parent(testProject, "us-central1")})
	var names []string
	for {
		r, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("ListRepositories over REST: %v", err)
		}
		names = append(names, r.GetName())
	}
	if len(names) != 1 || names[0] != repo.GetName() {
		t.Errorf("repositories in us-central1 = %v, want only %s", names, repo.GetName())
	}

	op, err := c.DeleteRepository(ctx, &artifactregistrypb.DeleteRepositoryRequest{Name: repo.GetName()})
	if err != nil {
		t.Fatalf("DeleteRepository over REST: %v", err)
	}
	if err := op.Wait(ctx); err != nil {
		t.Fatalf("DeleteRepository Wait: %v", err)
	}
	if _, err := c.GetRepository(ctx, &artifactregistrypb.GetRepositoryRequest{Name: repo.GetName()}); !errors.As(err, &ae) || ae.HTTPCode() != http.StatusNotFound {
		t.Errorf("get after delete: %v; want 404", err)
	}
}

// TestArtifactRegistryRESTWire checks the calls gcloud makes that the Go
// client has no method for, and the operation read by name.
func TestArtifactRegistryRESTWire(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIArtifactRegistry)
	base := "http://artifactregistry.googleapis.com/"
	code, body := restCall(t, s, "GET", base+"v1beta2/projects/"+testProject+"/locations", "")
	locs, _ := body["locations"].([]any)
	if code != 200 || len(locs) < 3 {
		t.Fatalf("list locations = %d %v", code, body)
	}
	first, _ := locs[0].(map[string]any)
	if first["locationId"] != "asia" || first["name"] != "projects/"+testProject+"/locations/asia" {
		t.Errorf("first location = %v", first)
	}
	code, body = restCall(t, s, "POST", base+"v1/projects/"+testProject+"/locations/us/repositories?repositoryId=multi", `{"format":"DOCKER"}`)
	name, _ := body["name"].(string)
	resp, _ := body["response"].(map[string]any)
	if code != 200 || body["done"] != true || resp["@type"] != "type.googleapis.com/google.devtools.artifactregistry.v1.Repository" || resp["format"] != "DOCKER" {
		t.Fatalf("create = %d %v, want a done operation with the repository", code, body)
	}
	if code, body = restCall(t, s, "GET", base+"v1/"+name, ""); code != 200 || body["done"] != true {
		t.Errorf("GET %s = %d %v", name, code, body)
	}
	if code, body = restCall(t, s, "POST", base+"v1/projects/"+testProject+"/locations/us/repositories?repositoryId=noformat", `{}`); code != 400 {
		t.Errorf("create without a format = %d %v, want 400", code, body)
	}
}
