package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

func testCreateAtomic(t *testing.T, f *fixture) {
	org := f.org()
	tests := []struct {
		name   string
		params func() store.CreateMembershipParams // sets up what makes it fail
		want   error
	}{
		{"already member", func() store.CreateMembershipParams {
			email := f.email("dup")
			f.invite(org.ID, email)
			return InviteParams(org.ID, email, f.now)
		}, store.ErrAlreadyMember},
		{"already member (direct add)", func() store.CreateMembershipParams {
			email := f.email("dupadd")
			f.add(org.ID, email)
			return AddParams(org.ID, email, f.now)
		}, store.ErrAlreadyMember},
		{"external id taken", func() store.CreateMembershipParams {
			ext := "ext-" + token()
			f.add(org.ID, f.email("owner"), func(p *store.CreateMembershipParams) { p.User.ExternalID = ext })
			p := InviteParams(org.ID, f.email("thief"), f.now)
			p.User.ExternalID = ext
			return p
		}, store.ErrExternalIDTaken},
		{"unknown organization", func() store.CreateMembershipParams {
			return InviteParams(store.NewID("org"), f.email("lost"), f.now)
		}, store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.params()
			target := p.Membership.OrganizationID
			prior, priorErr := f.st.GetUserByEmail(f.ctx, p.User.Email)
			before := f.snapshot(org.ID, target)

			_, err := f.st.CreateMembership(f.ctx, p)
			require.ErrorIs(t, err, tc.want)

			assert.Equal(t, before, f.snapshot(org.ID, target), "members, events and outbox unchanged")
			_, err = f.st.GetUser(f.ctx, p.User.ID)
			assert.ErrorIs(t, err, store.ErrNotFound, "no user written")
			u, err := f.st.GetUserByEmail(f.ctx, p.User.Email)
			if priorErr != nil {
				assert.ErrorIs(t, err, store.ErrNotFound, "no user written")
			} else {
				require.NoError(t, err)
				assert.Equal(t, normUser(prior), normUser(u), "existing user unchanged")
			}
			if p.Invitation != nil {
				_, err = f.st.GetInvitation(f.ctx, p.Invitation.ID)
				assert.ErrorIs(t, err, store.ErrNotFound, "no invitation written")
			}
			if p.Outbox != nil {
				assert.NotContains(t, outboxIDs(f.outbox(target, store.OutboxQueued)), p.Outbox.ID, "no mail queued")
			}
			assert.NotContains(t, f.eventIDs(target), p.Event.ID, "no event appended")
		})
	}
}

func testOneMembershipPerOrgUser(t *testing.T, f *fixture) {
	org := f.org()
	email := f.email("once")
	first := f.invite(org.ID, email)

	_, err := f.st.CreateMembership(f.ctx, InviteParams(org.ID, email, f.now))
	require.ErrorIs(t, err, store.ErrAlreadyMember, "pending membership exists")
	_, err = f.st.CreateMembership(f.ctx, AddParams(org.ID, email, f.now))
	require.ErrorIs(t, err, store.ErrAlreadyMember, "a direct add of a pending member")

	_, err = f.st.AcceptInvitation(f.ctx, f.acceptParams(first.Invitation, f.now.Add(time.Hour)))
	require.NoError(t, err)
	_, err = f.st.CreateMembership(f.ctx, InviteParams(org.ID, email, f.now))
	require.ErrorIs(t, err, store.ErrAlreadyMember, "active membership exists")

	_, err = f.st.SetMembershipStatus(f.ctx, org.ID, first.User.ID, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: f.now, Event: f.ev(org.ID, first.User.ID, store.EventMembershipDeactivated)})
	require.NoError(t, err)
	_, err = f.st.CreateMembership(f.ctx, InviteParams(org.ID, email, f.now))
	require.ErrorIs(t, err, store.ErrAlreadyMember, "inactive membership exists")

	assert.Equal(t, []string{first.User.ID}, f.memberIDs(org.ID, store.ListOptions{}))
	assert.Len(t, f.outbox(org.ID, store.OutboxQueued), 1)
}

