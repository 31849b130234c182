package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// ssoSignInTests cover store.SSOSignIner (skipped, with a message, on a
// store without it) and AcceptParams.ProfileName.
var ssoSignInTests = []struct {
	name string
	fn   func(t *testing.T, f *fixture)
}{
	{"SSOSignIn/Success", testSSOSignInSuccess},
	{"SSOSignIn/KeepsWhatTheOrganizationWrote", testSSOSignInKeepsName},
	{"SSOSignIn/ErrorsWriteNothing", testSSOSignInErrors},
	{"SSOSignIn/Concurrent", testSSOSignInConcurrent},
	{"AcceptInvitation/ProfileName", testAcceptProfileName},
}

func (f *fixture) ssoSignIner(t *testing.T) store.SSOSignIner {
	s, ok := f.st.(store.SSOSignIner)
	if !ok {
		t.Skipf("%T does not implement store.SSOSignIner", f.st)
	}
	return s
}

// ssoParams is a sign-in of userID into orgID at at through a connection
// named "Acme Okta" asserting name, with a new identity.
func (f *fixture) ssoParams(orgID, userID, name string, at time.Time) store.SSOSignInParams {
	ev := func(typ string) store.Event {
		e := f.ev(orgID, userID, typ)
		e.ActorID, e.CreateTime, e.Data = userID, at, map[string]string{"connection_id": "ssoc_storetest"}
		return e
	}
	return store.SSOSignInParams{
		OrganizationID: orgID, UserID: userID, Now: at,
		Identity: &store.Identity{
			Issuer: "https://sso.storetest.example/ssoc_storetest", Subject: "sub-" + token(),
			Email: "x@example.com", CreateTime: at,
		},
		LinkEvent:        ev("identity.linked"),
		IdentityProvider: "Acme Okta", ProfileName: name,
		Updated: ev(store.EventMembershipUpdated),
		Login:   ev(store.EventUserLoggedIn),
	}
}

// unnamed edits an add so that the organization wrote no name.
func unnamed(p *store.CreateMembershipParams) { p.Membership.Profile.Name = "" }

// testSSOSignInSuccess: the first sign-in links the identity, names the
// connection and fills in the organization's empty name, records the
// login, and appends link, updated, login in that order; the person's
// other organization and the app-wide profile keep their names. A second
// sign-in changes nothing but the login.
func testSSOSignInSuccess(t *testing.T, f *fixture) {
	ss := f.ssoSignIner(t)
	a, b := f.org(), f.org()
	email := f.email("sso")
	res := f.add(a.ID, email, unnamed)
	uid := res.User.ID
	f.add(b.ID, email) // the same person, named by B
	wasB, wasUser := f.membership(b.ID, uid), f.user(uid)
	eventsB := f.eventIDs(b.ID)
	at := f.now.Add(time.Hour)

	p := f.ssoParams(a.ID, uid, "Pat from Okta", at)
	m, err := ss.SSOSignIn(f.ctx, p)
	require.NoError(t, err)
	assert.Equal(t, "Acme Okta", m.PrimaryIdentityProvider)
	assert.Equal(t, "Pat from Okta", m.Profile.Name)
	assert.Equal(t, res.Membership.Profile.FirstName, m.Profile.FirstName, "only the name is filled in")
	assert.True(t, at.Equal(m.UpdateTime), "updated at %v", m.UpdateTime)
	require.NotNil(t, m.LastLogin)
	assert.True(t, at.Equal(*m.LastLogin))
	assert.Equal(t, normMembership(m), normMembership(f.membership(a.ID, uid)), "returned as stored")

	id, err := f.st.GetIdentity(f.ctx, p.Identity.Issuer, p.Identity.Subject)
	require.NoError(t, err)
	assert.Equal(t, uid, id.UserID)

	u := f.user(uid)
	require.NotNil(t, u.LastLogin)
	assert.True(t, at.Equal(*u.LastLogin))
	assert.Equal(t, wasUser.Profile, u.Profile, "the app-wide profile is not the connection's")

	mb := f.membership(b.ID, uid)
	require.NotNil(t, mb.LastLogin, "RecordLogin's last login everywhere")
	mb.LastLogin = wasB.LastLogin
	assert.Equal(t, normMembership(wasB), normMembership(mb), "B's membership keeps its provider and name")
	assert.Equal(t, eventsB, f.eventIDs(b.ID), "no event in B")

	evs := f.events(a.ID)
	require.GreaterOrEqual(t, len(evs), 3)
	last := evs[len(evs)-3:]
	assert.Equal(t, []string{p.LinkEvent.ID, p.Updated.ID, p.Login.ID}, []string{last[0].ID, last[1].ID, last[2].ID}, "linked, updated, logged in")
	assert.Equal(t, map[string]string{"connection_id": "ssoc_storetest", "primary_identity_provider": "Acme Okta", "profile": "updated"}, last[1].Data)
	assert.Equal(t, store.EventMembershipUpdated, last[1].Type)
	assert.Equal(t, uid, last[1].UserID)

	// Again, as the same identity asserting another name: only the login.
	later := at.Add(time.Hour)
	q := f.ssoParams(a.ID, uid, "Someone Else", later)
	q.Identity = p.Identity
	m2, err := ss.SSOSignIn(f.ctx, q)
	require.NoError(t, err)
	assert.Equal(t, "Pat from Okta", m2.Profile.Name, "a name once there is the organization's")
	assert.True(t, at.Equal(m2.UpdateTime), "unchanged membership, unchanged update time")
	require.NotNil(t, m2.LastLogin)
	assert.True(t, later.Equal(*m2.LastLogin))
	evs2 := f.events(a.ID)
	assert.Equal(t, len(evs)+1, len(evs2))
	assert.Equal(t, q.Login.ID, evs2[len(evs2)-1].ID)

	// Without an identity to link, and events without ids of their own.
	r := f.ssoParams(a.ID, uid, "", later.Add(time.Hour))
	r.Identity = nil
	r.IdentityProvider = "Acme Entra"
	r.Updated.OrganizationID, r.Updated.UserID, r.Login.UserID = "", "", ""
	m3, err := ss.SSOSignIn(f.ctx, r)
	require.NoError(t, err)
	assert.Equal(t, "Acme Entra", m3.PrimaryIdentityProvider)
	evs3 := f.events(a.ID)
	require.Equal(t, len(evs2)+2, len(evs3))
	assert.Equal(t, map[string]string{"connection_id": "ssoc_storetest", "primary_identity_provider": "Acme Entra"}, evs3[len(evs3)-2].Data)
	assert.Equal(t, uid, evs3[len(evs3)-2].UserID)
	assert.Equal(t, uid, evs3[len(evs3)-1].UserID)
}

