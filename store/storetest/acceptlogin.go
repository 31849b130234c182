package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// acceptLoginTests cover store.AcceptLoginer (skipped, with a message, on a
// store without it).
var acceptLoginTests = []struct {
	name string
	fn   func(t *testing.T, f *fixture)
}{
	{"AcceptLogin/Success", testAcceptLoginSuccess},
	{"AcceptLogin/ErrorsWriteNothing", testAcceptLoginErrors},
	{"AcceptLogin/Concurrent", testAcceptLoginConcurrent},
}

func (f *fixture) acceptLoginer(t *testing.T) store.AcceptLoginer {
	al, ok := f.st.(store.AcceptLoginer)
	if !ok {
		t.Skipf("%T does not implement store.AcceptLoginer", f.st)
	}
	return al
}

// testAcceptLoginSuccess: one call makes the membership ACTIVE and records
// the login everywhere RecordLogin does (the user, the user's other ACTIVE
// membership, the accepted one), the accepted event then the login event.
func testAcceptLoginSuccess(t *testing.T, f *fixture) {
	al := f.acceptLoginer(t)
	home, other := f.org(), f.org()
	email := f.email("al")
	first := f.add(home.ID, email) // ACTIVE elsewhere already
	inv := f.invite(other.ID, email)
	require.Equal(t, first.User.ID, inv.User.ID, "the same person")
	at := f.now.Add(time.Hour)

	for _, named := range []bool{true, false} { // with and without the user id in the params
		p := f.acceptParams(inv.Invitation, at)
		if named {
			p.Identity.UserID = inv.User.ID
		}
		login := f.ev(other.ID, inv.User.ID, store.EventUserLoggedIn)
		login.CreateTime = at
		m, err := al.AcceptInvitationLogin(f.ctx, p, login)
		if !named {
			require.ErrorIs(t, err, store.ErrInviteUsed, "accepted once already")
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, store.StatusActive, m.Status)
		require.NotNil(t, m.LastLogin)
		assert.True(t, at.Equal(*m.LastLogin))
		assert.Equal(t, normMembership(m), normMembership(f.membership(other.ID, inv.User.ID)))

		u := f.user(inv.User.ID)
		require.NotNil(t, u.LastLogin, "the user's last login")
		assert.True(t, at.Equal(*u.LastLogin))
		assert.True(t, u.Profile.EmailVerified)
		hm := f.membership(home.ID, inv.User.ID)
		require.NotNil(t, hm.LastLogin, "the other ACTIVE membership's last login")
		assert.True(t, at.Equal(*hm.LastLogin))

		got := f.invitation(inv.Invitation.ID)
		require.NotNil(t, got.SpendTime)
		id, err := f.st.GetIdentity(f.ctx, p.Identity.Issuer, p.Identity.Subject)
		require.NoError(t, err)
		assert.Equal(t, inv.User.ID, id.UserID)

		evs := f.events(other.ID)
		require.GreaterOrEqual(t, len(evs), 2)
		last2 := evs[len(evs)-2:]
		assert.Equal(t, []string{p.Event.ID, login.ID}, []string{last2[0].ID, last2[1].ID}, "accepted, then logged in")
		assert.Equal(t, store.EventUserLoggedIn, last2[1].Type)
		assert.Equal(t, inv.User.ID, last2[1].UserID)
	}

	// The user id and organization are filled in when the events leave them
	// empty (a store's caller other than the Service).
	inv2 := f.invite(other.ID, f.email("al2"))
	p := f.acceptParams(inv2.Invitation, at)
	p.Event.OrganizationID, p.Event.UserID = "", ""
	login := store.Event{ID: store.NewID("evt"), Type: store.EventUserLoggedIn, CreateTime: at}
	_, err := al.AcceptInvitationLogin(f.ctx, p, login)
	require.NoError(t, err)
	ev := f.lastEvent(other.ID)
	assert.Equal(t, login.ID, ev.ID)
	assert.Equal(t, inv2.User.ID, ev.UserID)
	require.NotNil(t, f.user(inv2.User.ID).LastLogin)
}

// testAcceptLoginErrors: every refusal of AcceptInvitation, with its error,
// and nothing written: no spend, no identity, no last login, no event.
func testAcceptLoginErrors(t *testing.T, f *fixture) {
	al := f.acceptLoginer(t)
	org := f.org()
	at := f.now.Add(time.Hour)
	tests := append(acceptRefusals(t, f, org.ID, at), []acceptRefusal{
		{"expired", func() (invited, func(*store.AcceptParams)) {
			inv := f.invite(org.ID, f.email("expired"))
			return inv, func(p *store.AcceptParams) { p.Now = inv.Invitation.ExpireTime }
		}, store.ErrInviteExpired},
		{"not found", func() (invited, func(*store.AcceptParams)) {
			inv := f.invite(org.ID, f.email("nf"))
			return inv, func(p *store.AcceptParams) { p.InvitationID = "inv_missing" + token() }
		}, store.ErrNotFound},
	}...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, edit := tc.setup()
			before := f.snapshot(org.ID)
			wasInv := f.invitation(inv.Invitation.ID)
			wasUser := f.user(inv.User.ID)
			p := f.acceptParams(inv.Invitation, at.Add(time.Minute))
			p.Identity.UserID = inv.User.ID
			if edit != nil {
				edit(&p)
			}
			login := f.ev(org.ID, inv.User.ID, store.EventUserLoggedIn)

			_, err := al.AcceptInvitationLogin(f.ctx, p, login)
			require.ErrorIs(t, err, tc.want)

			assert.Equal(t, before, f.snapshot(org.ID), "members, events, outbox unchanged")
			assert.Equal(t, normInvitation(wasInv), normInvitation(f.invitation(inv.Invitation.ID)), "invitation unchanged")
			assert.Equal(t, normUser(wasUser), normUser(f.user(inv.User.ID)), "user unchanged (no last login, not verified)")
			if tc.want != store.ErrIdentityTaken {
				_, err = f.st.GetIdentity(f.ctx, p.Identity.Issuer, p.Identity.Subject)
				assert.ErrorIs(t, err, store.ErrNotFound, "no identity linked")
			}
		})
	}
}

// testAcceptLoginConcurrent: of many concurrent calls for one invitation
// exactly one succeeds, with one accepted and one login event.
func testAcceptLoginConcurrent(t *testing.T, f *fixture) {
	al := f.acceptLoginer(t)
	org := f.org()
	inv := f.invite(org.ID, f.email("alrace"))
	at := f.now.Add(time.Hour)
	params := make([]store.AcceptParams, 40)
	for i := range params {
		params[i] = f.acceptParams(inv.Invitation, at)
		params[i].Identity.UserID = inv.User.ID
	}
	errs := parallel(len(params), func(i int) error {
		_, err := al.AcceptInvitationLogin(f.ctx, params[i], f.ev(org.ID, inv.User.ID, store.EventUserLoggedIn))
		return err
	})
	ok := winners(t, errs, store.ErrInviteUsed)
	require.Len(t, ok, 1, "exactly one accept succeeds")
	counts := map[string]int{}
	for _, ev := range f.events(org.ID) {
		counts[ev.Type]++
	}
	assert.Equal(t, 1, counts[store.EventMembershipAccepted])
	assert.Equal(t, 1, counts[store.EventUserLoggedIn])
}