func testScoping(t *testing.T, f *fixture) {
	a, b := f.org(), f.org()
	pendingA := f.invite(a.ID, f.email("pa"))
	activeA := f.add(a.ID, f.email("aa"))
	pendingB := f.invite(b.ID, f.email("pb"))
	shared := f.email("both")
	sharedA := f.add(a.ID, shared)
	sharedB := f.invite(b.ID, shared)
	require.Equal(t, sharedA.User.ID, sharedB.User.ID)
	before := f.snapshot(a.ID, b.ID)

	// Org B's calls cannot read or change org A's memberships.
	_, err := f.st.GetMembership(f.ctx, b.ID, pendingA.User.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "GetMembership")
	_, err = f.st.GetMembershipInvitation(f.ctx, b.ID, pendingA.User.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "GetMembershipInvitation")
	_, err = f.st.UpdateMembership(f.ctx, b.ID, activeA.User.ID, store.MembershipUpdate{Roles: []string{"admin"}}, f.now, f.ev(b.ID, activeA.User.ID, store.EventMembershipUpdated))
	assert.ErrorIs(t, err, store.ErrNotFound, "UpdateMembership")
	_, err = f.st.SetMembershipStatus(f.ctx, b.ID, activeA.User.ID, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: f.now, Event: f.ev(b.ID, activeA.User.ID, store.EventMembershipDeactivated)})
	assert.ErrorIs(t, err, store.ErrNotFound, "SetMembershipStatus")
	err = f.st.RevokeInvitation(f.ctx, b.ID, pendingA.User.ID, f.now, f.ev(b.ID, pendingA.User.ID, store.EventMembershipRevoked))
	assert.ErrorIs(t, err, store.ErrNotFound, "RevokeInvitation")

	assert.Equal(t, before, f.snapshot(a.ID, b.ID), "wrong-org calls change nothing")
	assert.Nil(t, f.invitation(pendingA.Invitation.ID).RevokeTime)
	assert.Equal(t, []string{"member"}, f.membership(a.ID, activeA.User.ID).Roles)

	// Lists hold only the organization's own rows.
	assert.ElementsMatch(t, []string{pendingB.User.ID, sharedB.User.ID}, f.memberIDs(b.ID, store.ListOptions{}))
	for _, m := range f.members(b.ID, store.ListOptions{}) {
		assert.Equal(t, b.ID, m.Membership.OrganizationID)
	}
	evsA := f.eventIDs(a.ID)
	for _, ev := range f.events(b.ID) {
		assert.Equal(t, b.ID, ev.OrganizationID)
		assert.NotContains(t, evsA, ev.ID)
	}
	msgsB := f.outbox(b.ID, store.OutboxQueued)
	assert.ElementsMatch(t, []string{pendingB.Outbox.ID, sharedB.Outbox.ID}, outboxIDs(msgsB))
	for _, m := range msgsB {
		assert.Equal(t, b.ID, m.OrganizationID)
	}

	// A user in both organizations: a change in one leaves the other alone.
	_, err = f.st.UpdateMembership(f.ctx, a.ID, sharedA.User.ID, store.MembershipUpdate{Roles: []string{"admin"}, Metadata: map[string]string{"x": "y"}}, f.now, f.ev(a.ID, sharedA.User.ID, store.EventMembershipUpdated))
	require.NoError(t, err)
	_, err = f.st.SetMembershipStatus(f.ctx, a.ID, sharedA.User.ID, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: f.now, Event: f.ev(a.ID, sharedA.User.ID, store.EventMembershipDeactivated)})
	require.NoError(t, err)
	mb := f.membership(b.ID, sharedB.User.ID)
	assert.Equal(t, store.StatusPendingInvite, mb.Status)
	assert.Equal(t, []string{"member"}, mb.Roles)
	assert.Equal(t, map[string]string{"team": "a"}, mb.Metadata)

	require.NoError(t, f.st.RevokeInvitation(f.ctx, b.ID, sharedB.User.ID, f.now, f.ev(b.ID, sharedB.User.ID, store.EventMembershipRevoked)))
	ma := f.membership(a.ID, sharedA.User.ID)
	assert.Equal(t, store.StatusInactive, ma.Status, "revoking in B keeps A's membership")
	assert.Equal(t, []string{"admin"}, ma.Roles)
	assert.Equal(t, before.Events[a.ID], f.eventIDs(a.ID)[:len(before.Events[a.ID])])
	assert.Len(t, f.events(a.ID), len(before.Events[a.ID])+2)
}

