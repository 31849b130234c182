package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/storetest"
)

// Replica tests: two app replicas, each with its own pool, Store and
// invite.Service, share one schema, as two processes on one database would.

// replicaKey is the SecretKey every replica shares (as a deployment would).
var replicaKey = []byte("0123456789abcdef0123456789abcdef")

type replica struct {
	name string
	pool *pgxpool.Pool
	st   *pgstore.Store
	svc  *invite.Service
}

// newReplicas starts n replicas on one fresh schema. edit, when given,
// changes replica i's pool config (hooks, tracers).
func newReplicas(t *testing.T, n int, edit func(i int, cfg *pgxpool.Config)) (string, []*replica) {
	t.Helper()
	schema := freshSchema(t)
	rs := make([]*replica, n)
	for i := range n {
		name := string(rune('A' + i))
		pool := newPool(t, func(cfg *pgxpool.Config) {
			cfg.MaxConns = 8
			cfg.ConnConfig.RuntimeParams["application_name"] = "invitekit-replica-" + name
			if edit != nil {
				edit(i, cfg)
			}
		})
		st, err := pgstore.New(t.Context(), pool, pgstore.Config{Schema: schema})
		require.NoError(t, err)
		svc, err := invite.New(st, invite.Config{SecretKey: replicaKey, AcceptURL: "https://app.example/accept"})
		require.NoError(t, err)
		rs[i] = &replica{name: name, pool: pool, st: st, svc: svc}
	}
	return schema, rs
}

// count runs a count(*) style query (with %[1]s as the schema) on pool.
func count(t *testing.T, pool *pgxpool.Pool, schema, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), fmt.Sprintf(query, pgx.Identifier{schema}.Sanitize()), args...).Scan(&n), query)
	return n
}

// tokenOf returns the token of an accept link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	tok := u.Query().Get("token")
	require.NotEmpty(t, tok, "no token in %q", link)
	return tok
}

func ptr[T any](v T) *T { return &v }

