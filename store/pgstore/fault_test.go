package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/storetest"
)

// killer is a pgx tracer that, once armed, terminates the server process
// of the connection about to send a statement containing a fragment (with
// pg_terminate_backend from another pool), so the operation loses its
// connection in the middle of its transaction.
type killer struct {
	control *pgxpool.Pool
	armed   atomic.Pointer[string]
	killed  atomic.Int32
}

func (k *killer) arm(fragment string) { k.armed.Store(&fragment) }

func (k *killer) maybeKill(conn *pgx.Conn, sql string) {
	frag := k.armed.Load()
	if frag == nil || !strings.Contains(sql, *frag) || !k.armed.CompareAndSwap(frag, nil) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ok bool
	// The second argument makes it wait (ms) until the backend is gone.
	if err := k.control.QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, conn.PgConn().PID()).Scan(&ok); err == nil && ok {
		k.killed.Add(1)
	}
}

func (k *killer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	k.maybeKill(conn, data.SQL)
	return ctx
}
func (k *killer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (k *killer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	for _, q := range data.Batch.QueuedQueries {
		k.maybeKill(conn, q.SQL)
	}
	return ctx
}
func (k *killer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (k *killer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestFaultConnectionKilled kills the database connection in the middle of
// a transaction (pg_terminate_backend): the operation returns an error,
// nothing of it is left behind, and the same call then succeeds on a fresh
// connection.
func TestFaultConnectionKilled(t *testing.T) {
	k := &killer{control: newPool(t)}
	schema, rs := newReplicas(t, 1, func(_ int, cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = k })
	r := rs[0]
	ctx := t.Context()
	org, _, err := r.svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme"})
	require.NoError(t, err)
	countOf := func(query string, args ...any) int { return count(t, k.control, schema, query, args...) }

	t.Run("CreateUserAndMembership after the user insert", func(t *testing.T) {
		email := "fault@example.com"
		left := func() []int {
			return []int{
				countOf(`SELECT count(*) FROM %[1]s.users WHERE email = $1`, email),
				countOf(`SELECT count(*) FROM %[1]s.memberships m JOIN %[1]s.users u ON u.id = m.user_id WHERE u.email = $1`, email),
				countOf(`SELECT count(*) FROM %[1]s.invitations WHERE email = $1`, email),
				countOf(`SELECT count(*) FROM %[1]s.outbox WHERE to_addr = $1`, email),
				countOf(`SELECT count(*) FROM %[1]s.events WHERE data->>'email' = $1`, email),
			}
		}
		k.arm("memberships (org_id") // the membership insert, after the user was inserted
		_, err := r.svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: email})
		require.Error(t, err)
		require.Equal(t, int32(1), k.killed.Load(), "the connection was killed")
		assert.Equal(t, []int{0, 0, 0, 0, 0}, left(), "no user, membership, invitation, mail or event left")

		res, err := r.svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: email})
		require.NoError(t, err, "the next call succeeds")
		assert.Equal(t, store.StatusPendingInvite, res.Membership.Status)
		assert.Equal(t, []int{1, 1, 1, 1, 1}, left())
	})

	t.Run("CreateOrganization with an admin after the organization insert", func(t *testing.T) {
		req := invite.CreateOrganizationRequest{ID: "org_faulty", Name: "Faulty", Admin: &invite.InviteRequest{Email: "founder@example.com"}}
		before := k.killed.Load()
		k.arm("memberships (org_id") // the admin's membership, after the organization and its user
		_, _, err := r.svc.CreateOrganization(ctx, req)
		require.Error(t, err)
		require.Equal(t, before+1, k.killed.Load())
		_, err = r.st.GetOrganization(ctx, "org_faulty")
		require.ErrorIs(t, err, store.ErrNotFound, "no organization without its admin")
		assert.Equal(t, 0, countOf(`SELECT count(*) FROM %[1]s.users WHERE email = $1`, "founder@example.com"))
		assert.Equal(t, 0, countOf(`SELECT count(*) FROM %[1]s.events WHERE org_id = $1`, "org_faulty"))

		_, admin, err := r.svc.CreateOrganization(ctx, req)
		require.NoError(t, err, "the same request then succeeds")
		assert.Equal(t, store.StatusPendingInvite, admin.Membership.Status)
		assert.Equal(t, 2, countOf(`SELECT count(*) FROM %[1]s.events WHERE org_id = $1`, "org_faulty"))
	})

	t.Run("AcceptInvitation after spending the invitation", func(t *testing.T) {
		res, err := r.svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{
			Email: "bea@example.com", SendInvitationEmail: ptr(false), ReturnAcceptLink: true,
		})
		require.NoError(t, err)
		token := tokenOf(t, res.AcceptLink)
		id := invite.AcceptIdentity{Issuer: "https://idp.example", Subject: "bea", Email: "bea@example.com", EmailVerified: true}

		before := k.killed.Load()
		k.arm("SET status = 'ACTIVE'") // after the invitation was spent
		_, err = r.svc.AcceptInvitation(ctx, token, id)
		require.Error(t, err)
		require.Equal(t, before+1, k.killed.Load())
		m, err := r.st.GetMembership(ctx, org.ID, res.User.ID)
		require.NoError(t, err)
		assert.Equal(t, store.StatusPendingInvite, m.Status, "still pending")
		assert.Equal(t, 0, countOf(`SELECT count(*) FROM %[1]s.invitations WHERE user_id = $1 AND spend_time IS NOT NULL`, res.User.ID), "invitation not spent")
		assert.Equal(t, 0, countOf(`SELECT count(*) FROM %[1]s.identities WHERE user_id = $1`, res.User.ID))

		m, err = r.svc.AcceptInvitation(ctx, token, id)
		require.NoError(t, err, "the next call succeeds")
		assert.Equal(t, store.StatusActive, m.Status)
	})

	t.Run("CreateMemberships batch after copying the users", func(t *testing.T) {
		now := time.Now()
		var ps []store.CreateMembershipParams
		for i := range 50 {
			ps = append(ps, storetest.InviteParams(org.ID, "bulk"+string(rune('a'+i%26))+store.NewID("x")+"@example.com", now))
		}
		usersBefore := countOf(`SELECT count(*) FROM %[1]s.users`)
		before := k.killed.Load()
		k.arm("memberships_seq_seq") // after COPY users, before the memberships
		_, err := r.st.CreateMemberships(ctx, ps)
		require.Error(t, err)
		require.Equal(t, before+1, k.killed.Load())
		assert.Equal(t, usersBefore, countOf(`SELECT count(*) FROM %[1]s.users`), "no user of the batch left")

		res, err := r.st.CreateMemberships(ctx, ps)
		require.NoError(t, err, "the next call succeeds")
		for _, br := range res {
			require.NoError(t, br.Err)
		}
		assert.Equal(t, usersBefore+50, countOf(`SELECT count(*) FROM %[1]s.users`))
	})
}

