package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
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
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
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
	sealer, err := mailer.NewSealer(replicaKey)
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
