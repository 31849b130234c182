package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

func testOrganizationCreateGet(t *testing.T, f *fixture) {
	org := store.Organization{
		ID: store.NewID("org"), Name: "Acme", Locale: "de",
		Metadata:   map[string]string{"plan": "pro"},
		CreateTime: f.now, UpdateTime: f.now.Add(time.Second),
	}
	ev := f.ev(org.ID, "", store.EventOrganizationCreated)
	require.NoError(t, f.st.CreateOrganization(f.ctx, org, ev))

	got, err := f.st.GetOrganization(f.ctx, org.ID)
	require.NoError(t, err)
	assert.Equal(t, normOrg(org), normOrg(got))
	evs := f.events(org.ID)
	require.Len(t, evs, 1)
	assert.Positive(t, evs[0].Seq)
	evs[0].Seq = 0
	assert.Equal(t, normEvent(ev), normEvent(evs[0]))

	err = f.st.CreateOrganization(f.ctx, store.Organization{ID: org.ID, Name: "Other", CreateTime: f.now, UpdateTime: f.now},
		f.ev(org.ID, "", store.EventOrganizationCreated))
	require.ErrorIs(t, err, store.ErrOrganizationExists)
	got, err = f.st.GetOrganization(f.ctx, org.ID)
	require.NoError(t, err)
	assert.Equal(t, "Acme", got.Name, "a refused create must not change the organization")
	assert.Len(t, f.events(org.ID), 1, "a refused create must not append its event")
}

func testNotFound(t *testing.T, f *fixture) {
	org := f.org()
	u := f.add(org.ID, f.email("known"))
	missing := store.NewID("x")
	tests := []struct {
		name string
		call func() error
	}{
		{"GetOrganization", func() error { _, err := f.st.GetOrganization(f.ctx, missing); return err }},
		{"GetUser", func() error { _, err := f.st.GetUser(f.ctx, missing); return err }},
		{"GetUserByEmail", func() error { _, err := f.st.GetUserByEmail(f.ctx, "nobody."+token()+"@example.com"); return err }},
		{"GetUserByExternalID", func() error { _, err := f.st.GetUserByExternalID(f.ctx, missing); return err }},
		{"GetUserByExternalID empty", func() error { _, err := f.st.GetUserByExternalID(f.ctx, ""); return err }},
		{"GetIdentity", func() error { _, err := f.st.GetIdentity(f.ctx, "https://idp.example", missing); return err }},
		{"GetMembership user", func() error { _, err := f.st.GetMembership(f.ctx, org.ID, missing); return err }},
		{"GetMembership org", func() error { _, err := f.st.GetMembership(f.ctx, missing, u.User.ID); return err }},
		{"GetInvitation", func() error { _, err := f.st.GetInvitation(f.ctx, missing); return err }},
		{"GetMembershipInvitation no invitation", func() error {
			_, err := f.st.GetMembershipInvitation(f.ctx, org.ID, u.User.ID) // direct add: no invitation
			return err
		}},
		{"GetMembershipInvitation", func() error { _, err := f.st.GetMembershipInvitation(f.ctx, org.ID, missing); return err }},
		{"UpdateMembership", func() error {
			_, err := f.st.UpdateMembership(f.ctx, org.ID, missing, store.MembershipUpdate{Roles: []string{"admin"}}, f.now, f.ev(org.ID, missing, store.EventMembershipUpdated))
			return err
		}},
		{"SetMembershipStatus", func() error {
			_, err := f.st.SetMembershipStatus(f.ctx, org.ID, missing, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: f.now, Event: f.ev(org.ID, missing, store.EventMembershipDeactivated)})
			return err
		}},
		{"AcceptInvitation", func() error {
			_, err := f.st.AcceptInvitation(f.ctx, f.acceptParams(store.Invitation{ID: missing, OrganizationID: org.ID}, f.now))
			return err
		}},
		{"ReissueInvitation", func() error {
			_, err := f.st.ReissueInvitation(f.ctx, store.ReissueParams{InvitationID: missing, Now: f.now, NewVerifierHash: []byte("h"), NewExpireTime: f.now.Add(time.Hour), Event: f.ev(org.ID, "", store.EventInvitationRenewed)})
			return err
		}},
		{"RevokeInvitation", func() error {
			return f.st.RevokeInvitation(f.ctx, org.ID, missing, f.now, f.ev(org.ID, missing, store.EventMembershipRevoked))
		}},
		{"RecordLogin", func() error {
			return f.st.RecordLogin(f.ctx, missing, f.now, f.ev(org.ID, missing, store.EventUserLoggedIn))
		}},
		{"LinkIdentity unknown user", func() error {
			return f.st.LinkIdentity(f.ctx, store.Identity{Issuer: "https://idp.example", Subject: missing, UserID: missing, CreateTime: f.now}, f.ev(org.ID, missing, store.EventUserLoggedIn))
		}},
		{"MarkOutboxSent", func() error { return f.st.MarkOutboxSent(f.ctx, missing, f.now) }},
		{"MarkOutboxRetry", func() error { return f.st.MarkOutboxRetry(f.ctx, missing, 1, f.now, "x") }},
		{"MarkOutboxDead", func() error {
			return f.st.MarkOutboxDead(f.ctx, missing, 1, "x", f.now, f.ev(org.ID, "", store.EventMailDeadLettered))
		}},
	}
	before := f.snapshot(org.ID)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, tc.call(), store.ErrNotFound)
		})
	}
	assert.Equal(t, before, f.snapshot(org.ID), "a not-found call must write nothing")

	// Lists of unknown things are empty, not errors.
	ms, err := f.st.ListUserMemberships(f.ctx, missing)
	require.NoError(t, err)
	assert.Empty(t, ms)
	evs, err := f.st.ListEvents(f.ctx, missing, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, evs)
	page, err := f.st.ListMembers(f.ctx, missing, store.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, page.Members)
	assert.Empty(t, page.Next)
}

