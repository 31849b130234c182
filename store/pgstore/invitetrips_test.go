package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/pgstore"
)

// invitePathTrips counts what a pool sends: each query or batch is one round
// trip (statement preparation aside), each queued query one statement.
type invitePathTrips struct {
	mu                sync.Mutex
	trips, statements int
}

func (c *invitePathTrips) add(trips, statements int) {
	c.mu.Lock()
	c.trips += trips
	c.statements += statements
	c.mu.Unlock()
}

// take returns the counts since the last take.
func (c *invitePathTrips) take() (trips, statements int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	trips, statements = c.trips, c.statements
	c.trips, c.statements = 0, 0
	return trips, statements
}

func (c *invitePathTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.add(1, 1)
	return ctx
}
func (c *invitePathTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *invitePathTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	c.add(1, d.Batch.Len())
	return ctx
}
func (c *invitePathTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *invitePathTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestServiceTrips: on pgstore, once the Service has seen the
// organization, an invite (no inviter) is one round trip of two
// statements (the guard's row locks, then the write, which also returns
// the user) and an accept one round trip of one statement.
func TestServiceTrips(t *testing.T) {
	ctx := t.Context()
	tc := &invitePathTrips{}
	pool := newPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = tc })
	st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: freshSchema(t)})
	require.NoError(t, err)
	svc, err := invite.New(st, invite.Config{
		Roles: []string{"admin", "member"}, SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		AcceptURL: "https://app.example.com/invite/accept",
	})
	require.NoError(t, err)
	_, _, err = svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_trips", Name: "Trips"})
	require.NoError(t, err)
	for i := range 3 { // the first invite reads the organization
		res, err := svc.CreateUserAndMembership(ctx, "org_trips", invite.InviteRequest{
			Email: fmt.Sprintf("trips%d@example.com", i), Roles: []string{"member"}, ReturnAcceptLink: true,
		})
		require.NoError(t, err)
		invTrips, invStatements := tc.take()
		_, err = svc.AcceptInvitation(ctx, invite.TokenFromLink(res.AcceptLink), invite.AcceptIdentity{
			Issuer: "https://idp.example.com", Subject: fmt.Sprintf("sub-trips-%d", i),
			Email: fmt.Sprintf("trips%d@example.com", i), EmailVerified: true})
		require.NoError(t, err)
		accTrips, accStatements := tc.take()
		if i == 0 {
			continue
		}
		assert.Equal(t, [2]int{1, 2}, [2]int{invTrips, invStatements}, "invite %d: round trips, statements", i)
		assert.Equal(t, [2]int{1, 1}, [2]int{accTrips, accStatements}, "accept %d: round trips, statements", i)
	}
}
