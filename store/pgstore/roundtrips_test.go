package pgstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/pgstore"
)

// tripCounter counts the round trips a pool's connections make: each
// statement sent on its own (a transaction's BEGIN and COMMIT too), each
// pipelined batch and each explicit Prepare is one.
type tripCounter struct{ n atomic.Int64 }

func (c *tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *tripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *tripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (c *tripCounter) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// trips returns how many round trips fn made.
func (c *tripCounter) trips(t *testing.T, fn func() error) int64 {
	t.Helper()
	before := c.n.Load()
	require.NoError(t, fn())
	return c.n.Load() - before
}

// TestServiceRoundTrips counts the round trips of the Service's resend,
// invite link and revoke on pgstore once the organization is known and
// the statements are prepared (one connection, so that they stay
// prepared): revoke is one statement (store.GuardedRevoker); a resend reads
// the membership, its user, its invitation and the inviter in one batch
// (store.InvitationMemberGetter) and writes in one statement that returns
// the membership (store.ReissueMemberer). The resend cannot be one round
// trip: its sealed mail carries the accept link, which holds the
// invitation's id, which only the read tells.
func TestServiceRoundTrips(t *testing.T) {
	ctx := t.Context()
	c := &tripCounter{}
	pool := newPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = c; cfg.MaxConns = 1 })
	st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: freshSchema(t)})
	require.NoError(t, err)
	svc, err := invite.New(st, invite.Config{
		Roles: []string{"admin", "member"}, SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		AcceptURL: "https://app.example.com/invite/accept",
	})
	require.NoError(t, err)
	_, res, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_rt", Name: "Round trips",
		Admin: &invite.InviteRequest{Email: "boss@example.com", UserProfile: &invite.ProfileInput{FirstName: "Bo", LastName: "Ss"}}})
	require.NoError(t, err)
	adminID := res.User.ID // the inviter the resend mail names
	var users []string
	for i := range 4 {
		res, err := svc.CreateUserAndMembership(ctx, "org_rt", invite.InviteRequest{
			Email: fmt.Sprintf("p%d@example.com", i), Roles: []string{"member"},
			UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee"},
		})
		require.NoError(t, err)
		users = append(users, res.User.ID)
	}
	resend := func(u string) func() error {
		return func() error { _, err := svc.ResendInvitation(ctx, "org_rt", u, adminID); return err }
	}
	link := func(u string) func() error {
		return func() error { _, err := svc.InviteLink(ctx, "org_rt", u, adminID); return err }
	}
	revoke := func(u string) func() error {
		return func() error { return svc.RevokeInvitation(ctx, "org_rt", u, adminID) }
	}
	// Warm-up: every statement once.
	for _, fn := range []func() error{resend(users[0]), link(users[0]), revoke(users[1])} {
		require.NoError(t, fn())
	}

	assert.EqualValues(t, 1, c.trips(t, revoke(users[2])), "revoke")
	assert.EqualValues(t, 2, c.trips(t, resend(users[0])), "resend")
	assert.EqualValues(t, 2, c.trips(t, resend(users[3])), "resend of another membership")
	assert.EqualValues(t, 2, c.trips(t, link(users[0])), "invite link")
}
