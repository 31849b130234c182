package pgstore_test

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/pgstore"
)

// trips returns how many round trips fn made (invitePathTrips counts
// them).
func trips(t *testing.T, c *invitePathTrips, fn func() error) int {
	t.Helper()
	c.take()
	require.NoError(t, fn())
	n, _ := c.take()
	return n
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
	c := &invitePathTrips{}
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

	assert.EqualValues(t, 1, trips(t, c, revoke(users[2])), "revoke")
	assert.EqualValues(t, 2, trips(t, c, resend(users[0])), "resend")
	assert.EqualValues(t, 2, trips(t, c, resend(users[3])), "resend of another membership")
	assert.EqualValues(t, 2, trips(t, c, link(users[0])), "invite link")
}
