package storetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// approvalTests are the conformance tests of the optional
// store.ApprovalStore capability (approval before invitation); a store
// without it skips them.
var approvalTests = []struct {
	name string
	fn   func(t *testing.T, f *fixture)
}{
	{"Approvals/Rules", testApprovalRules},
	{"Approvals/Hold", testApprovalHold},
	{"Approvals/HoldRefusedWritesNothing", testApprovalHoldRefused},
	{"Approvals/Guard", testApprovalGuard},
	{"Approvals/Approve", testApprovalApprove},
	{"Approvals/Reject", testApprovalReject},
	{"Approvals/Expiry", testApprovalExpiry},
	{"Approvals/Scoping", testApprovalScoping},
	{"Approvals/ConcurrentDecisions", testApprovalConcurrentDecisions},
	{"Approvals/ConcurrentRulesChange", testApprovalConcurrentRules},
	{"Approvals/OrganizationRules", testApprovalOrganizationRules},
}

// approvals returns f's store as a store.ApprovalStore, or skips t.
func (f *fixture) approvals(t *testing.T) store.ApprovalStore {
	a, ok := f.st.(store.ApprovalStore)
	if !ok {
		t.Skip("the store does not implement store.ApprovalStore")
	}
	return a
}

// holdParams are the parameters of a held invite of email into orgID: a
// PENDING_APPROVAL membership (AddParams otherwise) and its request,
// expiring a week after now.
func holdParams(orgID, email string, now time.Time) (store.CreateMembershipParams, store.ApprovalRequest) {
	p := AddParams(orgID, email, now)
	p.Membership.Status = store.StatusPendingApproval
	p.Event.Type = store.EventMembershipHeld
	return p, store.ApprovalRequest{
		ID: store.NewID("apr"), OrganizationID: orgID, Email: email, Roles: []string{"member"},
		InvitedBy: "usr_storetest", Surface: "api", HoldReason: "every invite needs approval",
		CreateTime: now, ExpireTime: now.Add(7 * 24 * time.Hour),
	}
}

// hold writes a held invite and returns the request as stored.
func (f *fixture) hold(a store.ApprovalStore, orgID, email string) (store.CreateMembershipResult, store.ApprovalRequest) {
	f.t.Helper()
	p, r := holdParams(orgID, email, f.now)
	res, err := a.CreateMembershipGuarded(f.ctx, p, &r, store.DecisionGuard{})
	require.NoError(f.t, err)
	got, err := a.GetApprovalRequest(f.ctx, orgID, r.ID)
	require.NoError(f.t, err)
	return res, got
}

// approveHold returns the decision approving a request at at: a fresh
// invitation expiring 15 days later, its mail and the event.
func (f *fixture) approveHold(orgID string, at time.Time) store.HoldDecision {
	invID := store.NewID("inv")
	hash := sha256.Sum256([]byte("verifier of " + invID))
	exp := at.Add(15 * 24 * time.Hour)
	msgID := store.NewID("msg")
	return store.HoldDecision{
		Status: store.ApprovalApproved, By: "usr_approver", At: at,
		Invitation: &store.Invitation{ID: invID, OrganizationID: orgID, VerifierHash: hash[:], CreateTime: at, ExpireTime: exp},
		Outbox: &store.OutboxMessage{ID: msgID, OrganizationID: orgID, Kind: store.MailInvitation, To: "x@example.com",
			MessageID: "<" + msgID + "@invitekit>", Sealed: []byte("sealed"), Status: store.OutboxQueued, NextAttemptTime: at, CreateTime: at},
		Event: store.Event{ID: store.NewID("evt"), OrganizationID: orgID, Type: store.EventHoldApproved, ActorID: "usr_approver", CreateTime: at},
	}
}

func (f *fixture) rejectHold(orgID string, at time.Time, reason string) store.HoldDecision {
	return store.HoldDecision{
		Status: store.ApprovalRejected, By: "usr_approver", Reason: reason, At: at,
		Event: store.Event{ID: store.NewID("evt"), OrganizationID: orgID, Type: store.EventHoldRejected, ActorID: "usr_approver",
			Data: map[string]string{"reason": reason}, CreateTime: at},
	}
}

