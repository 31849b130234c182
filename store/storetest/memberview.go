package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// The organization's view of a member: Membership.ExternalID, Profile,
// UserMetadata and LastLogin.

// memberProfile returns a full MemberProfile whose every field names tag.
func memberProfile(tag string) store.MemberProfile {
	return store.MemberProfile{
		FirstName: "Fn" + tag, LastName: "Ln" + tag, Name: "Shown " + tag, Locale: "de-" + tag,
		PhoneNumber: "+49 " + tag,
		Metadata:    map[string]string{"pm": tag, "shared": "profile"},
		CustomAttributes: map[string]string{
			"ca": tag, "quote\"": "ü ß \n",
		},
	}
}

// withView sets the organization's view of the member: external id ext
// ("" for none), a full profile and user metadata naming tag. The
// person's own fields (User) stay as they were, unlike any of these.
func withView(ext, tag string) func(*store.CreateMembershipParams) {
	return func(p *store.CreateMembershipParams) {
		p.Membership.ExternalID = ext
		p.Membership.Profile = memberProfile(tag)
		p.Membership.UserMetadata = map[string]string{"seed": tag, "dept": "d-" + tag}
	}
}

// withParams applies edits to p.
func withParams(p store.CreateMembershipParams, edits ...func(*store.CreateMembershipParams)) store.CreateMembershipParams {
	for _, e := range edits {
		e(&p)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// checkReads asserts that every read of want's membership returns want:
// GetMembership, GetMembershipByExternalID (when it has an external id),
// ListMembers and ListUserMemberships.
func (f *fixture) checkReads(t *testing.T, want store.Membership, msg string) {
	t.Helper()
	w := normMembership(want)
	m, err := f.st.GetMembership(f.ctx, want.OrganizationID, want.UserID)
	require.NoError(t, err, "%s: GetMembership", msg)
	assert.Equal(t, w, normMembership(m), "%s: GetMembership", msg)

	if want.ExternalID != "" {
		m, err := f.st.GetMembershipByExternalID(f.ctx, want.OrganizationID, want.ExternalID)
		require.NoError(t, err, "%s: GetMembershipByExternalID", msg)
		assert.Equal(t, w, normMembership(m), "%s: GetMembershipByExternalID", msg)
	}

	listed := 0
	for _, mem := range f.members(want.OrganizationID, store.ListOptions{}) {
		if mem.User.ID == want.UserID {
			listed++
			assert.Equal(t, w, normMembership(mem.Membership), "%s: ListMembers", msg)
		}
	}
	assert.Equal(t, 1, listed, "%s: ListMembers lists the member once", msg)

	ms, err := f.st.ListUserMemberships(f.ctx, want.UserID)
	require.NoError(t, err, "%s: ListUserMemberships", msg)
	listed = 0
	for _, m := range ms {
		if m.OrganizationID == want.OrganizationID {
			listed++
			assert.Equal(t, w, normMembership(m), "%s: ListUserMemberships", msg)
		}
	}
	assert.Equal(t, 1, listed, "%s: ListUserMemberships lists the membership once", msg)
}

// wantMembership is what a create of p returned as res must have written.
func wantMembership(p store.CreateMembershipParams, res store.CreateMembershipResult) store.Membership {
	m := p.Membership
	m.UserID = res.User.ID
	m.Seq = res.Membership.Seq
	return m
}

// testMemberViewRoundTrip: every field of the organization's view is
// written by CreateMembership and read back by every read of a membership;
// the person's own fields are neither changed nor shown in its place.
func testMemberViewRoundTrip(t *testing.T, f *fixture) {
	org := f.org()
	login := f.now.Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		params store.CreateMembershipParams
	}{
		{"direct add with a last login", withParams(AddParams(org.ID, f.email("add"), f.now), withView("ext-"+token(), "add"),
			func(p *store.CreateMembershipParams) { p.Membership.LastLogin = &login })},
		{"invitation", withParams(InviteParams(org.ID, f.email("inv"), f.now), withView("ext-"+token(), "inv"))},
		{"no external id", withParams(InviteParams(org.ID, f.email("noext"), f.now), withView("", "noext"))},
		{"empty view", withParams(AddParams(org.ID, f.email("empty"), f.now), func(p *store.CreateMembershipParams) {
			p.Membership.Profile = store.MemberProfile{}
			p.Membership.UserMetadata = nil
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.params
			res, err := f.st.CreateMembership(f.ctx, p)
			require.NoError(t, err)
			want := wantMembership(p, res)
			assert.Equal(t, normMembership(want), normMembership(res.Membership), "CreateMembership result")
			f.checkReads(t, want, "after CreateMembership")
			assert.Equal(t, normUser(p.User), normUser(f.user(res.User.ID)), "the user's own fields are kept apart")
		})
	}
}

// testMemberViewBatch: CreateMemberships writes the view like
// CreateMembership, and refuses per item (ErrExternalIDTaken) a
// membership external id another membership of the organization has,
// before the batch or earlier in it; the batch's other items are written.
func testMemberViewBatch(t *testing.T, f *fixture) {
	bc, ok := f.st.(store.BatchCreator)
	if !ok {
		t.Skip("the store does not implement store.BatchCreator")
	}
	a, b := f.org(), f.org()
	taken := "emp-" + token()
	owner := f.add(a.ID, f.email("owner"), withView(taken, "owner"))
	outsider := f.add(b.ID, f.email("outsider")) // a person a does not have yet
	e1, e2 := "emp-"+token(), "emp-"+token()
	shared := f.email("shared")
	login := f.now.Add(-2 * time.Hour)

	ps := []store.CreateMembershipParams{
		0: withParams(AddParams(a.ID, shared, f.now), withView(e1, "b0"), func(p *store.CreateMembershipParams) { p.Membership.LastLogin = &login }),
		1: withParams(InviteParams(a.ID, f.email("thief"), f.now), withView(taken, "b1")), // taken before the batch
		2: withParams(InviteParams(a.ID, f.email("second"), f.now), withView(e1, "b2")),   // taken by item 0
		3: withParams(InviteParams(b.ID, shared, f.now), withView(e1, "b3")),              // the same id in another organization
		4: withParams(AddParams(a.ID, f.email("noext"), f.now), withView("", "b4")),       // "" is never taken
		5: withParams(AddParams(a.ID, f.email("noext"), f.now), withView("", "b5")),       // nor twice
		6: withParams(AddParams(a.ID, outsider.User.Email, f.now), withView(taken, "b6")), // an existing user, a taken id
		7: withParams(InviteParams(a.ID, f.email("last"), f.now), withView(e2, "b7")),     // a fresh id after refusals
		8: withParams(InviteParams(a.ID, outsider.User.Email, f.now), withView(e2, "b8")), // taken by item 7
		9: withParams(InviteParams(b.ID, f.email("other"), f.now), withView(taken, "b9")), // a's id, free in b
	}
	wantErr := map[int]bool{1: true, 2: true, 6: true, 8: true}
	membersA, eventsA := f.memberIDs(a.ID, store.ListOptions{}), f.eventIDs(a.ID)

	res, err := bc.CreateMemberships(f.ctx, ps)
	require.NoError(t, err)
	require.Len(t, res, len(ps))
	var wantMembersA, wantEventsA []string
	for i, r := range res {
		if wantErr[i] {
			assert.ErrorIs(t, r.Err, store.ErrExternalIDTaken, "item %d", i)
			continue
		}
		require.NoError(t, r.Err, "item %d", i)
		want := wantMembership(ps[i], r.CreateMembershipResult)
		assert.Equal(t, normMembership(want), normMembership(r.Membership), "item %d: result", i)
		f.checkReads(t, want, fmt.Sprint("batch item ", i))
		if ps[i].Membership.OrganizationID == a.ID {
			wantMembersA = append(wantMembersA, r.User.ID)
			wantEventsA = append(wantEventsA, ps[i].Event.ID)
		}
	}
	assert.Equal(t, res[0].User.ID, res[3].User.ID, "item 3 reuses item 0's user")

	// Refused items wrote nothing.
	for i := range wantErr {
		_, err := f.st.GetUser(f.ctx, ps[i].User.ID)
		assert.ErrorIs(t, err, store.ErrNotFound, "item %d wrote a user", i)
		if ps[i].Invitation != nil {
			_, err = f.st.GetInvitation(f.ctx, ps[i].Invitation.ID)
			assert.ErrorIs(t, err, store.ErrNotFound, "item %d wrote its invitation", i)
			assert.NotContains(t, outboxIDs(f.outbox(a.ID, store.OutboxQueued)), ps[i].Outbox.ID, "item %d queued its mail", i)
		}
	}
	_, err = f.st.GetMembership(f.ctx, a.ID, outsider.User.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "items 6 and 8 added no membership")
	assert.Equal(t, append(membersA, wantMembersA...), f.memberIDs(a.ID, store.ListOptions{}))
	assert.Equal(t, append(eventsA, wantEventsA...), f.eventIDs(a.ID))
	f.checkReads(t, owner.Membership, "the owner of the taken id")

	for _, tc := range []struct {
		org, ext, user string
	}{
		{a.ID, taken, owner.User.ID},
		{a.ID, e1, res[0].User.ID},
		{b.ID, e1, res[0].User.ID},
		{a.ID, e2, res[7].User.ID},
		{b.ID, taken, res[9].User.ID},
	} {
		m, err := f.st.GetMembershipByExternalID(f.ctx, tc.org, tc.ext)
		require.NoError(t, err)
		assert.Equal(t, tc.user, m.UserID, "GetMembershipByExternalID(%s, %s)", tc.org, tc.ext)
	}

	// Only duplicates within the batch (nothing in the store conflicts).
	dup := "emp-" + token()
	ps = []store.CreateMembershipParams{
		withParams(AddParams(a.ID, f.email("d0"), f.now), withView(dup, "d0")),
		withParams(AddParams(a.ID, f.email("d1"), f.now), withView(dup, "d1")),
		withParams(AddParams(b.ID, f.email("d2"), f.now), withView(dup, "d2")),
	}
	res, err = bc.CreateMemberships(f.ctx, ps)
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, store.ErrExternalIDTaken)
	require.NoError(t, res[2].Err)
	_, err = f.st.GetUser(f.ctx, ps[1].User.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "the refused item wrote no user")
	m, err := f.st.GetMembershipByExternalID(f.ctx, a.ID, dup)
	require.NoError(t, err)
	assert.Equal(t, normMembership(wantMembership(ps[0], res[0].CreateMembershipResult)), normMembership(m))
	f.checkReads(t, wantMembership(ps[2], res[2].CreateMembershipResult), "the same id in the other organization")

	// Only a conflict with the store: new people, fresh ids, but an
	// external id an older membership of a has.
	ps = []store.CreateMembershipParams{
		withParams(InviteParams(a.ID, f.email("s0"), f.now), withView(taken, "s0")),
		withParams(InviteParams(a.ID, f.email("s1"), f.now), withView("emp-"+token(), "s1")),
	}
	res, err = bc.CreateMemberships(f.ctx, ps)
	require.NoError(t, err)
	assert.ErrorIs(t, res[0].Err, store.ErrExternalIDTaken)
	require.NoError(t, res[1].Err)
	_, err = f.st.GetUser(f.ctx, ps[0].User.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "the refused item wrote no user")
	_, err = f.st.GetInvitation(f.ctx, ps[0].Invitation.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "the refused item wrote no invitation")
	f.checkReads(t, owner.Membership, "the owner of the taken id, after the batch")
	f.checkReads(t, wantMembership(ps[1], res[1].CreateMembershipResult), "the batch's other item")
}

// testMemberViewOrganizationWithMember: CreateOrganizationWithMember
// writes the first member's view.
func testMemberViewOrganizationWithMember(t *testing.T, f *fixture) {
	oc, ok := f.st.(store.OrganizationMemberCreator)
	if !ok {
		t.Skip("the store does not implement store.OrganizationMemberCreator")
	}
	for _, tc := range []struct {
		name   string
		params func(orgID string) store.CreateMembershipParams
	}{
		{"Invite", func(orgID string) store.CreateMembershipParams {
			return withParams(InviteParams(orgID, f.email("founder"), f.now), withView("ext-"+token(), "founder"))
		}},
		{"Add", func(orgID string) store.CreateMembershipParams {
			return withParams(AddParams(orgID, f.email("admin"), f.now), withView("ext-"+token(), "admin"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org := store.Organization{ID: store.NewID("org"), Name: "Acme", CreateTime: f.now, UpdateTime: f.now}
			p := tc.params(org.ID)
			res, err := oc.CreateOrganizationWithMember(f.ctx, org, f.ev(org.ID, "", store.EventOrganizationCreated), p)
			require.NoError(t, err)
			want := wantMembership(p, res)
			assert.Equal(t, normMembership(want), normMembership(res.Membership), "result")
			f.checkReads(t, want, "after CreateOrganizationWithMember")
		})
	}
}

// testMemberViewExternalIDUnique: a membership external id is unique
// within its organization only; CreateMembership refuses a taken one with
// ErrExternalIDTaken and writes nothing, for a new and an existing user.
func testMemberViewExternalIDUnique(t *testing.T, f *fixture) {
	a, b, c := f.org(), f.org(), f.org()
	ext := "emp-" + token()
	first := f.add(a.ID, f.email("first"), withView(ext, "a"))
	inB := f.add(b.ID, f.email("inb"), withView(ext, "b"))        // the same id, another organization
	again := f.invite(c.ID, first.User.Email, withView(ext, "c")) // the same person and id, a third one
	assert.Equal(t, first.User.ID, again.User.ID)

	for _, tc := range []struct {
		name   string
		params store.CreateMembershipParams
	}{
		{"new user", withParams(InviteParams(a.ID, f.email("thief"), f.now), withView(ext, "thief"))},
		{"existing user", withParams(InviteParams(a.ID, inB.User.Email, f.now), withView(ext, "thief"))},
		{"direct add", withParams(AddParams(a.ID, f.email("adder"), f.now), withView(ext, "thief"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.params
			before := f.snapshot(a.ID, b.ID, c.ID)
			wasUser, userErr := f.st.GetUserByEmail(f.ctx, p.User.Email)

			_, err := f.st.CreateMembership(f.ctx, p)
			require.ErrorIs(t, err, store.ErrExternalIDTaken)

			assert.Equal(t, before, f.snapshot(a.ID, b.ID, c.ID), "members, events and outbox unchanged")
			_, err = f.st.GetUser(f.ctx, p.User.ID)
			assert.ErrorIs(t, err, store.ErrNotFound, "no user written")
			if userErr == nil {
				_, err := f.st.GetMembership(f.ctx, a.ID, wasUser.ID)
				assert.ErrorIs(t, err, store.ErrNotFound, "no membership written")
				assert.Equal(t, normUser(wasUser), normUser(f.user(wasUser.ID)), "existing user unchanged")
			}
			if p.Invitation != nil {
				_, err = f.st.GetInvitation(f.ctx, p.Invitation.ID)
				assert.ErrorIs(t, err, store.ErrNotFound, "no invitation written")
			}
			f.checkReads(t, first.Membership, "the id's owner")
		})
	}

	// Empty is "no external id": never taken, never found.
	e1 := f.add(a.ID, f.email("noext1"), withView("", "n1"))
	e2 := f.add(a.ID, f.email("noext2"), withView("", "n2"))
	assert.NotEqual(t, e1.User.ID, e2.User.ID)
	_, err := f.st.GetMembershipByExternalID(f.ctx, a.ID, "")
	assert.ErrorIs(t, err, store.ErrNotFound)

	for org, user := range map[string]string{a.ID: first.User.ID, b.ID: inB.User.ID, c.ID: first.User.ID} {
		m, err := f.st.GetMembershipByExternalID(f.ctx, org, ext)
		require.NoError(t, err)
		assert.Equal(t, org, m.OrganizationID)
		assert.Equal(t, user, m.UserID)
	}
	assert.Equal(t, "Fnc", f.membership(c.ID, again.User.ID).Profile.FirstName)
}

// testMemberViewGetByExternalID: GetMembershipByExternalID finds only the
// organization's own membership; an id is free again once its pending
// membership is revoked.
func testMemberViewGetByExternalID(t *testing.T, f *fixture) {
	a, b := f.org(), f.org()
	ext := "emp-" + token()
	m := f.add(a.ID, f.email("known"), withView(ext, "a"))
	got, err := f.st.GetMembershipByExternalID(f.ctx, a.ID, ext)
	require.NoError(t, err)
	assert.Equal(t, normMembership(f.membership(a.ID, m.User.ID)), normMembership(got))

	for name, call := range map[string][2]string{
		"other organization":   {b.ID, ext},
		"unknown organization": {store.NewID("org"), ext},
		"unknown id":           {a.ID, "emp-" + token()},
		"other case":           {a.ID, strings.ToUpper(ext)},
		"empty":                {a.ID, ""},
		"user id":              {a.ID, m.User.ID},
	} {
		_, err := f.st.GetMembershipByExternalID(f.ctx, call[0], call[1])
		assert.ErrorIs(t, err, store.ErrNotFound, name)
	}

	// A user's app-scoped external id is not a membership's.
	userExt := "app-" + token()
	f.add(a.ID, f.email("appext"), func(p *store.CreateMembershipParams) { p.User.ExternalID = userExt })
	_, err = f.st.GetMembershipByExternalID(f.ctx, a.ID, userExt)
	assert.ErrorIs(t, err, store.ErrNotFound, "User.ExternalID is not consulted")

	// Revoking a pending membership frees its external id.
	pend := "emp-" + token()
	inv := f.invite(a.ID, f.email("pending"), withView(pend, "p"))
	got, err = f.st.GetMembershipByExternalID(f.ctx, a.ID, pend)
	require.NoError(t, err)
	assert.Equal(t, inv.User.ID, got.UserID)
	require.NoError(t, f.st.RevokeInvitation(f.ctx, a.ID, inv.User.ID, f.now, f.ev(a.ID, inv.User.ID, store.EventMembershipRevoked)))
	_, err = f.st.GetMembershipByExternalID(f.ctx, a.ID, pend)
	assert.ErrorIs(t, err, store.ErrNotFound, "revoked")
	next := f.add(a.ID, f.email("next"), withView(pend, "n"))
	got, err = f.st.GetMembershipByExternalID(f.ctx, a.ID, pend)
	require.NoError(t, err)
	assert.Equal(t, next.User.ID, got.UserID)
}

// testMemberViewUpdate: UpdateMembership's ExternalID, Profile and
// UserMetadata: nil is unchanged, a value replaces, empty clears; a taken
// external id is refused with ErrExternalIDTaken and nothing is written.
func testMemberViewUpdate(t *testing.T, f *fixture) {
	org := f.org()
	ext1, ext2, ext3 := "emp-"+token(), "emp-"+token(), "emp-"+token()
	r := f.add(org.ID, f.email("upd"), withView(ext1, "v1"))
	other := f.add(org.ID, f.email("other"), withView(ext2, "o"))
	uid := r.User.ID
	login := f.now.Add(time.Minute)
	require.NoError(t, f.st.RecordLogin(f.ctx, uid, login, f.ev(org.ID, uid, store.EventUserLoggedIn)))
	want := f.membership(org.ID, uid)
	require.NotNil(t, want.LastLogin)
	user := f.user(uid)

	step := 0
	update := func(t *testing.T, u store.MembershipUpdate) {
		t.Helper()
		step++
		at := f.now.Add(time.Duration(step) * time.Hour)
		ev := f.ev(org.ID, uid, store.EventMembershipUpdated)
		m, err := f.st.UpdateMembership(f.ctx, org.ID, uid, u, at, ev)
		require.NoError(t, err)
		want.UpdateTime = at
		assert.Equal(t, normMembership(want), normMembership(m), "returned")
		f.checkReads(t, want, "stored")
		assert.Equal(t, ev.ID, f.lastEvent(org.ID).ID, "one event")
	}
	refused := func(t *testing.T, u store.MembershipUpdate) {
		t.Helper()
		before := f.snapshot(org.ID)
		_, err := f.st.UpdateMembership(f.ctx, org.ID, uid, u, f.now.Add(99*time.Hour), f.ev(org.ID, uid, store.EventMembershipUpdated))
		require.ErrorIs(t, err, store.ErrExternalIDTaken)
		assert.Equal(t, before, f.snapshot(org.ID), "nothing written")
		f.checkReads(t, want, "unchanged")
	}

	t.Run("nil fields are unchanged", func(t *testing.T) {
		want.Roles = []string{"admin", "member"}
		update(t, store.MembershipUpdate{Roles: []string{"admin", "member"}})
		want.Metadata = map[string]string{"team": "z"}
		update(t, store.MembershipUpdate{Metadata: map[string]string{"team": "z"}})
	})
	t.Run("ExternalID replaces", func(t *testing.T) {
		want.ExternalID = ext3
		update(t, store.MembershipUpdate{ExternalID: ptr(ext3)})
		_, err := f.st.GetMembershipByExternalID(f.ctx, org.ID, ext1)
		assert.ErrorIs(t, err, store.ErrNotFound, "the old id is gone")
		update(t, store.MembershipUpdate{ExternalID: ptr(ext3)}) // its own id again
	})
	t.Run("ExternalID taken", func(t *testing.T) {
		refused(t, store.MembershipUpdate{ExternalID: ptr(ext2)})
		refused(t, store.MembershipUpdate{ExternalID: ptr(ext2), Roles: []string{"owner"}, Profile: ptr(memberProfile("x")), UserMetadata: map[string]string{"x": "x"}})
		f.checkReads(t, other.Membership, "the id's owner")
	})
	t.Run("Profile replaces as a whole", func(t *testing.T) {
		v2 := func() store.MemberProfile {
			p := memberProfile("v2")
			p.PhoneNumber = ""
			p.CustomAttributes = nil
			return p
		}
		p := v2()
		want.Profile = v2()
		update(t, store.MembershipUpdate{Profile: &p})
		p.FirstName = "changed after the call"
		p.Metadata["pm"] = "changed after the call"
		f.checkReads(t, want, "the store keeps no reference to the update")
	})
	t.Run("UserMetadata replaces", func(t *testing.T) {
		want.UserMetadata = map[string]string{"k": "v"}
		update(t, store.MembershipUpdate{UserMetadata: map[string]string{"k": "v"}})
	})
	t.Run("all at once", func(t *testing.T) {
		want.ExternalID, want.Profile, want.UserMetadata = ext1, memberProfile("v3"), map[string]string{"all": "1"}
		update(t, store.MembershipUpdate{ExternalID: ptr(ext1), Profile: ptr(memberProfile("v3")), UserMetadata: map[string]string{"all": "1"}})
	})
	t.Run("empty clears", func(t *testing.T) {
		want.UserMetadata = nil
		update(t, store.MembershipUpdate{UserMetadata: map[string]string{}})
		want.Profile = store.MemberProfile{}
		update(t, store.MembershipUpdate{Profile: &store.MemberProfile{}})
		want.ExternalID = ""
		update(t, store.MembershipUpdate{ExternalID: ptr("")})
		_, err := f.st.GetMembershipByExternalID(f.ctx, org.ID, ext1)
		assert.ErrorIs(t, err, store.ErrNotFound, "a cleared id is not found")
	})
	t.Run("a cleared or replaced id is free", func(t *testing.T) {
		m, err := f.st.UpdateMembership(f.ctx, org.ID, other.User.ID, store.MembershipUpdate{ExternalID: ptr(ext1)}, f.now, f.ev(org.ID, other.User.ID, store.EventMembershipUpdated))
		require.NoError(t, err)
		assert.Equal(t, ext1, m.ExternalID)
		f.add(org.ID, f.email("late"), withView(ext2, "late")) // other's old id
	})
	assert.Equal(t, normUser(user), normUser(f.user(uid)), "the user's own fields are unchanged")
	assert.True(t, login.Equal(*f.membership(org.ID, uid).LastLogin), "updates keep LastLogin")
}

// testMemberViewTwoOrganizations: one person in two organizations, each
// with its own view; each organization's reads and queries see only its
// own, and a change in one leaves the other alone.
func testMemberViewTwoOrganizations(t *testing.T, f *fixture) {
	a, b := f.org(), f.org()
	email := f.email("shared")
	tagA, tagB := "alpha"+token(), "beta"+token()
	extA, extB := "a-"+token(), "b-"+token()
	ma := f.add(a.ID, email, withView(extA, tagA), func(p *store.CreateMembershipParams) {
		p.User.Profile.Name = "Own Name " + tagA + tagB // the person's own: matches neither query below
	})
	mb := f.invite(b.ID, email, withView(extB, tagB))
	uid := ma.User.ID
	require.Equal(t, uid, mb.User.ID, "one person")
	user := f.user(uid)

	f.checkReads(t, ma.Membership, "a's view")
	f.checkReads(t, mb.Membership, "b's view")
	assert.Equal(t, "Shown "+tagA, f.membership(a.ID, uid).Profile.Name)
	assert.Equal(t, "Shown "+tagB, f.membership(b.ID, uid).Profile.Name)
	for _, m := range f.members(b.ID, store.ListOptions{}) {
		assert.NotContains(t, m.Membership.Profile.Name+m.Membership.Profile.FirstName+m.Membership.Profile.LastName, tagA)
		assert.NotContains(t, m.Membership.UserMetadata["seed"], tagA)
	}

	// External ids are the organization's own.
	_, err := f.st.GetMembershipByExternalID(f.ctx, a.ID, extB)
	assert.ErrorIs(t, err, store.ErrNotFound, "b's id in a")
	_, err = f.st.GetMembershipByExternalID(f.ctx, b.ID, extA)
	assert.ErrorIs(t, err, store.ErrNotFound, "a's id in b")

	// Query matches the organization's own view, case-insensitively.
	for _, tc := range []struct {
		org, query string
		want       []string
	}{
		{a.ID, strings.ToUpper("shown " + tagA), []string{uid}},
		{a.ID, "fn" + tagA, []string{uid}},
		{a.ID, strings.ToUpper("Ln" + tagA), []string{uid}},
		{a.ID, tagB, nil},
		{b.ID, "Shown " + tagB, []string{uid}},
		{b.ID, tagA, nil},
		{b.ID, "own name", nil},
		{a.ID, "own name", nil},
		{b.ID, strings.ToUpper(email), []string{uid}},
	} {
		assert.Equal(t, tc.want, f.memberIDs(tc.org, store.ListOptions{Query: tc.query}), "org %s, query %q", tc.org, tc.query)
	}

	// A change of a's view leaves b's, and the person's own, alone.
	_, err = f.st.UpdateMembership(f.ctx, a.ID, uid, store.MembershipUpdate{
		ExternalID: ptr(extB), Profile: ptr(memberProfile("new" + tagA)), UserMetadata: map[string]string{"new": "a"},
	}, f.now.Add(time.Hour), f.ev(a.ID, uid, store.EventMembershipUpdated))
	require.NoError(t, err, "b's external id is free in a")
	f.checkReads(t, mb.Membership, "b's view after a's update")
	assert.Equal(t, "Shown new"+tagA, f.membership(a.ID, uid).Profile.Name)
	assert.Equal(t, normUser(user), normUser(f.user(uid)))
	m, err := f.st.GetMembershipByExternalID(f.ctx, b.ID, extB)
	require.NoError(t, err)
	assert.Equal(t, b.ID, m.OrganizationID)
	m, err = f.st.GetMembershipByExternalID(f.ctx, a.ID, extB)
	require.NoError(t, err)
	assert.Equal(t, a.ID, m.OrganizationID)
}

// testMemberViewLastLogin: RecordLogin sets the LastLogin of the user's
// ACTIVE memberships only; AcceptInvitation sets the accepted one's.
func testMemberViewLastLogin(t *testing.T, f *fixture) {
	a, b, c := f.org(), f.org(), f.org()
	email := f.email("login")
	uid := f.add(a.ID, email).User.ID
	inv := f.invite(b.ID, email)
	f.add(c.ID, email)
	setStatus := func(orgID string, from, to store.MembershipStatus) {
		t.Helper()
		_, err := f.st.SetMembershipStatus(f.ctx, orgID, uid, store.StatusChange{From: from, To: to, Now: f.now, Event: f.ev(orgID, uid, "membership.status")})
		require.NoError(t, err)
	}
	setStatus(c.ID, store.StatusActive, store.StatusInactive)
	bystander := f.add(a.ID, f.email("bystander")).User.ID
	login := func(at time.Time) {
		t.Helper()
		require.NoError(t, f.st.RecordLogin(f.ctx, uid, at, f.ev(a.ID, uid, store.EventUserLoggedIn)))
	}
	// check asserts uid's LastLogin in a, b and c (nil: none), through
	// every read.
	check := func(msg string, want ...*time.Time) {
		t.Helper()
		for i, org := range []string{a.ID, b.ID, c.ID} {
			m := f.membership(org, uid)
			if want[i] == nil {
				assert.Nil(t, m.LastLogin, "%s: org %d", msg, i)
			} else if assert.NotNil(t, m.LastLogin, "%s: org %d", msg, i) {
				assert.True(t, want[i].Equal(*m.LastLogin), "%s: org %d: LastLogin %v, want %v", msg, i, *m.LastLogin, *want[i])
			}
			f.checkReads(t, m, msg)
		}
		assert.Nil(t, f.membership(a.ID, bystander).LastLogin, "%s: another user's membership", msg)
	}
	check("before any login", nil, nil, nil)

	t1 := f.now.Add(time.Hour)
	login(t1)
	check("after a login: the active membership only", &t1, nil, nil)
	u := f.user(uid)
	require.NotNil(t, u.LastLogin)
	assert.True(t, t1.Equal(*u.LastLogin), "the user's LastLogin")

	t2 := t1.Add(time.Hour)
	m, err := f.st.AcceptInvitation(f.ctx, f.acceptParams(inv.Invitation, t2))
	require.NoError(t, err)
	require.NotNil(t, m.LastLogin, "AcceptInvitation's result")
	assert.True(t, t2.Equal(*m.LastLogin), "AcceptInvitation's result")
	check("after accepting", &t1, &t2, nil)

	t3 := t2.Add(time.Hour)
	login(t3)
	check("after a second login", &t3, &t3, nil)

	setStatus(c.ID, store.StatusInactive, store.StatusActive)
	check("reactivated, not yet signed in", &t3, &t3, nil)
	setStatus(a.ID, store.StatusActive, store.StatusInactive)
	t4 := t3.Add(time.Hour)
	login(t4)
	check("a deactivated", &t3, &t4, &t4)

	// The returned time is a copy.
	got := f.membership(b.ID, uid)
	*got.LastLogin = got.LastLogin.Add(time.Hour)
	check("after changing a returned LastLogin", &t3, &t4, &t4)
}