// TestReplicasAcceptOnce: 200 concurrent accepts of one token, spread over
// two replicas: exactly one succeeds, the others are told the invitation
// is used, and exactly one of everything was written.
func TestReplicasAcceptOnce(t *testing.T) {
	schema, rs := newReplicas(t, 2, nil)
	ctx := t.Context()
	org, _, err := rs[0].svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme"})
	require.NoError(t, err)
	res, err := rs[1].svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{
		Email: "ann@example.com", SendInvitationEmail: ptr(false), ReturnAcceptLink: true,
	})
	require.NoError(t, err)
	token := tokenOf(t, res.AcceptLink)

	const n = 200
	var (
		ok    atomic.Int32
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		svc := rs[i%2].svc
		wg.Go(func() {
			<-start
			_, errs[i] = svc.AcceptInvitation(ctx, token, invite.AcceptIdentity{
				Issuer: "https://idp.example", Subject: fmt.Sprintf("sub-%d", i),
				Email: "ann@example.com", EmailVerified: true,
			})
			if errs[i] == nil {
				ok.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load(), "exactly one accept succeeds")
	for i, err := range errs {
		if err != nil {
			assert.ErrorIs(t, err, invite.ErrInviteUsed, "accept %d", i)
		}
	}
	m, err := rs[0].st.GetMembership(ctx, org.ID, res.User.ID)
	require.NoError(t, err)
	assert.Equal(t, store.StatusActive, m.Status)
	pool := rs[0].pool
	assert.Equal(t, 1, count(t, pool, schema, `SELECT count(*) FROM %[1]s.invitations WHERE spend_time IS NOT NULL`))
	assert.Equal(t, 1, count(t, pool, schema, `SELECT count(*) FROM %[1]s.identities`), "one identity linked")
	assert.Equal(t, 1, count(t, pool, schema, `SELECT count(*) FROM %[1]s.events WHERE type = $1`, store.EventMembershipAccepted))
}

// TestReplicasConcurrentInvites: 10,000 concurrent invites over 100
// organizations with repeated emails (and repeated (org, email) pairs),
// spread over two replicas: no duplicate users, no duplicate memberships,
// none lost.
func TestReplicasConcurrentInvites(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 invites: skipped with -short")
	}
	schema, rs := newReplicas(t, 2, nil)
	ctx := t.Context()
	const (
		invites = 10000
		orgs    = 100
		emails  = 3000
	)
	orgIDs := make([]string, orgs)
	for i := range orgIDs {
		org, _, err := rs[i%2].svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: fmt.Sprintf("Org %d", i)})
		require.NoError(t, err)
		orgIDs[i] = org.ID
	}
	type job struct{ org, email string }
	rnd := rand.New(rand.NewPCG(1, 2))
	jobs := make([]job, invites)
	want := map[job]bool{}
	wantEmails := map[string]bool{}
	for i := range jobs {
		j := job{orgIDs[rnd.IntN(orgs)], fmt.Sprintf("person%04d@example.com", rnd.IntN(emails))}
		jobs[i] = j
		want[j] = true
		wantEmails[j.email] = true
	}
	require.Less(t, len(want), invites, "some (org, email) pairs repeat")

	queue := make(chan job)
	var (
		created, conflicts atomic.Int32
		wg                 sync.WaitGroup
	)
	for w := range 24 {
		svc := rs[w%2].svc
		wg.Go(func() {
			for j := range queue {
				_, err := svc.CreateUserAndMembership(ctx, j.org, invite.InviteRequest{Email: j.email})
				switch {
				case err == nil:
					created.Add(1)
				case errors.Is(err, invite.ErrAlreadyInvited), errors.Is(err, invite.ErrAlreadyMember):
					conflicts.Add(1)
				default:
					t.Errorf("invite %s into %s: %v", j.email, j.org, err)
				}
			}
		})
	}
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	wg.Wait()

	assert.Equal(t, len(want), int(created.Load()), "one success per distinct (org, email)")
	assert.Equal(t, invites-len(want), int(conflicts.Load()), "every repeat refused")

	pool := rs[0].pool
	assert.Equal(t, len(wantEmails), count(t, pool, schema, `SELECT count(*) FROM %[1]s.users`), "one user per email")
	assert.Equal(t, len(wantEmails), count(t, pool, schema, `SELECT count(DISTINCT email) FROM %[1]s.users`))
	assert.Equal(t, len(want), count(t, pool, schema, `SELECT count(*) FROM %[1]s.memberships`), "no duplicate or lost membership")
	assert.Equal(t, len(want), count(t, pool, schema, `SELECT count(DISTINCT (org_id, user_id)) FROM %[1]s.memberships`))
	assert.Equal(t, len(want), count(t, pool, schema, `SELECT count(*) FROM %[1]s.invitations`))
	assert.Equal(t, len(want), count(t, pool, schema, `SELECT count(*) FROM %[1]s.outbox WHERE status = 'QUEUED'`))
	assert.Equal(t, len(want), count(t, pool, schema, `SELECT count(*) FROM %[1]s.events WHERE type = $1`, store.EventMembershipInvited))

	// The stored (org, email) pairs are exactly the expected ones.
	rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT m.org_id, u.email FROM %[1]s.memberships m JOIN %[1]s.users u ON u.id = m.user_id`,
		pgx.Identifier{schema}.Sanitize()))
	require.NoError(t, err)
	got := map[job]bool{}
	for rows.Next() {
		var j job
		require.NoError(t, rows.Scan(&j.org, &j.email))
		got[j] = true
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, len(want), len(got))
	for j := range want {
		if !got[j] {
			t.Errorf("lost: %s in %s", j.email, j.org)
		}
	}
}

// TestReplicasDispatchersDeliverOnce: two dispatchers, one per replica,
// drain 2,000 queued invitation mails at once: every mail is delivered
// exactly once and marked SENT with its sealed link erased.
func TestReplicasDispatchersDeliverOnce(t *testing.T) {
	schema, rs := newReplicas(t, 2, nil)
	ctx := t.Context()
	const mails = 2000
	var orgIDs []string
	for i := range 20 {
		org, _, err := rs[i%2].svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: fmt.Sprintf("Org %d", i)})
		require.NoError(t, err)
		orgIDs = append(orgIDs, org.ID)
	}
	queue := make(chan int)
	var wg sync.WaitGroup
	for w := range 16 {
		svc := rs[w%2].svc
		wg.Go(func() {
			for i := range queue {
				if _, err := svc.CreateUserAndMembership(ctx, orgIDs[i%20], invite.InviteRequest{Email: fmt.Sprintf("mail%04d@example.com", i)}); err != nil {
					t.Errorf("invite %d: %v", i, err)
				}
			}
		})
	}
	for i := range mails {
		queue <- i
	}
	close(queue)
	wg.Wait()
	require.Equal(t, mails, count(t, rs[0].pool, schema, `SELECT count(*) FROM %[1]s.outbox WHERE status = 'QUEUED'`))

	var (
		mu        sync.Mutex
		delivered = map[string]int{} // Message-ID → deliveries
		byReplica = map[string]int{}
	)
	sealer, err := outbox.NewSealer(replicaKey)
	require.NoError(t, err)
	dispatchers := make([]*mailer.Dispatcher, len(rs))
	for i, r := range rs {
		m := mailer.MailerFunc(func(ctx context.Context, msg mailer.Message) error {
			time.Sleep(time.Millisecond) // a (fast) SMTP round trip
			mu.Lock()
			delivered[msg.MessageID]++
			byReplica[r.name]++
			mu.Unlock()
			return nil
		})
		dispatchers[i], err = mailer.NewDispatcher(r.st, m, nil, sealer, mailer.DispatcherConfig{Concurrency: 8, BatchSize: 25})
		require.NoError(t, err)
	}
	start := make(chan struct{})
	counts := make([]int, len(rs))
	for i, d := range dispatchers {
		wg.Go(func() {
			<-start
			n, err := d.DrainOnce(ctx)
			counts[i] = n
			if err != nil {
				t.Errorf("dispatcher %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()

	assert.Equal(t, mails, len(delivered), "every mail delivered")
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	assert.Equal(t, mails, counts[0]+counts[1])
	assert.Positive(t, byReplica["A"], "replica A delivered some")
	assert.Positive(t, byReplica["B"], "replica B delivered some")
	t.Logf("deliveries: A %d, B %d", byReplica["A"], byReplica["B"])
	pool := rs[0].pool
	assert.Equal(t, mails, count(t, pool, schema, `SELECT count(*) FROM %[1]s.outbox WHERE status = 'SENT' AND sealed IS NULL AND sent_time IS NOT NULL`))
	assert.Equal(t, 0, count(t, pool, schema, `SELECT count(*) FROM %[1]s.outbox WHERE status <> 'SENT'`))
}

// Bootstrap tests: two replicas (two pools, two Stores, one schema) start
// at once and each creates the same organization with the same first
// admin, as a deployment's startup code would. Exactly one creates it; the
// other is told store.ErrOrganizationExists (not ErrAlreadyMember, not a
// unique violation, not a deadlock), and both go on using it.

// holdAfterOrg is a pgx tracer that, once armed, holds the connection
// about to look the organization's first user up (the statement after the
// organization insert) until another backend is seen waiting on a lock:
// the other replica's insert of the same organization, which then waits
// on this transaction.
type holdAfterOrg struct {
	control *pgxpool.Pool
	armed   atomic.Bool
	waited  atomic.Bool // the other backend was seen waiting
}

func (h *holdAfterOrg) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !strings.Contains(data.SQL, "INSERT INTO") || !strings.Contains(data.SQL, ".users (") || !h.armed.CompareAndSwap(true, false) {
		return ctx
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := h.control.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND application_name = 'invitekit-bootstrap-B'`).Scan(&n)
		if err == nil && n > 0 {
			h.waited.Store(true)
			return ctx
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ctx
}
func (h *holdAfterOrg) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// bootstrapReplicas returns two Stores on one fresh schema, each on its own
// pool named invitekit-bootstrap-A and -B; tracer, when not nil, traces A's.
func bootstrapReplicas(t *testing.T, tracer pgx.QueryTracer) (string, *pgxpool.Pool, [2]*pgstore.Store) {
	t.Helper()
	schema := freshSchema(t)
	var sts [2]*pgstore.Store
	for i, name := range []string{"A", "B"} {
		pool := newPool(t, func(cfg *pgxpool.Config) {
			cfg.ConnConfig.RuntimeParams["application_name"] = "invitekit-bootstrap-" + name
			if i == 0 && tracer != nil {
				cfg.ConnConfig.Tracer = tracer
			}
		})
		st, err := pgstore.New(t.Context(), pool, pgstore.Config{Schema: schema})
		require.NoError(t, err)
		sts[i] = st
	}
	return schema, newPool(t), sts
}