func testCreateNewUser(t *testing.T, f *fixture) {
	org := f.org()
	p := InviteParams(org.ID, f.email("ann"), f.now)
	p.User.ExternalID = "ext-" + token()
	p.User.Profile.PhoneNumber = "+49 30 123"
	p.Membership.Roles = []string{"admin", "member"}

	res, err := f.st.CreateMembership(f.ctx, p)
	require.NoError(t, err)
	assert.True(t, res.UserCreated)
	assert.Equal(t, normUser(p.User), normUser(res.User))

	wantM := p.Membership
	wantM.UserID = p.User.ID
	assert.Positive(t, res.Membership.Seq, "the store assigns Seq")
	wantM.Seq = res.Membership.Seq
	assert.Equal(t, normMembership(wantM), normMembership(res.Membership))

	for name, get := range map[string]func() (store.User, error){
		"GetUser":             func() (store.User, error) { return f.st.GetUser(f.ctx, p.User.ID) },
		"GetUserByEmail":      func() (store.User, error) { return f.st.GetUserByEmail(f.ctx, p.User.Email) },
		"GetUserByExternalID": func() (store.User, error) { return f.st.GetUserByExternalID(f.ctx, p.User.ExternalID) },
	} {
		u, err := get()
		require.NoError(t, err, name)
		assert.Equal(t, normUser(p.User), normUser(u), name)
	}
	assert.Equal(t, normMembership(wantM), normMembership(f.membership(org.ID, p.User.ID)))

	wantInv := *p.Invitation
	wantInv.UserID = p.User.ID
	assert.Equal(t, normInvitation(wantInv), normInvitation(f.invitation(wantInv.ID)))
	inv, err := f.st.GetMembershipInvitation(f.ctx, org.ID, p.User.ID)
	require.NoError(t, err)
	assert.Equal(t, normInvitation(wantInv), normInvitation(inv))

	msgs := f.outbox(org.ID, store.OutboxQueued)
	require.Len(t, msgs, 1)
	assert.Equal(t, normOutbox(*p.Outbox), normOutbox(msgs[0]))

	ev := f.lastEvent(org.ID)
	assert.Positive(t, ev.Seq)
	wantEv := p.Event
	wantEv.UserID = p.User.ID // filled in by the store
	wantEv.Seq = ev.Seq
	assert.Equal(t, normEvent(wantEv), normEvent(ev))

	ms, err := f.st.ListUserMemberships(f.ctx, p.User.ID)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, normMembership(wantM), normMembership(ms[0]))

	page, err := f.st.ListMembers(f.ctx, org.ID, store.ListOptions{Now: f.now})
	require.NoError(t, err)
	require.Len(t, page.Members, 1)
	assert.Equal(t, normUser(p.User), normUser(page.Members[0].User))
	assert.Equal(t, normMembership(wantM), normMembership(page.Members[0].Membership))
}