func (f *fixture) outboxCount(orgID string) int {
	f.t.Helper()
	msgs, err := f.st.ListOutbox(f.ctx, orgID, store.OutboxQueued, 1000)
	require.NoError(f.t, err)
	return len(msgs)
}

func testApprovalRules(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org, other := f.org(), f.org()
	_, err := a.GetApprovalRules(f.ctx, "org_missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = a.SetApprovalRules(f.ctx, "org_missing", store.ApprovalRules{All: true}, f.ev("org_missing", "", store.EventApprovalRulesUpdated))
	require.ErrorIs(t, err, store.ErrNotFound)

	r, err := a.GetApprovalRules(f.ctx, org.ID)
	require.NoError(t, err)
	assert.Zero(t, r.Revision, "never set: revision 0")
	assert.False(t, r.All)

	in := store.ApprovalRules{
		Roles: []string{"admin"}, InviterRoles: []string{"member"}, OutsideDomains: true,
		Domains: []string{"acme.example"}, Revision: 99, UpdateTime: f.now, UpdatedBy: "usr_admin",
	}
	before := len(f.events(org.ID))
	got, err := a.SetApprovalRules(f.ctx, org.ID, in, f.ev(org.ID, "", store.EventApprovalRulesUpdated))
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Revision, "the store counts revisions (r.Revision ignored)")
	in.Domains[0] = "changed.example" // no aliasing
	read, err := a.GetApprovalRules(f.ctx, org.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"admin"}, read.Roles)
	assert.Equal(t, []string{"member"}, read.InviterRoles)
	assert.Equal(t, []string{"acme.example"}, read.Domains)
	assert.True(t, read.OutsideDomains)
	assert.False(t, read.All)
	assert.Equal(t, int64(1), read.Revision)
	assert.True(t, read.UpdateTime.Equal(f.now))
	assert.Equal(t, "usr_admin", read.UpdatedBy)
	assert.Len(t, f.events(org.ID), before+1)
	assert.Equal(t, store.EventApprovalRulesUpdated, f.lastEvent(org.ID).Type)

	got, err = a.SetApprovalRules(f.ctx, org.ID, store.ApprovalRules{All: true, UpdateTime: f.now}, f.ev(org.ID, "", store.EventApprovalRulesUpdated))
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Revision)
	read, err = a.GetApprovalRules(f.ctx, org.ID)
	require.NoError(t, err)
	assert.True(t, read.All)
	assert.Empty(t, read.Roles)

	o, err := a.GetApprovalRules(f.ctx, other.ID)
	require.NoError(t, err)
	assert.Zero(t, o.Revision, "another organization's rules are its own")
	assert.False(t, o.All)
}

// testApprovalOrganizationRules: GetOrganizationRules (when implemented)
// returns what GetOrganization and GetApprovalRules return.
func testApprovalOrganizationRules(t *testing.T, f *fixture) {
	a := f.approvals(t)
	g, ok := f.st.(store.OrganizationRulesGetter)
	if !ok {
		t.Skip("the store does not implement store.OrganizationRulesGetter")
	}
	org, other := f.org(), f.org()
	_, _, err := g.GetOrganizationRules(f.ctx, "org_missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = a.SetApprovalRules(f.ctx, org.ID, store.ApprovalRules{Roles: []string{"admin"}, Domains: []string{"acme.example"}, UpdateTime: f.now},
		f.ev(org.ID, "", store.EventApprovalRulesUpdated))
	require.NoError(t, err)
	for _, id := range []string{org.ID, other.ID} {
		gotOrg, gotRules, err := g.GetOrganizationRules(f.ctx, id)
		require.NoError(t, err)
		wantOrg, err := f.st.GetOrganization(f.ctx, id)
		require.NoError(t, err)
		wantRules, err := a.GetApprovalRules(f.ctx, id)
		require.NoError(t, err)
		assert.Equal(t, wantOrg, gotOrg)
		assert.Equal(t, wantRules, gotRules)
	}
}