// TestFaultBulkWriterKilled kills the connection of one batch while a bulk
// import writes two batches at once: the import stops with an error, the
// report says exactly what was written (the other batch in flight
// included), nothing of the killed batch is left behind, and uploading the
// same file again completes the import without duplicates.
func TestFaultBulkWriterKilled(t *testing.T) {
	k := &killer{control: newPool(t)}
	schema, rs := newReplicas(t, 1, func(_ int, cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = k })
	r := rs[0]
	ctx := t.Context()
	org, _, err := r.svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme"})
	require.NoError(t, err)
	countOf := func(query string) int { return count(t, k.control, schema, query) }
	var csv strings.Builder
	csv.WriteString("email\n")
	for i := range 1000 {
		fmt.Fprintf(&csv, "w%04d@example.com\n", i)
	}
	armed := false
	opts := invite.BulkOptions{BatchSize: 100, Writers: 2, Progress: func(p invite.BulkProgress) {
		if p.Rows >= 300 && !armed {
			armed = true
			k.arm("count(pg_advisory_xact_lock(k))") // a batch's event lock: after its users, memberships, invitations and mails
		}
	}}
	rep, err := r.svc.BulkInvite(ctx, org.ID, strings.NewReader(csv.String()), opts)
	require.Error(t, err)
	require.Equal(t, int32(1), k.killed.Load(), "one connection was killed")
	results, err := rep.Collect()
	require.NoError(t, err)
	var created, failed int
	for i, res := range results {
		require.Equal(t, i+1, res.Row)
		switch res.Status {
		case invite.BulkCreated:
			created++
		case invite.BulkFailed:
			failed++
		default:
			t.Fatalf("row %d: %+v", res.Row, res)
		}
	}
	require.Equal(t, rep.Summary.Created, created)
	require.Equal(t, 100, failed, "exactly the killed batch failed")
	require.Less(t, len(results), 1000, "the import stopped")
	for _, table := range []string{"users", "memberships", "invitations", "outbox", "events"} {
		assert.Equal(t, created, countOf(`SELECT count(*) FROM %[1]s.`+table+` WHERE `+map[string]string{
			"users": "email LIKE 'w%%'", "memberships": "status = 'PENDING_INVITE'", "invitations": "email LIKE 'w%%'",
			"outbox": "to_addr LIKE 'w%%'", "events": "type = 'membership.invited'",
		}[table]), "%s rows = rows reported created", table)
	}

	rep, err = r.svc.BulkInvite(ctx, org.ID, strings.NewReader(csv.String()), invite.BulkOptions{BatchSize: 100, Writers: 2})
	require.NoError(t, err, "the same file again")
	assert.Equal(t, invite.BulkSummary{Rows: 1000, Created: 1000 - created, AlreadyMember: created}, rep.Summary)
	assert.Equal(t, 1000, countOf(`SELECT count(*) FROM %[1]s.memberships WHERE status = 'PENDING_INVITE'`))
	assert.Equal(t, 1000, countOf(`SELECT count(*) FROM %[1]s.outbox`))
}