func testReuseUserByEmail(t *testing.T, f *fixture) {
	a, b := f.org(), f.org()
	email := f.email("bob")
	first := f.invite(a.ID, email, func(p *store.CreateMembershipParams) { p.User.ExternalID = "ext-" + token() })

	p := InviteParams(b.ID, email, f.now.Add(time.Hour))
	p.User.ExternalID = "other-" + token()
	p.User.Profile.Name = "Someone Else"
	res, err := f.st.CreateMembership(f.ctx, p)
	require.NoError(t, err)
	assert.False(t, res.UserCreated)
	assert.Equal(t, normUser(first.User), normUser(res.User), "the existing user is reused unchanged")
	assert.Equal(t, first.User.ID, res.Membership.UserID)
	assert.Equal(t, b.ID, res.Membership.OrganizationID)

	_, err = f.st.GetUser(f.ctx, p.User.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "no second user")
	_, err = f.st.GetUserByExternalID(f.ctx, p.User.ExternalID)
	assert.ErrorIs(t, err, store.ErrNotFound, "the reused user keeps its external id")
	u, err := f.st.GetUserByEmail(f.ctx, email)
	require.NoError(t, err)
	assert.Equal(t, normUser(first.User), normUser(u))

	assert.Equal(t, first.User.ID, f.invitation(p.Invitation.ID).UserID)
	assert.Equal(t, first.User.ID, f.lastEvent(b.ID).UserID)
	ms, err := f.st.ListUserMemberships(f.ctx, first.User.ID)
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, []string{a.ID, b.ID}, []string{ms[0].OrganizationID, ms[1].OrganizationID}, "insertion order")
}

func testExternalIDUnique(t *testing.T, f *fixture) {
	org := f.org()
	ext := "ext-" + token()
	u1 := f.add(org.ID, f.email("one"), func(p *store.CreateMembershipParams) { p.User.ExternalID = ext })

	_, err := f.st.CreateMembership(f.ctx, func() store.CreateMembershipParams {
		p := AddParams(org.ID, f.email("two"), f.now)
		p.User.ExternalID = ext
		return p
	}())
	require.ErrorIs(t, err, store.ErrExternalIDTaken)

	// An empty external id is not unique.
	e1 := f.add(org.ID, f.email("empty1"))
	e2 := f.add(org.ID, f.email("empty2"))
	assert.NotEqual(t, e1.User.ID, e2.User.ID)
	_, err = f.st.GetUserByExternalID(f.ctx, "")
	assert.ErrorIs(t, err, store.ErrNotFound)

	u, err := f.st.GetUserByExternalID(f.ctx, ext)
	require.NoError(t, err)
	assert.Equal(t, u1.User.ID, u.ID)
	assert.Len(t, f.memberIDs(org.ID, store.ListOptions{}), 3)
}