func testApprovalHold(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org := f.org()
	email := f.email("held")
	res, r := f.hold(a, org.ID, email)
	assert.Equal(t, store.StatusPendingApproval, res.Membership.Status)
	m := f.membership(org.ID, res.User.ID)
	assert.Equal(t, store.StatusPendingApproval, m.Status)
	assert.Equal(t, store.StatusPendingApproval, m.EffectiveStatus(f.now.Add(365*24*time.Hour)), "never computed as expired")
	_, err := f.st.GetMembershipInvitation(f.ctx, org.ID, res.User.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "a held invite has no invitation")
	assert.Zero(t, f.outboxCount(org.ID), "a held invite queues no mail")
	assert.Equal(t, store.EventMembershipHeld, f.lastEvent(org.ID).Type)
	assert.Equal(t, res.User.ID, f.lastEvent(org.ID).UserID)

	assert.Equal(t, res.User.ID, r.UserID, "the store fills in the user")
	assert.Equal(t, org.ID, r.OrganizationID)
	assert.Equal(t, store.ApprovalPending, r.Status)
	assert.Equal(t, email, r.Email)
	assert.Equal(t, []string{"member"}, r.Roles)
	assert.Equal(t, "usr_storetest", r.InvitedBy)
	assert.Equal(t, "api", r.Surface)
	assert.Equal(t, "every invite needs approval", r.HoldReason)
	assert.True(t, r.CreateTime.Equal(f.now))
	assert.True(t, r.ExpireTime.Equal(f.now.Add(7*24*time.Hour)))
	assert.Nil(t, r.DecideTime)

	held := f.memberIDs(org.ID, store.ListOptions{Status: store.StatusPendingApproval, Now: f.now})
	assert.Equal(t, []string{res.User.ID}, held, "ListMembers filters by the stored status")
	assert.Empty(t, f.memberIDs(org.ID, store.ListOptions{Status: store.StatusPendingInvite, Now: f.now}))

	_, r2 := f.hold(a, org.ID, f.email("second"))
	list, err := a.ListApprovalRequests(f.ctx, org.ID, store.ApprovalPending, 0)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{r.ID, r2.ID}, []string{list[0].ID, list[1].ID}, "oldest first")
	list, err = a.ListApprovalRequests(f.ctx, org.ID, "", 1)
	require.NoError(t, err)
	assert.Len(t, list, 1, "limit")

	// A second hold of the same person is ErrAlreadyMember.
	p, r3 := holdParams(org.ID, email, f.now)
	_, err = a.CreateMembershipGuarded(f.ctx, p, &r3, store.DecisionGuard{})
	require.ErrorIs(t, err, store.ErrAlreadyMember)
	_, err = a.GetApprovalRequest(f.ctx, org.ID, r3.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "a refused hold writes no request")
}

func testApprovalHoldRefused(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org := f.org()
	before := len(f.events(org.ID))
	cases := map[string]func(p *store.CreateMembershipParams, r *store.ApprovalRequest){
		"active membership": func(p *store.CreateMembershipParams, r *store.ApprovalRequest) {
			p.Membership.Status = store.StatusActive
		},
		"with invitation": func(p *store.CreateMembershipParams, r *store.ApprovalRequest) {
			p.Invitation = InviteParams(org.ID, p.User.Email, f.now).Invitation
		},
		"with mail": func(p *store.CreateMembershipParams, r *store.ApprovalRequest) {
			p.Outbox = InviteParams(org.ID, p.User.Email, f.now).Outbox
		},
		"no request id":      func(p *store.CreateMembershipParams, r *store.ApprovalRequest) { r.ID = "" },
		"other organization": func(p *store.CreateMembershipParams, r *store.ApprovalRequest) { r.OrganizationID = "org_other" },
	}
	for name, edit := range cases {
		email := f.email("refused")
		p, r := holdParams(org.ID, email, f.now)
		edit(&p, &r)
		_, err := a.CreateMembershipGuarded(f.ctx, p, &r, store.DecisionGuard{})
		require.Error(t, err, name)
		_, err = f.st.GetUserByEmail(f.ctx, email)
		require.ErrorIs(t, err, store.ErrNotFound, "%s: nothing written", name)
	}
	p, r := holdParams("org_missing", f.email("missing"), f.now)
	_, err := a.CreateMembershipGuarded(f.ctx, p, &r, store.DecisionGuard{})
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Len(t, f.events(org.ID), before)
}