// testSSOSignInKeepsName: a name the organization wrote stays; the
// provider still changes, and the updated event says only that.
func testSSOSignInKeepsName(t *testing.T, f *fixture) {
	ss := f.ssoSignIner(t)
	org := f.org()
	res := f.add(org.ID, f.email("named"))
	written := res.Membership.Profile.Name
	require.NotEmpty(t, written)
	p := f.ssoParams(org.ID, res.User.ID, "From the IdP", f.now.Add(time.Hour))
	m, err := ss.SSOSignIn(f.ctx, p)
	require.NoError(t, err)
	assert.Equal(t, written, m.Profile.Name)
	assert.Equal(t, written, f.membership(org.ID, res.User.ID).Profile.Name)
	assert.Equal(t, "Acme Okta", m.PrimaryIdentityProvider)
	evs := f.events(org.ID)
	require.GreaterOrEqual(t, len(evs), 2)
	assert.Equal(t, map[string]string{"connection_id": "ssoc_storetest", "primary_identity_provider": "Acme Okta"}, evs[len(evs)-2].Data)
}

// testSSOSignInErrors: no membership, a pending or inactive one, an
// identity another user holds: each refused with its error, nothing
// written (no identity, no last login, no name, no event).
func testSSOSignInErrors(t *testing.T, f *fixture) {
	ss := f.ssoSignIner(t)
	org, other := f.org(), f.org()
	taken := store.Identity{Issuer: "https://sso.storetest.example/ssoc_storetest", Subject: "taken-" + token(), CreateTime: f.now}
	holder := f.add(org.ID, f.email("holder"))
	taken.UserID = holder.User.ID
	require.NoError(t, f.st.LinkIdentity(f.ctx, taken, f.ev(org.ID, holder.User.ID, "identity.linked")))

	tests := []struct {
		name  string
		setup func() (userID string, edit func(*store.SSOSignInParams))
		want  error
	}{
		{"no membership", func() (string, func(*store.SSOSignInParams)) {
			return f.add(other.ID, f.email("elsewhere"), unnamed).User.ID, nil
		}, store.ErrNotFound},
		{"pending", func() (string, func(*store.SSOSignInParams)) {
			return f.invite(org.ID, f.email("pending")).User.ID, nil
		}, store.ErrWrongStatus},
		{"inactive", func() (string, func(*store.SSOSignInParams)) {
			uid := f.add(org.ID, f.email("inactive"), unnamed).User.ID
			_, err := f.st.SetMembershipStatus(f.ctx, org.ID, uid, store.StatusChange{
				From: store.StatusActive, To: store.StatusInactive, Now: f.now, Event: f.ev(org.ID, uid, store.EventMembershipDeactivated)})
			require.NoError(t, err)
			return uid, nil
		}, store.ErrWrongStatus},
		{"identity taken", func() (string, func(*store.SSOSignInParams)) {
			return f.add(org.ID, f.email("thief"), unnamed).User.ID, func(p *store.SSOSignInParams) { p.Identity = &taken }
		}, store.ErrIdentityTaken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uid, edit := tc.setup()
			before := f.snapshot(org.ID, other.ID)
			wasUser := f.user(uid)
			var wasM []store.Membership
			for _, o := range []string{org.ID, other.ID} {
				if m, err := f.st.GetMembership(f.ctx, o, uid); err == nil {
					wasM = append(wasM, normMembership(m))
				}
			}
			p := f.ssoParams(org.ID, uid, "Mallory", f.now.Add(time.Hour))
			if edit != nil {
				edit(&p)
			}
			_, err := ss.SSOSignIn(f.ctx, p)
			require.ErrorIs(t, err, tc.want)

			assert.Equal(t, before, f.snapshot(org.ID, other.ID), "members, events, outbox unchanged")
			assert.Equal(t, normUser(wasUser), normUser(f.user(uid)), "user unchanged (no last login)")
			var nowM []store.Membership
			for _, o := range []string{org.ID, other.ID} {
				if m, err := f.st.GetMembership(f.ctx, o, uid); err == nil {
					nowM = append(nowM, normMembership(m))
				}
			}
			assert.Equal(t, wasM, nowM, "memberships unchanged")
			id, err := f.st.GetIdentity(f.ctx, p.Identity.Issuer, p.Identity.Subject)
			if tc.want == store.ErrIdentityTaken {
				require.NoError(t, err)
				assert.Equal(t, holder.User.ID, id.UserID)
			} else {
				assert.ErrorIs(t, err, store.ErrNotFound, "no identity linked")
			}
		})
	}
}

