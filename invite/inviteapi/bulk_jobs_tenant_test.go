package inviteapi_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
)

// slowEnv is a Service whose policy hook keeps an import running.
func slowEnv(t *testing.T, orgs ...string) *env {
	e := newEnv(t, openSQLite(t), func(c *invite.Config) {
		c.BeforeInvite = func(ctx context.Context, in invite.PolicyInput) error {
			time.Sleep(2 * time.Millisecond)
			return nil
		}
	})
	for _, o := range orgs {
		e.Org(t, o)
	}
	return e
}

// No organization can evict another's jobs: A starting many tiny jobs
// leaves B's previewed dry run in place and confirmable.
func TestBulkJobsNoEvictionAcrossOrganizations(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	jobs, err := inviteapi.NewBulkJobs(e.Svc, inviteapi.BulkJobsConfig{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jobs.Close() })
	ctx := context.Background()
	dry, err := jobs.Start(ctx, "org_b", strings.NewReader("email\nbea@example.com\n"), invite.BulkOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := jobs.Wait(ctx, "org_b", dry.ID, 10*time.Second); err != nil || !st.Confirmable {
		t.Fatalf("B's dry run: %+v %v", st, err)
	}
	for i := range inviteapi.DefaultBulkJobsKept + 5 {
		st, err := jobs.Start(ctx, "org_a", strings.NewReader("email\na"+strconv.Itoa(i)+"@example.com\n"), invite.BulkOptions{DryRun: true})
		if err != nil {
			t.Fatalf("A's job %d: %v", i, err)
		}
		if _, err := jobs.Wait(ctx, "org_a", st.ID, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(jobs.List("org_a")); n != inviteapi.DefaultBulkJobsKept {
		t.Errorf("A keeps %d jobs, want its own limit %d", n, inviteapi.DefaultBulkJobsKept)
	}
	if st, err := jobs.Status("org_b", dry.ID); err != nil || !st.Confirmable {
		t.Fatalf("A's jobs evicted B's dry run: %+v %v", st, err)
	}
	if _, err := jobs.Confirm(ctx, "org_b", dry.ID, ""); err != nil {
		t.Fatalf("B cannot confirm: %v", err)
	}
	if len(jobs.List("org_b")) == 0 || len(jobs.List("org_a")) == 0 {
		t.Fatal("lists are empty")
	}
	for _, st := range jobs.List("org_a") {
		if st.OrganizationID != "org_a" {
			t.Fatalf("A sees a job of %s", st.OrganizationID)
		}
	}
}

// No organization can block another's imports: A at its running limit
// does not make B's import 429; the global cap still holds.
func TestBulkJobsNoBlockingAcrossOrganizations(t *testing.T) {
	e := slowEnv(t, "org_a", "org_b", "org_c")
	jobs, err := inviteapi.NewBulkJobs(e.Svc, inviteapi.BulkJobsConfig{MaxRunning: 2, MaxRunningTotal: 3, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jobs.Close() })
	ctx := context.Background()
	slow := func(prefix string) *rowSource {
		return &rowSource{Header: "email\n", N: 5000, Row: func(i int) string { return prefix + strconv.Itoa(i) + "@example.com\n" }}
	}
	for i := range 2 {
		if _, err := jobs.Start(ctx, "org_a", slow("a"+strconv.Itoa(i)+"x"), invite.BulkOptions{DryRun: true, BatchSize: 50}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := jobs.Start(ctx, "org_a", slow("a3x"), invite.BulkOptions{DryRun: true}); !errors.Is(err, inviteapi.ErrBulkBusy) {
		t.Fatalf("A's third job: %v, want ErrBulkBusy", err)
	}
	b, err := jobs.Start(ctx, "org_b", slow("b"), invite.BulkOptions{DryRun: true, BatchSize: 50})
	if err != nil {
		t.Fatalf("A's imports blocked B's: %v", err)
	}
	// Now 3 run: the global cap refuses C until one ends.
	if _, err := jobs.Start(ctx, "org_c", strings.NewReader("email\nc@example.com\n"), invite.BulkOptions{}); !errors.Is(err, inviteapi.ErrBulkBusy) {
		t.Fatalf("global cap: %v, want ErrBulkBusy", err)
	}
	if err := jobs.Cancel("org_b", b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Wait(ctx, "org_b", b.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Start(ctx, "org_c", strings.NewReader("email\nc@example.com\n"), invite.BulkOptions{}); err != nil {
		t.Fatalf("C after a slot freed: %v", err)
	}
}