func testApprovalGuard(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org := f.org()
	inviter := f.add(org.ID, f.email("inviter"))
	_, err := a.SetApprovalRules(f.ctx, org.ID, store.ApprovalRules{Roles: []string{"admin"}, UpdateTime: f.now}, f.ev(org.ID, "", store.EventApprovalRulesUpdated))
	require.NoError(t, err)
	before := len(f.events(org.ID))

	stale := map[string]store.DecisionGuard{
		"old revision":   {RulesRevision: 0},
		"newer revision": {RulesRevision: 2},
		"inviter roles":  {RulesRevision: 1, InviterID: inviter.User.ID, InviterRoles: []string{"admin"}},
		"inviter none":   {RulesRevision: 1, InviterID: inviter.User.ID},
		"stranger":       {RulesRevision: 1, InviterID: "usr_stranger", InviterRoles: []string{"member"}},
	}
	for name, g := range stale {
		email := f.email("stale")
		_, err := a.CreateMembershipGuarded(f.ctx, InviteParams(org.ID, email, f.now), nil, g)
		require.ErrorIs(t, err, store.ErrDecisionStale, name)
		p, r := holdParams(org.ID, email, f.now)
		_, err = a.CreateMembershipGuarded(f.ctx, p, &r, g)
		require.ErrorIs(t, err, store.ErrDecisionStale, name)
		_, err = f.st.GetUserByEmail(f.ctx, email)
		require.ErrorIs(t, err, store.ErrNotFound, "%s: nothing written", name)
	}
	assert.Len(t, f.events(org.ID), before, "a stale decision writes no event")
	assert.Zero(t, f.outboxCount(org.ID), "nor mail")

	ok := map[string]store.DecisionGuard{
		"revision":      {RulesRevision: 1},
		"inviter roles": {RulesRevision: 1, InviterID: inviter.User.ID, InviterRoles: []string{"member"}},
		"not a member":  {RulesRevision: 1, InviterID: "usr_stranger"},
	}
	for name, g := range ok {
		_, err := a.CreateMembershipGuarded(f.ctx, InviteParams(org.ID, f.email("ok"), f.now), nil, g)
		require.NoError(t, err, name)
	}
	// The inviter's roles change: the guard that read the old ones is stale.
	_, err = f.st.UpdateMembership(f.ctx, org.ID, inviter.User.ID, store.MembershipUpdate{Roles: []string{"admin"}}, f.now, f.ev(org.ID, inviter.User.ID, store.EventMembershipUpdated))
	require.NoError(t, err)
	_, err = a.CreateMembershipGuarded(f.ctx, InviteParams(org.ID, f.email("late"), f.now), nil, ok["inviter roles"])
	require.ErrorIs(t, err, store.ErrDecisionStale)
	// A deactivated inviter has no ACTIVE roles.
	_, err = f.st.SetMembershipStatus(f.ctx, org.ID, inviter.User.ID, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: f.now, Event: f.ev(org.ID, inviter.User.ID, store.EventMembershipDeactivated)})
	require.NoError(t, err)
	_, err = a.CreateMembershipGuarded(f.ctx, InviteParams(org.ID, f.email("late2"), f.now), nil,
		store.DecisionGuard{RulesRevision: 1, InviterID: inviter.User.ID, InviterRoles: []string{"admin"}})
	require.ErrorIs(t, err, store.ErrDecisionStale)
	_, err = a.CreateMembershipGuarded(f.ctx, InviteParams(org.ID, f.email("late3"), f.now), nil,
		store.DecisionGuard{RulesRevision: 1, InviterID: inviter.User.ID})
	require.NoError(t, err)
}

