package gcp

import (
	"context"
	"fmt"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"

	"github.com/beyond-lab/beyond/lab"
)

const (
	roleRepoAdmin = "roles/artifactregistry.admin"
	arAPI         = lab.APIArtifactRegistry
)

func (c *Cloud) repoName(location, repo string) string {
	return fmt.Sprintf("projects/%s/locations/%s/repositories/%s", c.Project, location, repo)
}

// GetRepository reads an Artifact Registry repository.
func (c *Cloud) GetRepository(ctx context.Context, location, repo string) (*artifactregistrypb.Repository, error) {
	if c.snap != nil {
		return c.snapRepository(ctx, location, repo)
	}
	var r *artifactregistrypb.Repository
	err := c.call(ctx, "artifactregistry.GetRepository", read, nil, func(ctx context.Context) error {
		var err error
		r, err = c.repos.GetRepository(ctx, &artifactregistrypb.GetRepositoryRequest{Name: c.repoName(location, repo)}, noRetry)
		return err
	})
	return r, c.explain(err, fmt.Sprintf("read Artifact Registry repository %s in %s", repo, location), arAPI, "roles/artifactregistry.reader")
}

// CreateDockerRepository creates a Docker-format repository and waits.
func (c *Cloud) CreateDockerRepository(ctx context.Context, location, repo, description string, progress Progress) error {
	what := fmt.Sprintf("create Artifact Registry repository %s in %s", repo, location)
	err := c.call(ctx, "artifactregistry.CreateRepository", create, progress, func(ctx context.Context) error {
		op, err := c.repos.CreateRepository(ctx, &artifactregistrypb.CreateRepositoryRequest{
			Parent:       fmt.Sprintf("projects/%s/locations/%s", c.Project, location),
			RepositoryId: repo,
			Repository: &artifactregistrypb.Repository{
				Format:      artifactregistrypb.Repository_DOCKER,
				Description: description,
			},
		}, noRetry)
		if err != nil {
			return err
		}
		return c.waitOp(ctx, what, "longrunning.GetOperation", progress, op.Done, func(ctx context.Context) error {
			_, err := op.Poll(ctx, noRetry)
			return err
		})
	})
	return c.explain(err, what, arAPI, roleRepoAdmin)
}

// DeleteRepository deletes a repository and its images; it reports whether
// there was one.
func (c *Cloud) DeleteRepository(ctx context.Context, location, repo string, progress Progress) (bool, error) {
	what := fmt.Sprintf("delete Artifact Registry repository %s in %s", repo, location)
	err := c.call(ctx, "artifactregistry.DeleteRepository", remove, progress, func(ctx context.Context) error {
		op, err := c.repos.DeleteRepository(ctx, &artifactregistrypb.DeleteRepositoryRequest{Name: c.repoName(location, repo)}, noRetry)
		if err != nil {
			return err
		}
		return c.waitOp(ctx, what, "longrunning.GetOperation", progress, op.Done, func(ctx context.Context) error { return op.Poll(ctx, noRetry) })
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, c.explain(err, what, arAPI, roleRepoAdmin)
}
