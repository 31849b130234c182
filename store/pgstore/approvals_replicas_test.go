package pgstore_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// TestReplicasOneDecisionWins: two approvers on two replicas (two pools,
// so two connections) decide the same held invitation at once, 20 times:
// each time exactly one wins, the other gets ErrAlreadyDecided, and
// exactly one decision was written.
func TestReplicasOneDecisionWins(t *testing.T) {
	schema, rs := newReplicas(t, 2, nil)
	ctx := t.Context()
	org, admin, err := rs[0].svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme",
		Admin: &invite.InviteRequest{Email: "boss@acme.example", SendInvitationEmail: ptr(false)}})
	require.NoError(t, err)
	_, err = rs[1].svc.SetApprovalRules(ctx, org.ID, invite.ApprovalRulesInput{All: true}, admin.User.ID)
	require.NoError(t, err)
	const rounds = 20
	approved := 0
	for i := range rounds {
		res, err := rs[i%2].svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: fmt.Sprintf("p%d@else.example", i)})
		require.NoError(t, err)
		require.NotNil(t, res.Approval)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			_, _, errs[0] = rs[0].svc.ApproveInvite(ctx, org.ID, res.Approval.ID, admin.User.ID, invite.ApproveRequest{})
		})
		wg.Go(func() {
			<-start
			_, errs[1] = rs[1].svc.RejectInvite(ctx, org.ID, res.Approval.ID, admin.User.ID, invite.RejectRequest{Reason: "no"})
		})
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				require.ErrorIs(t, err, invite.ErrAlreadyDecided, "round %d", i)
			}
		}
		require.Equal(t, 1, wins, "round %d: %v", i, errs)
		if errs[0] == nil {
			approved++
		}
	}
	pool := rs[0].pool
	decided := count(t, pool, schema, `SELECT count(*) FROM %[1]s.events WHERE type IN ($1, $2)`, store.EventHoldApproved, store.EventHoldRejected)
	assert.Equal(t, rounds, decided, "one decision event per request")
	assert.Equal(t, approved, count(t, pool, schema, `SELECT count(*) FROM %[1]s.invitations`), "an invitation per approval")
	assert.Equal(t, approved, count(t, pool, schema, `SELECT count(*) FROM %[1]s.memberships WHERE status = 'PENDING_INVITE'`))
	assert.Zero(t, count(t, pool, schema, `SELECT count(*) FROM %[1]s.memberships WHERE status = 'PENDING_APPROVAL'`))
	assert.Equal(t, rounds-approved, count(t, pool, schema, `SELECT count(*) FROM %[1]s.approval_requests WHERE status = 'REJECTED'`))
}

// TestReplicasRulesChangeRacesInvites: replica B invites while replica A
// starts requiring approval: every invite is decided under the rules in
// force when it was written — plain invitations before the change (in the
// event feed), held ones after it.
func TestReplicasRulesChangeRacesInvites(t *testing.T) {
	_, rs := newReplicas(t, 2, nil)
	ctx := t.Context()
	org, admin, err := rs[0].svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme",
		Admin: &invite.InviteRequest{Email: "boss@acme.example", SendInvitationEmail: ptr(false)}})
	require.NoError(t, err)
	const n = 40
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = rs[1].svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: fmt.Sprintf("r%d@else.example", i), InvitedBy: admin.User.ID})
		})
	}
	wg.Go(func() {
		<-start
		_, err := rs[0].svc.SetApprovalRules(ctx, org.ID, invite.ApprovalRulesInput{All: true}, admin.User.ID)
		require.NoError(t, err)
	})
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "invite %d", i)
	}
	evs, err := rs[0].svc.Events(ctx, org.ID, 0, 1000)
	require.NoError(t, err)
	after, invited, held := false, 0, 0
	for _, ev := range evs {
		switch ev.Type {
		case store.EventApprovalRulesUpdated:
			after = true
		case store.EventMembershipInvited:
			invited++
			assert.False(t, after, "a plain invitation written after approval became required")
		case store.EventMembershipHeld:
			held++
			assert.True(t, after, "a hold before the rule existed")
		}
	}
	assert.Equal(t, n, invited+held)
	t.Logf("%d invited before the change, %d held after it", invited, held)
}