func testApprovalApprove(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org := f.org()
	res, r := f.hold(a, org.ID, f.email("approve"))
	before := len(f.events(org.ID))
	at := f.now.Add(2 * time.Hour)
	d := f.approveHold(org.ID, at)
	d.Roles = []string{"admin"}
	got, m, err := a.DecideHeld(f.ctx, org.ID, r.ID, d)
	require.NoError(t, err)
	assert.Equal(t, store.ApprovalApproved, got.Status)
	assert.Equal(t, "usr_approver", got.DecidedBy)
	require.NotNil(t, got.DecideTime)
	assert.True(t, got.DecideTime.Equal(at))
	assert.Equal(t, []string{"admin"}, got.Roles, "the approved roles")
	assert.Equal(t, store.StatusPendingInvite, m.Status)

	m = f.membership(org.ID, res.User.ID)
	assert.Equal(t, store.StatusPendingInvite, m.Status)
	assert.Equal(t, []string{"admin"}, m.Roles)
	assert.True(t, m.InviteExpireTime.Equal(at.Add(15*24*time.Hour)), "the expiry counts from the approval")
	assert.True(t, m.UpdateTime.Equal(at))
	assert.True(t, m.JoinTime.Equal(f.now))
	inv := f.invitation(d.Invitation.ID)
	assert.Equal(t, res.User.ID, inv.UserID, "the store fills in the invitation's user")
	newest, err := f.st.GetMembershipInvitation(f.ctx, org.ID, res.User.ID)
	require.NoError(t, err)
	assert.Equal(t, d.Invitation.ID, newest.ID)
	assert.Equal(t, 1, f.outboxCount(org.ID), "the invitation mail")
	evs := f.events(org.ID)
	require.Len(t, evs, before+1)
	assert.Equal(t, store.EventHoldApproved, evs[len(evs)-1].Type)
	assert.Equal(t, res.User.ID, evs[len(evs)-1].UserID)
	stored, err := a.GetApprovalRequest(f.ctx, org.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.ApprovalApproved, stored.Status)

	// Decided: a second approval or a rejection is ErrAlreadyDecided.
	_, _, err = a.DecideHeld(f.ctx, org.ID, r.ID, f.approveHold(org.ID, at))
	require.ErrorIs(t, err, store.ErrAlreadyDecided)
	_, _, err = a.DecideHeld(f.ctx, org.ID, r.ID, f.rejectHold(org.ID, at, "late"))
	require.ErrorIs(t, err, store.ErrAlreadyDecided)
	assert.Len(t, f.events(org.ID), before+1, "a lost decision writes nothing")
	assert.Equal(t, 1, f.outboxCount(org.ID))
	_, _, err = a.DecideHeld(f.ctx, org.ID, "apr_missing", f.approveHold(org.ID, at))
	require.ErrorIs(t, err, store.ErrNotFound)

	// Roles nil keeps the requested ones.
	res2, r2 := f.hold(a, org.ID, f.email("keep"))
	_, m2, err := a.DecideHeld(f.ctx, org.ID, r2.ID, f.approveHold(org.ID, at))
	require.NoError(t, err)
	assert.Equal(t, []string{"member"}, m2.Roles)
	assert.Equal(t, []string{"member"}, f.membership(org.ID, res2.User.ID).Roles)
}

