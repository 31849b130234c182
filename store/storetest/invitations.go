package storetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

func testAcceptSuccess(t *testing.T, f *fixture) {
	org := f.org()
	inv := f.invite(org.ID, f.email("acc"))
	at := f.now.Add(time.Hour)
	p := f.acceptParams(inv.Invitation, at)

	m, err := f.st.AcceptInvitation(f.ctx, p)
	require.NoError(t, err)
	want := inv.Membership
	want.Status = store.StatusActive
	want.InviteExpireTime = time.Time{}
	want.PrimaryIdentityProvider = "OIDC"
	want.UpdateTime = at
	want.LastLogin = &at // accepting is signing in
	assert.Equal(t, normMembership(want), normMembership(m))
	assert.Equal(t, normMembership(want), normMembership(f.membership(org.ID, inv.User.ID)))

	got := f.invitation(inv.Invitation.ID)
	require.NotNil(t, got.SpendTime)
	assert.True(t, at.Equal(*got.SpendTime))
	assert.Nil(t, got.RevokeTime)

	id, err := f.st.GetIdentity(f.ctx, p.Identity.Issuer, p.Identity.Subject)
	require.NoError(t, err)
	wantID := p.Identity
	wantID.UserID = inv.User.ID // linked to the invitation's user
	assert.Equal(t, normIdentity(wantID), normIdentity(id))
	assert.True(t, f.user(inv.User.ID).Profile.EmailVerified)

	ev := f.lastEvent(org.ID)
	assert.Equal(t, p.Event.ID, ev.ID)
	assert.Equal(t, store.EventMembershipAccepted, ev.Type)
	assert.Equal(t, inv.User.ID, ev.UserID)
	assert.Equal(t, []string{inv.User.ID}, f.memberIDs(org.ID, store.ListOptions{Status: store.StatusActive, Now: at}))

	// EmailVerified false leaves the flag alone; an identity already linked
	// to the same user is fine.
	inv2 := f.invite(org.ID, f.email("acc2"))
	p2 := f.acceptParams(inv2.Invitation, at)
	p2.EmailVerified = false
	p2.Identity.UserID = inv2.User.ID
	require.NoError(t, f.st.LinkIdentity(f.ctx, p2.Identity, f.ev(org.ID, inv2.User.ID, "identity.linked")))
	m, err = f.st.AcceptInvitation(f.ctx, p2)
	require.NoError(t, err)
	assert.Equal(t, store.StatusActive, m.Status)
	assert.False(t, f.user(inv2.User.ID).Profile.EmailVerified)
}

func testAcceptExpired(t *testing.T, f *fixture) {
	org := f.org()
	inv := f.invite(org.ID, f.email("exp"))
	exp := inv.Invitation.ExpireTime
	before := f.snapshot(org.ID)

	for _, at := range []time.Time{exp, exp.Add(time.Second), exp.Add(30 * 24 * time.Hour)} {
		p := f.acceptParams(inv.Invitation, at)
		_, err := f.st.AcceptInvitation(f.ctx, p)
		require.ErrorIs(t, err, store.ErrInviteExpired, "accept at %v, expiry %v", at, exp)
		_, err = f.st.GetIdentity(f.ctx, p.Identity.Issuer, p.Identity.Subject)
		assert.ErrorIs(t, err, store.ErrNotFound, "no identity linked")
	}
	m := f.membership(org.ID, inv.User.ID)
	assert.Equal(t, store.StatusPendingInvite, m.Status, "the membership stays pending")
	assert.Equal(t, store.StatusInviteExpired, m.EffectiveStatus(exp))
	assert.Equal(t, store.StatusPendingInvite, m.EffectiveStatus(exp.Add(-time.Second)))
	assert.Nil(t, f.invitation(inv.Invitation.ID).SpendTime)
	assert.False(t, f.user(inv.User.ID).Profile.EmailVerified)
	assert.Equal(t, before, f.snapshot(org.ID))

	_, err := f.st.AcceptInvitation(f.ctx, f.acceptParams(inv.Invitation, exp.Add(-time.Second)))
	require.NoError(t, err, "one second before expiry is still valid")
}