// bootstrap is what a replica runs at startup: the organization and its
// first admin (invited), each replica with its own fresh ids.
func bootstrap(ctx context.Context, st *pgstore.Store, orgID, email string, now time.Time) error {
	org := store.Organization{ID: orgID, Name: "Acme", Locale: "en", CreateTime: now, UpdateTime: now}
	ev := store.Event{ID: store.NewID("evt"), OrganizationID: orgID, Type: store.EventOrganizationCreated, CreateTime: now}
	p := storetest.InviteParams(orgID, email, now)
	p.Membership.Roles = []string{"admin"}
	_, err := st.CreateOrganizationWithMember(ctx, org, ev, p)
	return err
}

// checkBootstrapped checks that both replicas go on with the organization
// (one of everything written) and can both use it.
func checkBootstrapped(t *testing.T, control *pgxpool.Pool, schema string, sts [2]*pgstore.Store, orgID, email string, now time.Time) {
	t.Helper()
	ctx := t.Context()
	countOf := func(query string, args ...any) int { return count(t, control, schema, query, args...) }
	assert.Equal(t, 1, countOf(`SELECT count(*) FROM %[1]s.organizations WHERE id = $1`, orgID))
	assert.Equal(t, 1, countOf(`SELECT count(*) FROM %[1]s.users WHERE email = $1`, email))
	assert.Equal(t, 1, countOf(`SELECT count(*) FROM %[1]s.memberships WHERE org_id = $1`, orgID))
	assert.Equal(t, 1, countOf(`SELECT count(*) FROM %[1]s.invitations WHERE org_id = $1`, orgID))
	assert.Equal(t, 1, countOf(`SELECT count(*) FROM %[1]s.outbox WHERE org_id = $1`, orgID))
	assert.Equal(t, 2, countOf(`SELECT count(*) FROM %[1]s.events WHERE org_id = $1`, orgID), "organization.created and membership.invited, once")

	for i, st := range sts {
		org, err := st.GetOrganization(ctx, orgID)
		require.NoError(t, err, "replica %d", i)
		assert.Equal(t, "Acme", org.Name)
		admin, err := st.GetUserByEmail(ctx, email)
		require.NoError(t, err, "replica %d", i)
		m, err := st.GetMembership(ctx, orgID, admin.ID)
		require.NoError(t, err, "replica %d", i)
		assert.True(t, m.HasRole("admin"))
		_, err = st.CreateMembership(ctx, storetest.InviteParams(orgID, fmt.Sprintf("member%d.%s", i, email), now))
		require.NoError(t, err, "replica %d invites into the organization", i)
	}
}