func testLinkIdentity(t *testing.T, f *fixture) {
	org := f.org()
	u1 := f.add(org.ID, f.email("one")).User
	u2 := f.add(org.ID, f.email("two")).User
	id := store.Identity{
		Issuer: "https://idp.example", Subject: "sub-" + token(), UserID: u1.ID,
		Email: u1.Email, CreateTime: f.now,
	}
	ev := f.ev(org.ID, u1.ID, "identity.linked")
	require.NoError(t, f.st.LinkIdentity(f.ctx, id, ev))
	got, err := f.st.GetIdentity(f.ctx, id.Issuer, id.Subject)
	require.NoError(t, err)
	assert.Equal(t, normIdentity(id), normIdentity(got))
	assert.Equal(t, ev.ID, f.lastEvent(org.ID).ID)
	before := f.snapshot(org.ID)

	// Same link again: no-op, no event.
	require.NoError(t, f.st.LinkIdentity(f.ctx, id, f.ev(org.ID, u1.ID, "identity.linked")))
	assert.Equal(t, before, f.snapshot(org.ID), "re-linking the same identity is a no-op")

	// Another user: refused, nothing written.
	taken := id
	taken.UserID = u2.ID
	require.ErrorIs(t, f.st.LinkIdentity(f.ctx, taken, f.ev(org.ID, u2.ID, "identity.linked")), store.ErrIdentityTaken)
	assert.Equal(t, before, f.snapshot(org.ID))
	got, err = f.st.GetIdentity(f.ctx, id.Issuer, id.Subject)
	require.NoError(t, err)
	assert.Equal(t, u1.ID, got.UserID)

	// The same subject at another issuer is another identity; a user may have several.
	other := store.Identity{Issuer: "https://other.example", Subject: id.Subject, UserID: u2.ID, CreateTime: f.now}
	require.NoError(t, f.st.LinkIdentity(f.ctx, other, f.ev(org.ID, u2.ID, "identity.linked")))
	second := store.Identity{Issuer: id.Issuer, Subject: "sub-" + token(), UserID: u1.ID, CreateTime: f.now}
	require.NoError(t, f.st.LinkIdentity(f.ctx, second, f.ev(org.ID, u1.ID, "identity.linked")))
	got, err = f.st.GetIdentity(f.ctx, other.Issuer, other.Subject)
	require.NoError(t, err)
	assert.Equal(t, u2.ID, got.UserID)
	got, err = f.st.GetIdentity(f.ctx, second.Issuer, second.Subject)
	require.NoError(t, err)
	assert.Equal(t, u1.ID, got.UserID)
	assert.Len(t, f.events(org.ID), len(before.Events[org.ID])+2)
}

func testRecordLogin(t *testing.T, f *fixture) {
	org := f.org()
	u := f.add(org.ID, f.email("login")).User
	assert.Nil(t, f.user(u.ID).LastLogin)

	at := f.now.Add(time.Hour)
	ev := f.ev(org.ID, u.ID, store.EventUserLoggedIn)
	require.NoError(t, f.st.RecordLogin(f.ctx, u.ID, at, ev))
	got := f.user(u.ID)
	require.NotNil(t, got.LastLogin)
	assert.True(t, at.Equal(*got.LastLogin), "LastLogin = %v, want %v", got.LastLogin, at)
	assert.Equal(t, ev.ID, f.lastEvent(org.ID).ID)
	assert.Equal(t, store.EventUserLoggedIn, f.lastEvent(org.ID).Type)

	later := at.Add(24 * time.Hour)
	require.NoError(t, f.st.RecordLogin(f.ctx, u.ID, later, f.ev(org.ID, u.ID, store.EventUserLoggedIn)))
	got = f.user(u.ID)
	require.NotNil(t, got.LastLogin)
	assert.True(t, later.Equal(*got.LastLogin))
	assert.Equal(t, u.Email, got.Email, "the rest of the user is unchanged")
	assert.Equal(t, u.Profile.Name, got.Profile.Name)
}