// acceptRefusal leaves an invitation that must not be accepted (with an
// edit of the accept's params, or nil) and names the error.
type acceptRefusal struct {
	name  string
	setup func() (invited, func(*store.AcceptParams))
	want  error
}

// acceptRefusals are the refusals every accept shares, in orgID at at.
func acceptRefusals(t *testing.T, f *fixture, orgID string, at time.Time) []acceptRefusal {
	org := store.Organization{ID: orgID}
	return []acceptRefusal{
		{"used", func() (invited, func(*store.AcceptParams)) {
			inv := f.invite(org.ID, f.email("used"))
			_, err := f.st.AcceptInvitation(f.ctx, f.acceptParams(inv.Invitation, at))
			require.NoError(t, err)
			return inv, nil
		}, store.ErrInviteUsed},
		{"revoked", func() (invited, func(*store.AcceptParams)) {
			inv := f.invite(org.ID, f.email("revoked"))
			require.NoError(t, f.st.RevokeInvitation(f.ctx, org.ID, inv.User.ID, at, f.ev(org.ID, inv.User.ID, store.EventMembershipRevoked)))
			return inv, nil
		}, store.ErrInviteRevoked},
		{"identity taken", func() (invited, func(*store.AcceptParams)) {
			other := f.add(org.ID, f.email("owner")).User
			taken := store.Identity{Issuer: "https://idp.storetest.example", Subject: "taken-" + token(), UserID: other.ID, CreateTime: f.now}
			require.NoError(t, f.st.LinkIdentity(f.ctx, taken, f.ev(org.ID, other.ID, "identity.linked")))
			inv := f.invite(org.ID, f.email("victim"))
			return inv, func(p *store.AcceptParams) { p.Identity.Issuer, p.Identity.Subject = taken.Issuer, taken.Subject }
		}, store.ErrIdentityTaken},
		{"membership not pending", func() (invited, func(*store.AcceptParams)) {
			inv := f.invite(org.ID, f.email("notpending"))
			_, err := f.st.SetMembershipStatus(f.ctx, org.ID, inv.User.ID, store.StatusChange{From: store.StatusPendingInvite, To: store.StatusInactive, Now: at, Event: f.ev(org.ID, inv.User.ID, "membership.status")})
			require.NoError(t, err)
			return inv, nil
		}, store.ErrWrongStatus},
	}
}

func testAcceptErrors(t *testing.T, f *fixture) {
	org := f.org()
	at := f.now.Add(time.Hour)
	tests := acceptRefusals(t, f, org.ID, at)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, edit := tc.setup()
			before := f.snapshot(org.ID)
			wasInv := f.invitation(inv.Invitation.ID)
			wasUser := f.user(inv.User.ID)
			p := f.acceptParams(inv.Invitation, at.Add(time.Minute))
			if edit != nil {
				edit(&p)
			}

			_, err := f.st.AcceptInvitation(f.ctx, p)
			require.ErrorIs(t, err, tc.want)

			assert.Equal(t, before, f.snapshot(org.ID), "members, events, outbox unchanged")
			assert.Equal(t, normInvitation(wasInv), normInvitation(f.invitation(inv.Invitation.ID)), "invitation unchanged")
			assert.Equal(t, normUser(wasUser), normUser(f.user(inv.User.ID)), "user unchanged (not verified)")
			id, err := f.st.GetIdentity(f.ctx, p.Identity.Issuer, p.Identity.Subject)
			if tc.want == store.ErrIdentityTaken {
				require.NoError(t, err)
				assert.NotEqual(t, inv.User.ID, id.UserID, "identity still linked to its owner")
			} else {
				assert.ErrorIs(t, err, store.ErrNotFound, "no identity linked")
			}
		})
	}
}