// TestBootstrapOverlapping: replica A has inserted the organization and
// holds its transaction open while replica B's insert of the same
// organization waits on it; then A commits. B gets ErrOrganizationExists.
func TestBootstrapOverlapping(t *testing.T) {
	hold := &holdAfterOrg{control: newPool(t)}
	schema, control, sts := bootstrapReplicas(t, hold)
	ctx := t.Context()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	orgID, email := "org_bootstrap", "founder@example.com"

	hold.armed.Store(true)
	errA := make(chan error, 1)
	go func() { errA <- bootstrap(ctx, sts[0], orgID, email, now) }()
	// B starts once A has inserted the organization (A is then held until
	// B waits on it).
	require.Eventually(t, func() bool { return !hold.armed.Load() }, 10*time.Second, time.Millisecond, "A reached its user insert")
	errB := bootstrap(ctx, sts[1], orgID, email, now)
	require.NoError(t, <-errA, "replica A creates the organization")
	require.True(t, hold.waited.Load(), "replica B's insert waited on replica A's transaction")
	require.ErrorIs(t, errB, store.ErrOrganizationExists, "replica B")
	assert.NotErrorIs(t, errB, store.ErrAlreadyMember)

	checkBootstrapped(t, control, schema, sts, orgID, email, now)
}

// TestBootstrapRacing: the two replicas start at the same instant, many
// times over (a fresh organization each round): exactly one creates it,
// the other gets ErrOrganizationExists.
func TestBootstrapRacing(t *testing.T) {
	schema, control, sts := bootstrapReplicas(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second) // a deadlock fails, not hangs
	defer cancel()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	const rounds = 25
	for round := range rounds {
		orgID, email := fmt.Sprintf("org_race%02d", round), fmt.Sprintf("founder%02d@example.com", round)
		var (
			errs  [2]error
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for i, st := range sts {
			wg.Go(func() {
				<-start
				errs[i] = bootstrap(ctx, st, orgID, email, now)
			})
		}
		close(start)
		wg.Wait()
		var created int
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, store.ErrOrganizationExists):
				t.Errorf("round %d, replica %d: %v, want nil or ErrOrganizationExists", round, i, err)
			}
		}
		require.Equal(t, 1, created, "round %d: exactly one replica creates the organization (errors %v)", round, errs)
		checkBootstrapped(t, control, schema, sts, orgID, email, now)
	}
}