func testApprovalReject(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org := f.org()
	email := f.email("reject")
	res, r := f.hold(a, org.ID, email)
	at := f.now.Add(time.Hour)
	d := f.rejectHold(org.ID, at, "not a customer")
	msgID := store.NewID("msg")
	d.Outbox = &store.OutboxMessage{ID: msgID, OrganizationID: org.ID, Kind: "invite_rejected", To: "inviter@example.com",
		MessageID: "<" + msgID + "@invitekit>", Status: store.OutboxQueued, NextAttemptTime: at, CreateTime: at}
	got, m, err := a.DecideHeld(f.ctx, org.ID, r.ID, d)
	require.NoError(t, err)
	assert.Zero(t, m.UserID, "no membership for a rejection")
	assert.Equal(t, store.ApprovalRejected, got.Status)
	assert.Equal(t, "not a customer", got.Reason)
	_, err = f.st.GetMembership(f.ctx, org.ID, res.User.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "rejection removes the held membership")
	stored, err := a.GetApprovalRequest(f.ctx, org.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.ApprovalRejected, stored.Status)
	assert.Equal(t, "not a customer", stored.Reason, "the reason is kept")
	assert.Equal(t, "usr_approver", stored.DecidedBy)
	msgs, err := f.st.ListOutbox(f.ctx, org.ID, store.OutboxQueued, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, "invite_rejected", msgs[0].Kind)
	assert.Equal(t, "inviter@example.com", msgs[0].To)
	assert.Equal(t, store.EventHoldRejected, f.lastEvent(org.ID).Type)
	assert.Equal(t, res.User.ID, f.lastEvent(org.ID).UserID)

	_, _, err = a.DecideHeld(f.ctx, org.ID, r.ID, f.approveHold(org.ID, at))
	require.ErrorIs(t, err, store.ErrAlreadyDecided, "the loser of a reject gets 409, not 404")

	// The person can be held (or invited) again.
	p, r2 := holdParams(org.ID, email, f.now)
	_, err = a.CreateMembershipGuarded(f.ctx, p, &r2, store.DecisionGuard{})
	require.NoError(t, err)
}

func testApprovalExpiry(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org := f.org()
	res, r := f.hold(a, org.ID, f.email("expire"))
	due, err := a.DueApprovalRequests(f.ctx, r.ExpireTime.Add(-time.Second), 0)
	require.NoError(t, err)
	assert.NotContains(t, requestIDs(due), r.ID)
	due, err = a.DueApprovalRequests(f.ctx, r.ExpireTime, 0)
	require.NoError(t, err)
	assert.Contains(t, requestIDs(due), r.ID, "due at its ExpireTime")

	before := len(f.events(org.ID))
	_, _, err = a.DecideHeld(f.ctx, org.ID, r.ID, f.approveHold(org.ID, r.ExpireTime))
	require.ErrorIs(t, err, store.ErrApprovalExpired)
	assert.Equal(t, store.StatusPendingApproval, f.membership(org.ID, res.User.ID).Status, "nothing written")
	assert.Len(t, f.events(org.ID), before)
	assert.Zero(t, f.outboxCount(org.ID))

	exp := store.HoldDecision{Status: store.ApprovalExpired, At: r.ExpireTime.Add(-time.Second),
		Event: store.Event{ID: store.NewID("evt"), OrganizationID: org.ID, Type: store.EventHoldExpired, CreateTime: f.now}}
	_, _, err = a.DecideHeld(f.ctx, org.ID, r.ID, exp)
	require.ErrorIs(t, err, store.ErrWrongStatus, "not expired yet")
	exp.At = r.ExpireTime
	got, _, err := a.DecideHeld(f.ctx, org.ID, r.ID, exp)
	require.NoError(t, err)
	assert.Equal(t, store.ApprovalExpired, got.Status)
	_, err = f.st.GetMembership(f.ctx, org.ID, res.User.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, store.EventHoldExpired, f.lastEvent(org.ID).Type)
	due, err = a.DueApprovalRequests(f.ctx, r.ExpireTime.Add(time.Hour), 0)
	require.NoError(t, err)
	assert.NotContains(t, requestIDs(due), r.ID, "decided requests are not due")
}

