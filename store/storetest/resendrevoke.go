package storetest

import (
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// resendRevokeTests cover store.GuardedRevoker, store.InvitationMemberGetter
// and store.ReissueMemberer (each skipped, with a message, on a store
// without it).
var resendRevokeTests = []struct {
	name string
	fn   func(t *testing.T, f *fixture)
}{
	{"GuardedRevoke/Success", testGuardedRevokeSuccess},
	{"GuardedRevoke/RefusalsWriteNothing", testGuardedRevokeRefusals},
	{"GuardedRevoke/Concurrent", testGuardedRevokeConcurrent},
	{"InvitationMember", testInvitationMember},
	{"ReissueMember", testReissueMember},
	{"Concurrent/ReissueRevoke", testConcurrentReissueRevoke},
}

func (f *fixture) guardedRevoker(t *testing.T) store.GuardedRevoker {
	g, ok := f.st.(store.GuardedRevoker)
	if !ok {
		t.Skipf("%T does not implement store.GuardedRevoker", f.st)
	}
	return g
}

func (f *fixture) reissueMemberer(t *testing.T) store.ReissueMemberer {
	r, ok := f.st.(store.ReissueMemberer)
	if !ok {
		t.Skipf("%T does not implement store.ReissueMemberer", f.st)
	}
	return r
}

// revokeKeys are the keys invite.Service asks for.
var revokeKeys = store.RevokeData{RolesKey: "roles", EmailKey: "email"}

// testGuardedRevokeSuccess: a guarded revoke does what RevokeInvitation
// does, and its event carries the deleted membership's roles and the
// user's email beside the caller's data (empty keys: the data as given).
// An expired pending membership is revoked like any pending one.
func testGuardedRevokeSuccess(t *testing.T, f *fixture) {
	g := f.guardedRevoker(t)
	org := f.org()
	email := f.email("grev")
	inv := f.invite(org.ID, email, func(p *store.CreateMembershipParams) { p.Membership.Roles = []string{"member", "billing"} })
	uid := inv.User.ID
	at := f.now.Add(time.Hour)
	ev := f.ev(org.ID, "", store.EventMembershipRevoked) // the user filled in by the store
	require.NoError(t, g.RevokeInvitationGuarded(f.ctx, org.ID, uid, at, ev, revokeKeys))
	assert.Equal(t, map[string]string{"k": "v"}, ev.Data, "the caller's data is not changed")

	_, err := f.st.GetMembership(f.ctx, org.ID, uid)
	assert.ErrorIs(t, err, store.ErrNotFound, "the pending membership is deleted")
	got := f.invitation(inv.Invitation.ID)
	require.NotNil(t, got.RevokeTime)
	assert.True(t, at.Equal(*got.RevokeTime))
	last := f.lastEvent(org.ID)
	assert.Equal(t, ev.ID, last.ID)
	assert.Equal(t, uid, last.UserID)
	assert.Equal(t, map[string]string{"k": "v", "roles": "member,billing", "email": email}, last.Data)
	assert.Equal(t, email, f.user(uid).Email, "the user is kept")

	// No roles, no keys, an expired invitation.
	for _, keys := range []store.RevokeData{revokeKeys, {}} {
		old := f.invite(org.ID, f.email("gold"), shortExpiry(f.now.Add(time.Minute)),
			func(p *store.CreateMembershipParams) { p.Membership.Roles = nil })
		ev := f.ev(org.ID, old.User.ID, store.EventMembershipRevoked)
		require.NoError(t, g.RevokeInvitationGuarded(f.ctx, org.ID, old.User.ID, at, ev, keys))
		assert.NotNil(t, f.invitation(old.Invitation.ID).RevokeTime)
		want := map[string]string{"k": "v", "roles": "", "email": old.User.Email}
		if keys == (store.RevokeData{}) {
			want = ev.Data
		}
		assert.Equal(t, want, f.lastEvent(org.ID).Data)
	}

	// The person can be invited again.
	again := f.invite(org.ID, email)
	assert.Equal(t, uid, again.User.ID)
}

// testGuardedRevokeRefusals: an unknown id, another organization's
// membership, an ACTIVE one and one revoked already are each refused with
// ErrRevokeRefused, and nothing is written (no membership, invitation,
// mail or event changes, in either organization).
func testGuardedRevokeRefusals(t *testing.T, f *fixture) {
	g := f.guardedRevoker(t)
	a, b := f.org(), f.org()
	pending := f.invite(a.ID, f.email("gpend"))
	active := f.add(a.ID, f.email("gact"))
	gone := f.invite(a.ID, f.email("ggone"))
	at := f.now.Add(time.Hour)
	require.NoError(t, g.RevokeInvitationGuarded(f.ctx, a.ID, gone.User.ID, at, f.ev(a.ID, gone.User.ID, store.EventMembershipRevoked), revokeKeys))

	cases := []struct{ name, org, user string }{
		{"unknown user", a.ID, "usr_nope"},
		{"unknown organization", "org_nope", pending.User.ID},
		{"another organization's membership", b.ID, pending.User.ID},
		{"active", a.ID, active.User.ID},
		{"revoked already", a.ID, gone.User.ID},
	}
	for _, tc := range cases {
		before := f.snapshot(a.ID, b.ID)
		invBefore := normInvitation(f.invitation(pending.Invitation.ID))
		err := g.RevokeInvitationGuarded(f.ctx, tc.org, tc.user, at.Add(time.Minute), f.ev(tc.org, tc.user, store.EventMembershipRevoked), revokeKeys)
		require.ErrorIs(t, err, store.ErrRevokeRefused, tc.name)
		assert.NotErrorIs(t, err, store.ErrNotFound, tc.name)
		assert.Equal(t, before, f.snapshot(a.ID, b.ID), "%s: nothing written", tc.name)
		assert.Equal(t, invBefore, normInvitation(f.invitation(pending.Invitation.ID)), tc.name)
	}
	assert.Equal(t, store.StatusPendingInvite, f.membership(a.ID, pending.User.ID).Status)
}

// testGuardedRevokeConcurrent: of many concurrent guarded revokes of one
// membership exactly one succeeds; the others are refused; one event.
func testGuardedRevokeConcurrent(t *testing.T, f *fixture) {
	g := f.guardedRevoker(t)
	org := f.org()
	inv := f.invite(org.ID, f.email("gconc"))
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ok   int
		errs []error
	)
	for range n {
		wg.Go(func() {
			err := g.RevokeInvitationGuarded(f.ctx, org.ID, inv.User.ID, f.now.Add(time.Hour), f.ev(org.ID, inv.User.ID, store.EventMembershipRevoked), revokeKeys)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, ok, "exactly one revoke")
	for _, err := range errs {
		assert.ErrorIs(t, err, store.ErrRevokeRefused)
	}
	revoked := 0
	for _, ev := range f.events(org.ID) {
		if ev.Type == store.EventMembershipRevoked {
			revoked++
		}
	}
	assert.Equal(t, 1, revoked, "one event")
}

// testInvitationMember: the membership, its user, its newest invitation
// and the inviter (the invitation's InvitedBy, else the id asked for);
// another organization's or an unknown id is ErrNotFound.
func testInvitationMember(t *testing.T, f *fixture) {
	g, ok := f.st.(store.InvitationMemberGetter)
	if !ok {
		t.Skipf("%T does not implement store.InvitationMemberGetter", f.st)
	}
	a, b := f.org(), f.org()
	boss := f.add(a.ID, f.email("boss"))
	other := f.add(a.ID, f.email("other"))
	inv := f.invite(a.ID, f.email("imem"), func(p *store.CreateMembershipParams) { p.Invitation.InvitedBy = boss.User.ID })
	self := f.invite(a.ID, f.email("iself"), func(p *store.CreateMembershipParams) { p.Invitation.InvitedBy = "" })

	got, err := g.GetInvitationMember(f.ctx, a.ID, inv.User.ID, other.User.ID)
	require.NoError(t, err)
	assert.Equal(t, normMembership(f.membership(a.ID, inv.User.ID)), normMembership(got.Membership))
	assert.Equal(t, inv.User.ID, got.User.ID)
	assert.Equal(t, inv.User.Email, got.User.Email)
	assert.Equal(t, normInvitation(f.invitation(inv.Invitation.ID)), normInvitation(got.Invitation))
	require.NotNil(t, got.Inviter, "the invitation's InvitedBy")
	assert.Equal(t, boss.User.ID, got.Inviter.User.ID)
	assert.Equal(t, boss.User.Email, got.Inviter.User.Email)
	assert.Equal(t, normMembership(f.membership(a.ID, boss.User.ID)), normMembership(got.Inviter.Membership))

	got, err = g.GetInvitationMember(f.ctx, a.ID, self.User.ID, other.User.ID)
	require.NoError(t, err)
	require.NotNil(t, got.Inviter, "no InvitedBy: the id asked for")
	assert.Equal(t, other.User.ID, got.Inviter.User.ID)
	for _, id := range []string{"", "usr_nope"} {
		got, err = g.GetInvitationMember(f.ctx, a.ID, self.User.ID, id)
		require.NoError(t, err)
		assert.Nil(t, got.Inviter, "inviter %q", id)
	}
	// The inviter is looked up in the organization only.
	outside := f.add(b.ID, f.email("outside"))
	got, err = g.GetInvitationMember(f.ctx, a.ID, self.User.ID, outside.User.ID)
	require.NoError(t, err)
	assert.Nil(t, got.Inviter, "a member of another organization")

	// The newest invitation, revoked ones included.
	require.NoError(t, f.st.RevokeInvitation(f.ctx, a.ID, inv.User.ID, f.now, f.ev(a.ID, inv.User.ID, store.EventMembershipRevoked)))
	again := f.invite(a.ID, inv.User.Email)
	got, err = g.GetInvitationMember(f.ctx, a.ID, inv.User.ID, "")
	require.NoError(t, err)
	assert.Equal(t, again.Invitation.ID, got.Invitation.ID)
	active, err := g.GetInvitationMember(f.ctx, a.ID, boss.User.ID, "")
	if err == nil {
		t.Fatalf("a membership without an invitation: %+v", active)
	}
	assert.ErrorIs(t, err, store.ErrNotFound, "no invitation")

	for _, tc := range []struct{ org, user string }{{b.ID, inv.User.ID}, {a.ID, "usr_nope"}, {"org_nope", inv.User.ID}} {
		_, err := g.GetInvitationMember(f.ctx, tc.org, tc.user, "")
		assert.ErrorIs(t, err, store.ErrNotFound, "%s/%s", tc.org, tc.user)
	}
}

// testReissueMember: ReissueInvitationMember returns the membership as
// GetMembership reads it after the write, and refuses what
// ReissueInvitation refuses, with the same errors, writing nothing.
func testReissueMember(t *testing.T, f *fixture) {
	r := f.reissueMemberer(t)
	org := f.org()
	inv := f.invite(org.ID, f.email("rmem"))
	hash := sha256.Sum256([]byte("new verifier"))
	at := f.now.Add(time.Hour)
	newExp := at.Add(15 * 24 * time.Hour)
	p := store.ReissueParams{
		InvitationID: inv.Invitation.ID, Now: at, NewVerifierHash: hash[:], NewExpireTime: newExp,
		Outbox: f.reminder(org.ID, inv.User.Email, store.MailRenewed), Event: f.ev(org.ID, inv.User.ID, store.EventInvitationRenewed),
	}
	gotInv, m, err := r.ReissueInvitationMember(f.ctx, p)
	require.NoError(t, err)
	assert.Equal(t, normMembership(f.membership(org.ID, inv.User.ID)), normMembership(m))
	assert.True(t, newExp.Equal(m.InviteExpireTime))
	assert.True(t, at.Equal(m.UpdateTime))
	assert.Equal(t, normInvitation(f.invitation(inv.Invitation.ID)), normInvitation(gotInv))
	assert.Equal(t, p.Event.ID, f.lastEvent(org.ID).ID)

	// Refusals: the same errors as ReissueInvitation's, nothing written.
	spent := f.invite(org.ID, f.email("rspent"))
	_, err = f.st.AcceptInvitation(f.ctx, f.acceptParams(spent.Invitation, at))
	require.NoError(t, err)
	revoked := f.invite(org.ID, f.email("rrev"))
	require.NoError(t, f.st.RevokeInvitation(f.ctx, org.ID, revoked.User.ID, at, f.ev(org.ID, revoked.User.ID, store.EventMembershipRevoked)))
	for _, tc := range []struct {
		name string
		id   string
		want error
	}{
		{"unknown", "inv_nope", store.ErrNotFound},
		{"spent", spent.Invitation.ID, store.ErrInviteUsed},
		{"revoked", revoked.Invitation.ID, store.ErrInviteRevoked},
	} {
		q := p
		q.InvitationID = tc.id
		q.Outbox = f.reminder(org.ID, "x@example.com", store.MailReminder)
		q.Event = f.ev(org.ID, "", store.EventInvitationResent)
		before := f.snapshot(org.ID)
		_, _, err := r.ReissueInvitationMember(f.ctx, q)
		assert.ErrorIs(t, err, tc.want, tc.name)
		_, err2 := f.st.ReissueInvitation(f.ctx, q)
		assert.ErrorIs(t, err2, tc.want, "%s: ReissueInvitation", tc.name)
		assert.Equal(t, before, f.snapshot(org.ID), "%s: nothing written", tc.name)
	}
}

// testConcurrentReissueRevoke: reissues and guarded revokes (where the
// store has them; else RevokeInvitation) of one membership at once. One
// revoke wins; every reissue either wins before it or is refused as
// revoked or not found; each success wrote its event and nothing else did.
func testConcurrentReissueRevoke(t *testing.T, f *fixture) {
	r := f.reissueMemberer(t)
	org := f.org()
	inv := f.invite(org.ID, f.email("rconc"))
	revoke := func(ev store.Event) error {
		if g, ok := f.st.(store.GuardedRevoker); ok {
			return g.RevokeInvitationGuarded(f.ctx, org.ID, inv.User.ID, f.now.Add(time.Hour), ev, revokeKeys)
		}
		return f.st.RevokeInvitation(f.ctx, org.ID, inv.User.ID, f.now.Add(time.Hour), ev)
	}
	const n = 6
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written []string
		revokes int
	)
	for i := range 2 * n {
		wg.Go(func() {
			var err error
			ev := f.ev(org.ID, inv.User.ID, store.EventInvitationResent)
			if i%2 == 0 {
				ev.Type = store.EventMembershipRevoked
				err = revoke(ev)
				if err != nil && !errors.Is(err, store.ErrRevokeRefused) && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("revoke: %v", err)
				}
			} else {
				hash := sha256.Sum256([]byte(ev.ID))
				var m store.Membership
				_, m, err = r.ReissueInvitationMember(f.ctx, store.ReissueParams{
					InvitationID: inv.Invitation.ID, Now: f.now.Add(time.Minute), NewVerifierHash: hash[:],
					NewExpireTime: inv.Invitation.ExpireTime, Outbox: f.reminder(org.ID, inv.User.Email, store.MailReminder), Event: ev,
				})
				switch {
				case err == nil:
					assert.Equal(t, store.StatusPendingInvite, m.Status)
				case errors.Is(err, store.ErrInviteRevoked), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrWrongStatus):
				default:
					t.Errorf("reissue: %v", err)
				}
			}
			if err == nil {
				mu.Lock()
				written = append(written, ev.ID)
				if ev.Type == store.EventMembershipRevoked {
					revokes++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, revokes, "exactly one revoke")
	var got []string
	for _, ev := range f.events(org.ID) {
		if ev.Type == store.EventMembershipRevoked || ev.Type == store.EventInvitationResent {
			got = append(got, ev.ID)
		}
	}
	assert.ElementsMatch(t, written, got, "an event for each success, none for a refusal")
	assert.Equal(t, store.EventMembershipRevoked, f.lastEvent(org.ID).Type, "no reissue after the revoke")
	_, err := f.st.GetMembership(f.ctx, org.ID, inv.User.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.NotNil(t, f.invitation(inv.Invitation.ID).RevokeTime)
	assert.Len(t, f.outbox(org.ID, store.OutboxQueued), 1+len(written)-1, "the invitation mail and one reminder per reissue")
}
