package sim

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	artifactregistry "cloud.google.com/go/artifactregistry/apiv1"
	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/beyond-lab/beyond/image"
)

// ociRepo creates the Artifact Registry repository location/id in project
// through the official client, enabling the API first.
func ociRepo(t *testing.T, s *Sim, project, location, id string) {
	t.Helper()
	s.mu.Lock()
	p, err := s.projectLocked(project)
	if err == nil {
		p.enabled[APIArtifactRegistry] = true
		s.changedLocked()
	}
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := artifactregistry.NewClient(ctx, option.WithEndpoint(s.Endpoints().ArtifactRegistry), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	op, err := c.CreateRepository(ctx, &artifactregistrypb.CreateRepositoryRequest{
		Parent:       "projects/" + project + "/locations/" + location,
		RepositoryId: id,
		Repository:   &artifactregistrypb.Repository{Format: artifactregistrypb.Repository_DOCKER},
	})
	if err == nil {
		_, err = op.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("CreateRepository %s/%s: %v", location, id, err)
	}
}

func ociRandomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestOCIRegistryPushPull(t *testing.T) {
	s := startSim(t, Options{})
	host := s.Endpoints().Registry
	if host == "" {
		t.Fatal("Endpoints().Registry is empty")
	}
	ociRepo(t, s, testProject, "us-central1", "lab")
	img := ociRandomImage(t)
	want, _ := img.Digest()
	ar := "us-central1-docker.pkg.dev/" + testProject + "/lab/gemini-service:v1"

	digest, err := image.Push(context.Background(), img, image.SimRef(ar, host), image.PushOptions{Insecure: true})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if digest != want.String() {
		t.Errorf("Push = %s, want %s", digest, want)
	}

	// registryImage knows it in both forms, by tag and by digest, and with
	// s.mu held.
	for _, ref := range []string{
		ar,
		image.SimRef(ar, host),
		"us-central1-docker.pkg.dev/" + testProject + "/lab/gemini-service@" + want.String(),
	} {
		s.mu.Lock()
		got, ok := s.registryImage(ref)
		s.mu.Unlock()
		if !ok || got != want.String() {
			t.Errorf("registryImage(%s) = %q, %v; want %s", ref, got, ok, want)
		}
	}
	for _, ref := range []string{
		"us-central1-docker.pkg.dev/" + testProject + "/lab/gemini-service:v2",
		"us-central1-docker.pkg.dev/" + testProject + "/lab/other:v1",
		"docker.io/library/busybox:latest",
		"not a reference",
	} {
		if got, ok := s.registryImage(ref); ok {
			t.Errorf("registryImage(%s) = %q; want not found", ref, got)
		}
	}

	pulled, err := s.pullImage(context.Background(), ar)
	if err != nil {
		t.Fatalf("pullImage: %v", err)
	}
	if got, _ := pulled.Digest(); got != want {
		t.Errorf("pulled %s, pushed %s", got, want)
	}
}

// Pushing to an Artifact Registry path whose repository does not exist
// fails as Artifact Registry does: 404 NAME_UNKNOWN.
func TestOCIRegistryNeedsRepository(t *testing.T) {
	s := startSim(t, Options{})
	host := s.Endpoints().Registry
	ref := image.SimRef("europe-west1-docker.pkg.dev/"+testProject+"/missing/app:v1", host)
	img := ociRandomImage(t)

	r, _ := name.ParseReference(ref, name.Insecure)
	err := remote.Write(r, img)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound || len(terr.Errors) == 0 ||
		terr.Errors[0].Code != transport.NameUnknownErrorCode || terr.Errors[0].Message != `Repository "missing" not found` {
		t.Fatalf("push to a missing repository: %v; want 404 NAME_UNKNOWN Repository \"missing\" not found", err)
	}
	if _, err := image.Push(context.Background(), img, ref, image.PushOptions{Insecure: true}); err == nil || !strings.Contains(err.Error(), "create it first") {
		t.Errorf("image.Push = %v; want advice to create the repository", err)
	}

	// Same repository name, wrong location: still missing.
	ociRepo(t, s, testProject, "us-central1", "missing")
	if err := remote.Write(r, img); err == nil {
		t.Errorf("push to europe-west1 succeeded with the repository in us-central1")
	}
	ociRepo(t, s, testProject, "europe-west1", "missing")
	if err := remote.Write(r, img); err != nil {
		t.Errorf("push once the repository exists: %v", err)
	}

	// Paths outside Artifact Registry's are open.
	other, _ := name.ParseReference(host+"/scratch/app:v1", name.Insecure)
	if err := remote.Write(other, img); err != nil {
		t.Errorf("push to a plain path: %v", err)
	}
}

func TestOCIRegistryClosed(t *testing.T) {
	s := New(Options{})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	host := s.Endpoints().Registry
	s.Close()
	if _, ok := s.registryImage(host + "/scratch/app:v1"); ok {
		t.Error("registryImage answers after Close")
	}
	if _, err := http.Get("http://" + host + "/v2/"); err == nil {
		t.Error("the registry still listens after Close")
	}
}

// TestOCIRegistryBlobsOnDisk checks that the registry keeps its blobs in a
// directory of its own under Options.BlobDir, removed at Close.
func TestOCIRegistryBlobsOnDisk(t *testing.T) {
	parent := t.TempDir()
	s := New(Options{BlobDir: parent})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(parent, "beyond-sim-blobs-*"))
	if len(dirs) != 1 {
		t.Fatalf("blob directories under %s: %v, want one", parent, dirs)
	}
	s.Close()
	if _, err := os.Stat(dirs[0]); !os.IsNotExist(err) {
		t.Errorf("%s after Close: %v, want it removed", dirs[0], err)
	}
}