// testAcceptProfileName: an accept's ProfileName fills in the
// organization's empty name and never replaces one it wrote, through
// AcceptInvitation and (when the store has it) AcceptInvitationLogin; the
// app-wide profile keeps its name.
func testAcceptProfileName(t *testing.T, f *fixture) {
	org := f.org()
	at := f.now.Add(time.Hour)
	accepts := map[string]func(store.AcceptParams) (store.Membership, error){
		"AcceptInvitation": func(p store.AcceptParams) (store.Membership, error) { return f.st.AcceptInvitation(f.ctx, p) },
	}
	if al, ok := f.st.(store.AcceptLoginer); ok {
		accepts["AcceptInvitationLogin"] = func(p store.AcceptParams) (store.Membership, error) {
			return al.AcceptInvitationLogin(f.ctx, p, f.ev(org.ID, p.Identity.UserID, store.EventUserLoggedIn))
		}
	}
	for name, accept := range accepts {
		for _, orgNamed := range []bool{false, true} {
			inv := f.invite(org.ID, f.email("accname"), func(p *store.CreateMembershipParams) {
				if !orgNamed {
					p.Membership.Profile.Name = ""
				}
			})
			written := f.membership(org.ID, inv.User.ID).Profile.Name
			wasUser := f.user(inv.User.ID)
			p := f.acceptParams(inv.Invitation, at)
			p.Identity.UserID = inv.User.ID
			p.ProfileName = "Asserted Name"
			m, err := accept(p)
			require.NoError(t, err, name)
			want := written
			if !orgNamed {
				want = "Asserted Name"
			}
			assert.Equal(t, want, m.Profile.Name, "%s, organization named %v", name, orgNamed)
			assert.Equal(t, want, f.membership(org.ID, inv.User.ID).Profile.Name, "%s stored", name)
			assert.Equal(t, wasUser.Profile.Name, f.user(inv.User.ID).Profile.Name, "%s: the app-wide name", name)
		}
	}
}

// testSSOSignInConcurrent: many concurrent first sign-ins of one person
// with one new identity all succeed; the identity is linked once, the
// membership changes once (one link and one updated event) and every
// sign-in records its login.
func testSSOSignInConcurrent(t *testing.T, f *fixture) {
	ss := f.ssoSignIner(t)
	org := f.org()
	uid := f.add(org.ID, f.email("ssorace"), unnamed).User.ID
	before := len(f.events(org.ID))
	first := f.ssoParams(org.ID, uid, "Pat", f.now.Add(time.Hour))
	params := make([]store.SSOSignInParams, 24)
	for i := range params {
		params[i] = f.ssoParams(org.ID, uid, "Pat", f.now.Add(time.Hour))
		params[i].Identity = first.Identity
	}
	errs := parallel(len(params), func(i int) error {
		_, err := ss.SSOSignIn(f.ctx, params[i])
		return err
	})
	for i, err := range errs {
		require.NoError(t, err, "sign-in %d", i)
	}
	counts := map[string]int{}
	evs := f.events(org.ID)
	for _, ev := range evs[before:] {
		counts[ev.Type]++
	}
	assert.Equal(t, map[string]int{"identity.linked": 1, store.EventMembershipUpdated: 1, store.EventUserLoggedIn: len(params)}, counts)
	m := f.membership(org.ID, uid)
	assert.Equal(t, "Acme Okta", m.PrimaryIdentityProvider)
	assert.Equal(t, "Pat", m.Profile.Name)
}