func testRevoke(t *testing.T, f *fixture) {
	org := f.org()
	email := f.email("rev")
	inv := f.invite(org.ID, email)
	uid := inv.User.ID
	at := f.now.Add(time.Hour)
	ev := f.ev(org.ID, uid, store.EventMembershipRevoked)

	require.NoError(t, f.st.RevokeInvitation(f.ctx, org.ID, uid, at, ev))
	_, err := f.st.GetMembership(f.ctx, org.ID, uid)
	assert.ErrorIs(t, err, store.ErrNotFound, "the pending membership is deleted")
	assert.Empty(t, f.memberIDs(org.ID, store.ListOptions{}))
	ms, err := f.st.ListUserMemberships(f.ctx, uid)
	require.NoError(t, err)
	assert.Empty(t, ms)
	got := f.invitation(inv.Invitation.ID)
	require.NotNil(t, got.RevokeTime)
	assert.True(t, at.Equal(*got.RevokeTime))
	assert.Nil(t, got.SpendTime)
	assert.Equal(t, ev.ID, f.lastEvent(org.ID).ID)
	assert.Equal(t, email, f.user(uid).Email, "the user is kept")

	require.ErrorIs(t, f.st.RevokeInvitation(f.ctx, org.ID, uid, at, f.ev(org.ID, uid, store.EventMembershipRevoked)), store.ErrNotFound)

	// An active membership is not revoked.
	active := f.add(org.ID, f.email("act")).User.ID
	before := f.snapshot(org.ID)
	require.ErrorIs(t, f.st.RevokeInvitation(f.ctx, org.ID, active, at, f.ev(org.ID, active, store.EventMembershipRevoked)), store.ErrWrongStatus)
	assert.Equal(t, before, f.snapshot(org.ID))

	// An expired pending membership is revoked like any pending one.
	expired := f.invite(org.ID, f.email("old"), shortExpiry(f.now.Add(time.Minute)))
	require.NoError(t, f.st.RevokeInvitation(f.ctx, org.ID, expired.User.ID, at, f.ev(org.ID, expired.User.ID, store.EventMembershipRevoked)))
	assert.NotNil(t, f.invitation(expired.Invitation.ID).RevokeTime)

	// The person can be invited again; the old link stays dead.
	again := f.invite(org.ID, email)
	assert.Equal(t, uid, again.User.ID, "the user is reused")
	newest, err := f.st.GetMembershipInvitation(f.ctx, org.ID, uid)
	require.NoError(t, err)
	assert.Equal(t, again.Invitation.ID, newest.ID, "GetMembershipInvitation returns the newest invitation")
	_, err = f.st.AcceptInvitation(f.ctx, f.acceptParams(inv.Invitation, at))
	require.ErrorIs(t, err, store.ErrInviteRevoked)
	_, err = f.st.AcceptInvitation(f.ctx, f.acceptParams(again.Invitation, at))
	require.NoError(t, err)
}

// shortExpiry makes an invitation expire at exp.
func shortExpiry(exp time.Time) func(*store.CreateMembershipParams) {
	return func(p *store.CreateMembershipParams) {
		p.Membership.InviteExpireTime = exp
		p.Invitation.ExpireTime = exp
	}
}

// reminder returns an outbox message for a reissue.
func (f *fixture) reminder(orgID, to, kind string) *store.OutboxMessage {
	id := store.NewID("msg")
	return &store.OutboxMessage{
		ID: id, OrganizationID: orgID, Kind: kind, To: to, MessageID: "<" + id + "@invitekit>",
		Data: map[string]string{"email": to}, Sealed: []byte("sealed " + id),
		Status: store.OutboxQueued, NextAttemptTime: f.now, CreateTime: f.now,
	}
}