func requestIDs(rs []store.ApprovalRequest) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func testApprovalScoping(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org, other := f.org(), f.org()
	res, r := f.hold(a, org.ID, f.email("scoped"))
	_, err := a.GetApprovalRequest(f.ctx, other.ID, r.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err := a.ListApprovalRequests(f.ctx, other.ID, "", 0)
	require.NoError(t, err)
	assert.Empty(t, list)
	for _, d := range []store.HoldDecision{f.approveHold(other.ID, f.now), f.rejectHold(other.ID, f.now, "x")} {
		_, _, err = a.DecideHeld(f.ctx, other.ID, r.ID, d)
		require.ErrorIs(t, err, store.ErrNotFound, "another organization cannot decide it")
	}
	assert.Equal(t, store.StatusPendingApproval, f.membership(org.ID, res.User.ID).Status)
	stored, err := a.GetApprovalRequest(f.ctx, org.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.ApprovalPending, stored.Status)
}

// testApprovalConcurrentDecisions: approvers deciding one request at
// once (on PostgreSQL, each on its own connection of the pool): exactly
// one decision wins, every other gets ErrAlreadyDecided.
func testApprovalConcurrentDecisions(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org := f.org()
	for round := range 5 {
		res, r := f.hold(a, org.ID, f.email("race"))
		before := len(f.events(org.ID))
		errs := parallel(8, func(i int) error {
			d := f.approveHold(org.ID, f.now.Add(time.Minute))
			if i%2 == 1 {
				d = f.rejectHold(org.ID, f.now.Add(time.Minute), "no")
			}
			_, _, err := a.DecideHeld(f.ctx, org.ID, r.ID, d)
			return err
		})
		ok := winners(t, errs, store.ErrAlreadyDecided)
		require.Len(t, ok, 1, "round %d: exactly one decision wins", round)
		assert.Len(t, f.events(org.ID), before+1, "one event")
		stored, err := a.GetApprovalRequest(f.ctx, org.ID, r.ID)
		require.NoError(t, err)
		m, merr := f.st.GetMembership(f.ctx, org.ID, res.User.ID)
		if ok[0]%2 == 0 {
			assert.Equal(t, store.ApprovalApproved, stored.Status)
			require.NoError(t, merr)
			assert.Equal(t, store.StatusPendingInvite, m.Status)
		} else {
			assert.Equal(t, store.ApprovalRejected, stored.Status)
			require.ErrorIs(t, merr, store.ErrNotFound)
		}
	}
}

// testApprovalConcurrentRules: guarded creates that read revision 0 race
// a rules change. Each either commits before the change (its event comes
// first in the feed) or is ErrDecisionStale: none lands under rules it did
// not read.
func testApprovalConcurrentRules(t *testing.T, f *fixture) {
	a := f.approvals(t)
	org := f.org()
	const n = 16
	errs := parallel(n+1, func(i int) error {
		if i == n {
			_, err := a.SetApprovalRules(f.ctx, org.ID, store.ApprovalRules{All: true, UpdateTime: f.now}, f.ev(org.ID, "", store.EventApprovalRulesUpdated))
			return err
		}
		_, err := a.CreateMembershipGuarded(f.ctx, InviteParams(org.ID, f.email("g"), f.now), nil, store.DecisionGuard{RulesRevision: 0})
		return err
	})
	require.NoError(t, errs[n], "the rules change")
	winners(t, errs[:n], store.ErrDecisionStale)
	rulesSeen := false
	for _, ev := range f.events(org.ID) {
		switch ev.Type {
		case store.EventApprovalRulesUpdated:
			rulesSeen = true
		case store.EventMembershipInvited:
			assert.False(t, rulesSeen, "an invite decided on revision 0 committed after the rules changed")
		}
	}
	assert.True(t, rulesSeen)
	_, err := a.CreateMembershipGuarded(f.ctx, InviteParams(org.ID, f.email("after"), f.now), nil, store.DecisionGuard{RulesRevision: 0})
	require.ErrorIs(t, err, store.ErrDecisionStale)
}