func testOrganizationWithMember(t *testing.T, f *fixture) {
	oc, ok := f.st.(store.OrganizationMemberCreator)
	if !ok {
		t.Skip("the store does not implement store.OrganizationMemberCreator")
	}
	newOrg := func(name string) store.Organization {
		return store.Organization{ID: store.NewID("org"), Name: name, Locale: "en", CreateTime: f.now, UpdateTime: f.now}
	}

	// Success: the organization, its event, and everything CreateMembership writes.
	org := newOrg("Acme")
	email := f.email("founder")
	p := InviteParams(org.ID, email, f.now)
	res, err := oc.CreateOrganizationWithMember(f.ctx, org, f.ev(org.ID, "", store.EventOrganizationCreated), p)
	require.NoError(t, err)
	assert.True(t, res.UserCreated)
	assert.Equal(t, store.StatusPendingInvite, res.Membership.Status)
	got, err := f.st.GetOrganization(f.ctx, org.ID)
	require.NoError(t, err)
	assert.Equal(t, "Acme", got.Name)
	assert.Equal(t, store.StatusPendingInvite, f.membership(org.ID, res.User.ID).Status)
	assert.Equal(t, res.User.ID, f.invitation(p.Invitation.ID).UserID)
	assert.Len(t, f.outbox(org.ID, store.OutboxQueued), 1)
	var types []string
	for _, ev := range f.events(org.ID) {
		types = append(types, ev.Type)
	}
	assert.Equal(t, []string{store.EventOrganizationCreated, store.EventMembershipInvited}, types)

	// The organization exists: nothing is written, not even the new user.
	email2 := f.email("second")
	_, err = oc.CreateOrganizationWithMember(f.ctx, store.Organization{ID: org.ID, Name: "Other", CreateTime: f.now, UpdateTime: f.now},
		f.ev(org.ID, "", store.EventOrganizationCreated), InviteParams(org.ID, email2, f.now))
	require.ErrorIs(t, err, store.ErrOrganizationExists)
	_, err = f.st.GetUserByEmail(f.ctx, email2)
	require.ErrorIs(t, err, store.ErrNotFound, "no user written")
	assert.Len(t, f.events(org.ID), 2, "no event appended")

	// The membership is refused: the organization is rolled back with it.
	ext := "ext-" + token()
	f.add(f.org().ID, f.email("owner"), func(p *store.CreateMembershipParams) { p.User.ExternalID = ext })
	lost := newOrg("Lost")
	p = InviteParams(lost.ID, f.email("thief"), f.now)
	p.User.ExternalID = ext
	_, err = oc.CreateOrganizationWithMember(f.ctx, lost, f.ev(lost.ID, "", store.EventOrganizationCreated), p)
	require.ErrorIs(t, err, store.ErrExternalIDTaken)
	_, err = f.st.GetOrganization(f.ctx, lost.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "the organization was rolled back")
	assert.Empty(t, f.events(lost.ID), "its event was rolled back")
	_, err = f.st.GetUserByEmail(f.ctx, p.User.Email)
	require.ErrorIs(t, err, store.ErrNotFound)

	// The same organization can then be created.
	res, err = oc.CreateOrganizationWithMember(f.ctx, lost, f.ev(lost.ID, "", store.EventOrganizationCreated), AddParams(lost.ID, f.email("admin"), f.now))
	require.NoError(t, err)
	assert.Equal(t, store.StatusActive, res.Membership.Status)
	assert.Len(t, f.events(lost.ID), 2)
}

// testOrganizationRepeated: creating an organization again with the same id
// and the same first admin (a bootstrap that runs twice) is refused with
// ErrOrganizationExists, not with the admin's ErrAlreadyMember, and writes
// nothing.
func testOrganizationRepeated(t *testing.T, f *fixture) {
	oc, ok := f.st.(store.OrganizationMemberCreator)
	if !ok {
		t.Skip("the store does not implement store.OrganizationMemberCreator")
	}
	for _, tc := range []struct {
		name   string
		params func(orgID, email string) store.CreateMembershipParams
	}{
		{"Invite", func(orgID, email string) store.CreateMembershipParams { return InviteParams(orgID, email, f.now) }},
		{"Add", func(orgID, email string) store.CreateMembershipParams { return AddParams(orgID, email, f.now) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org := store.Organization{ID: store.NewID("org"), Name: "Acme", Locale: "en", CreateTime: f.now, UpdateTime: f.now}
			email := f.email("admin")
			first, err := oc.CreateOrganizationWithMember(f.ctx, org, f.ev(org.ID, "", store.EventOrganizationCreated), tc.params(org.ID, email))
			require.NoError(t, err)
			before := f.snapshot(org.ID)

			// The same organization and the same admin, with fresh ids
			// (invitation, mail, event), as a second run would send them.
			again := org
			again.Name = "Acme again"
			_, err = oc.CreateOrganizationWithMember(f.ctx, again, f.ev(org.ID, "", store.EventOrganizationCreated), tc.params(org.ID, email))
			require.ErrorIs(t, err, store.ErrOrganizationExists)
			assert.NotErrorIs(t, err, store.ErrAlreadyMember)

			// Without the admin, too.
			err = f.st.CreateOrganization(f.ctx, again, f.ev(org.ID, "", store.EventOrganizationCreated))
			require.ErrorIs(t, err, store.ErrOrganizationExists)

			assert.Equal(t, before, f.snapshot(org.ID), "a refused repeat writes nothing")
			got, err := f.st.GetOrganization(f.ctx, org.ID)
			require.NoError(t, err)
			assert.Equal(t, "Acme", got.Name)
			u, err := f.st.GetUserByEmail(f.ctx, email)
			require.NoError(t, err)
			assert.Equal(t, first.User.ID, u.ID, "the admin is the first run's user")
		})
	}
}