func testNoAliasing(t *testing.T, f *fixture) {
	org := f.org()
	p := InviteParams(org.ID, f.email("alias"), f.now)
	res := f.create(p)
	uid := res.User.ID
	// Deep copies (through JSON) of what is stored now.
	wantUser := normUser(deepCopy(t, f.user(uid)))
	wantM := normMembership(deepCopy(t, f.membership(org.ID, uid)))
	wantInv := normInvitation(deepCopy(t, f.invitation(p.Invitation.ID)))
	wantMsg := normOutbox(deepCopy(t, f.outbox(org.ID, store.OutboxQueued)[0]))
	wantEv := normEvent(deepCopy(t, f.lastEvent(org.ID)))

	// Change what was passed in and what came back.
	p.User.Metadata["source"] = "changed"
	p.User.Profile.Metadata["p"] = "changed"
	p.Membership.Roles[0] = "hacker"
	p.Membership.Metadata["team"] = "changed"
	p.Membership.Profile.Metadata["p"] = "changed"
	p.Membership.Profile.CustomAttributes["c"] = "changed"
	p.Membership.UserMetadata["source"] = "changed"
	p.Invitation.VerifierHash[0] ^= 0xff
	p.Outbox.Data["email"] = "changed"
	p.Outbox.Sealed[0] ^= 0xff
	p.Event.Data["email"] = "changed"
	res.User.Metadata["source"] = "changed"
	res.Membership.Roles[0] = "hacker"
	res.Membership.Profile.Metadata["p"] = "changed"

	u := f.user(uid)
	u.Metadata["source"] = "changed"
	u.Profile.CustomAttributes["c"] = "changed"
	m := f.membership(org.ID, uid)
	m.Roles[0] = "hacker"
	m.Metadata["team"] = "changed"
	m.Profile.Metadata["p"] = "changed"
	m.UserMetadata["source"] = "changed"
	inv := f.invitation(p.Invitation.ID)
	inv.VerifierHash[1] ^= 0xff
	page, err := f.st.ListMembers(f.ctx, org.ID, store.ListOptions{})
	require.NoError(t, err)
	page.Members[0].Membership.Roles[0] = "hacker"
	page.Members[0].User.Metadata["source"] = "changed"
	page.Members[0].Membership.Profile.CustomAttributes["c"] = "changed"
	ums, err := f.st.ListUserMemberships(f.ctx, uid)
	require.NoError(t, err)
	ums[0].UserMetadata["source"] = "changed"
	msgs, err := f.st.ClaimOutbox(f.ctx, f.now, f.now.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	msgs[0].Data["email"] = "changed"
	msgs[0].Sealed[1] ^= 0xff
	evs := f.events(org.ID)
	evs[len(evs)-1].Data["email"] = "changed"

	assert.Equal(t, wantUser, normUser(f.user(uid)))
	assert.Equal(t, wantM, normMembership(f.membership(org.ID, uid)))
	assert.Equal(t, wantInv, normInvitation(f.invitation(p.Invitation.ID)))
	got := normOutbox(f.outbox(org.ID, store.OutboxQueued)[0])
	got.LeaseUntil = time.Time{}
	assert.Equal(t, wantMsg, got)
	assert.Equal(t, wantEv, normEvent(f.lastEvent(org.ID)))
}

// deepCopy returns a copy of v that shares no map, slice or pointer with it.
func deepCopy[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var c T
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

func testListUserMemberships(t *testing.T, f *fixture) {
	a, b, c := f.org(), f.org(), f.org()
	email := f.email("multi")
	ma := f.add(a.ID, email)
	f.add(b.ID, f.email("other"))
	mc := f.invite(c.ID, email)

	ms, err := f.st.ListUserMemberships(f.ctx, ma.User.ID)
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, normMembership(ma.Membership), normMembership(ms[0]))
	assert.Equal(t, normMembership(mc.Membership), normMembership(ms[1]))
	assert.Less(t, ms[0].Seq, ms[1].Seq)
}

func testUpdateMembership(t *testing.T, f *fixture) {
	org := f.org()
	r := f.add(org.ID, f.email("upd"))
	uid := r.User.ID
	var evIDs []string
	update := func(u store.MembershipUpdate, at time.Time) store.Membership {
		t.Helper()
		ev := f.ev(org.ID, uid, store.EventMembershipUpdated)
		evIDs = append(evIDs, ev.ID)
		m, err := f.st.UpdateMembership(f.ctx, org.ID, uid, u, at, ev)
		require.NoError(t, err)
		assert.Equal(t, normMembership(m), normMembership(f.membership(org.ID, uid)), "returned = stored")
		assert.True(t, at.Equal(m.UpdateTime), "UpdateTime")
		return m
	}

	m := update(store.MembershipUpdate{Roles: []string{"admin", "member"}}, f.now.Add(time.Minute))
	assert.Equal(t, []string{"admin", "member"}, m.Roles)
	assert.Equal(t, map[string]string{"team": "a"}, m.Metadata, "nil Metadata is unchanged")

	m = update(store.MembershipUpdate{Metadata: map[string]string{"team": "b", "x": "y"}}, f.now.Add(2*time.Minute))
	assert.Equal(t, []string{"admin", "member"}, m.Roles, "nil Roles is unchanged")
	assert.Equal(t, map[string]string{"team": "b", "x": "y"}, m.Metadata)

	m = update(store.MembershipUpdate{Metadata: map[string]string{"x": "z"}}, f.now.Add(3*time.Minute))
	assert.Equal(t, map[string]string{"x": "z"}, m.Metadata, "Metadata replaces the whole map")

	m = update(store.MembershipUpdate{Roles: []string{}}, f.now.Add(4*time.Minute))
	assert.Empty(t, m.Roles, "empty Roles clears")
	assert.Equal(t, map[string]string{"x": "z"}, m.Metadata)

	m = update(store.MembershipUpdate{Metadata: map[string]string{}}, f.now.Add(5*time.Minute))
	assert.Empty(t, m.Metadata, "empty Metadata clears")
	assert.Equal(t, store.StatusActive, m.Status)
	assert.Equal(t, r.Membership.Seq, m.Seq)
	assert.True(t, r.Membership.JoinTime.Equal(m.JoinTime))

	evs := f.eventIDs(org.ID)
	assert.Equal(t, evIDs, evs[len(evs)-len(evIDs):], "one event per update")
}

func testSetMembershipStatus(t *testing.T, f *fixture) {
	org := f.org()
	a := f.add(org.ID, f.email("act")).User.ID
	p := f.invite(org.ID, f.email("pend")).User.ID
	set := func(uid string, from, to store.MembershipStatus, at time.Time) (store.Membership, error) {
		return f.st.SetMembershipStatus(f.ctx, org.ID, uid, store.StatusChange{From: from, To: to, Now: at, Event: f.ev(org.ID, uid, "membership.status")})
	}

	t1 := f.now.Add(time.Hour)
	m, err := set(a, store.StatusActive, store.StatusInactive, t1)
	require.NoError(t, err)
	assert.Equal(t, store.StatusInactive, m.Status)
	assert.True(t, t1.Equal(m.UpdateTime))
	assert.Equal(t, normMembership(m), normMembership(f.membership(org.ID, a)))
	assert.Equal(t, store.StatusInactive, f.memberStatus(org.ID, a))

	before := f.snapshot(org.ID)
	_, err = set(a, store.StatusActive, store.StatusInactive, t1)
	require.ErrorIs(t, err, store.ErrWrongStatus, "already inactive")
	_, err = set(p, store.StatusActive, store.StatusInactive, t1)
	require.ErrorIs(t, err, store.ErrWrongStatus, "pending is not active")
	_, err = set(p, store.StatusInviteExpired, store.StatusActive, t1)
	require.ErrorIs(t, err, store.ErrWrongStatus, "INVITE_EXPIRED is never stored")
	assert.Equal(t, before, f.snapshot(org.ID), "a refused transition writes nothing")

	m, err = set(a, store.StatusInactive, store.StatusActive, t1.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, store.StatusActive, m.Status)
	assert.Len(t, f.events(org.ID), len(before.Events[org.ID])+1)
}

// memberStatus returns userID's stored status as ListMembers shows it.
func (f *fixture) memberStatus(orgID, userID string) store.MembershipStatus {
	f.t.Helper()
	for _, m := range f.members(orgID, store.ListOptions{}) {
		if m.User.ID == userID {
			return m.Membership.Status
		}
	}
	f.t.Fatalf("%s is not listed in %s", userID, orgID)
	return ""
}