func testReissue(t *testing.T, f *fixture) {
	org := f.org()

	// Reminder: new verifier, same expiry, a mail queued, an event appended.
	inv := f.invite(org.ID, f.email("remind"))
	hash := sha256.Sum256([]byte("new verifier"))
	msg := f.reminder(org.ID, inv.User.Email, store.MailReminder)
	ev := f.ev(org.ID, inv.User.ID, store.EventInvitationResent)
	at := f.now.Add(time.Hour)
	got, err := f.st.ReissueInvitation(f.ctx, store.ReissueParams{
		InvitationID: inv.Invitation.ID, Now: at, NewVerifierHash: hash[:],
		NewExpireTime: inv.Invitation.ExpireTime, Outbox: msg, Event: ev,
	})
	require.NoError(t, err)
	want := inv.Invitation
	want.VerifierHash = hash[:]
	assert.Equal(t, normInvitation(want), normInvitation(got))
	assert.Equal(t, normInvitation(want), normInvitation(f.invitation(inv.Invitation.ID)))
	assert.Equal(t, []string{inv.Outbox.ID, msg.ID}, outboxIDs(f.outbox(org.ID, store.OutboxQueued)), "reminder queued after the invitation")
	assert.Equal(t, normOutbox(*msg), normOutbox(f.outbox(org.ID, store.OutboxQueued)[1]))
	assert.Equal(t, ev.ID, f.lastEvent(org.ID).ID)
	m := f.membership(org.ID, inv.User.ID)
	assert.True(t, inv.Invitation.ExpireTime.Equal(m.InviteExpireTime))
	assert.True(t, at.Equal(m.UpdateTime))

	// Renewal of an expired invitation: new expiry, pending again.
	old := f.invite(org.ID, f.email("renew"), shortExpiry(f.now.Add(time.Hour)))
	later := f.now.Add(2 * time.Hour)
	assert.Equal(t, []string{old.User.ID}, f.memberIDs(org.ID, store.ListOptions{Status: store.StatusInviteExpired, Now: later}))
	newExp := later.Add(15 * 24 * time.Hour)
	_, err = f.st.ReissueInvitation(f.ctx, store.ReissueParams{
		InvitationID: old.Invitation.ID, Now: later, NewVerifierHash: hash[:], NewExpireTime: newExp,
		Outbox: f.reminder(org.ID, old.User.Email, store.MailRenewed), Event: f.ev(org.ID, old.User.ID, store.EventInvitationRenewed),
	})
	require.NoError(t, err)
	assert.True(t, newExp.Equal(f.invitation(old.Invitation.ID).ExpireTime))
	assert.True(t, newExp.Equal(f.membership(org.ID, old.User.ID).InviteExpireTime), "the membership's InviteExpireTime follows")
	assert.Empty(t, f.memberIDs(org.ID, store.ListOptions{Status: store.StatusInviteExpired, Now: later}))
	assert.Contains(t, f.memberIDs(org.ID, store.ListOptions{Status: store.StatusPendingInvite, Now: later}), old.User.ID)

	// Without a mail ("copy invite link").
	queued := f.count(store.OutboxQueued)
	_, err = f.st.ReissueInvitation(f.ctx, store.ReissueParams{
		InvitationID: old.Invitation.ID, Now: later, NewVerifierHash: []byte("h2"), NewExpireTime: newExp,
		Event: f.ev(org.ID, old.User.ID, store.EventInvitationResent),
	})
	require.NoError(t, err)
	assert.Equal(t, queued, f.count(store.OutboxQueued))
	_, err = f.st.AcceptInvitation(f.ctx, f.acceptParams(old.Invitation, later.Add(time.Hour)))
	require.NoError(t, err, "the renewed invitation can be accepted after the old expiry")

	// Spent and revoked invitations are not reissued; nothing is written.
	revoked := f.invite(org.ID, f.email("gone"))
	require.NoError(t, f.st.RevokeInvitation(f.ctx, org.ID, revoked.User.ID, at, f.ev(org.ID, revoked.User.ID, store.EventMembershipRevoked)))
	for _, tc := range []struct {
		name string
		inv  store.Invitation
		want error
	}{
		{"spent", old.Invitation, store.ErrInviteUsed},
		{"revoked", revoked.Invitation, store.ErrInviteRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot(org.ID)
			was := f.invitation(tc.inv.ID)
			_, err := f.st.ReissueInvitation(f.ctx, store.ReissueParams{
				InvitationID: tc.inv.ID, Now: later, NewVerifierHash: []byte("nope"), NewExpireTime: later.Add(time.Hour),
				Outbox: f.reminder(org.ID, tc.inv.Email, store.MailRenewed), Event: f.ev(org.ID, tc.inv.UserID, store.EventInvitationRenewed),
			})
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, f.snapshot(org.ID))
			assert.Equal(t, normInvitation(was), normInvitation(f.invitation(tc.inv.ID)))
		})
	}
}
