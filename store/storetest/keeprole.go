package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// keptRole is the role the KeepRole tests keep.
const keptRole = "admin"

func (f *fixture) addWithRoles(orgID, name string, roles ...string) store.CreateMembershipResult {
	f.t.Helper()
	return f.add(orgID, f.email(name), func(p *store.CreateMembershipParams) { p.Membership.Roles = roles })
}

func (f *fixture) setRoles(orgID, userID string, keep string, roles ...string) (store.Membership, error) {
	return f.st.UpdateMembership(f.ctx, orgID, userID, store.MembershipUpdate{Roles: roles, KeepRole: keep}, f.now,
		f.ev(orgID, userID, store.EventMembershipUpdated))
}

func (f *fixture) deactivate(orgID, userID, keep string) (store.Membership, error) {
	return f.st.SetMembershipStatus(f.ctx, orgID, userID, store.StatusChange{
		From: store.StatusActive, To: store.StatusInactive, Now: f.now,
		Event: f.ev(orgID, userID, store.EventMembershipDeactivated), KeepRole: keep,
	})
}

func testKeepRole(t *testing.T, f *fixture) {
	org, other := f.org(), f.org()
	a := f.addWithRoles(org.ID, "admin", keptRole)
	m := f.addWithRoles(org.ID, "member", "member")
	pending := f.invite(org.ID, f.email("pending"), func(p *store.CreateMembershipParams) { p.Membership.Roles = []string{keptRole} })
	f.addWithRoles(other.ID, "otheradmin", keptRole) // another organization's admin does not count
	inactive := f.addWithRoles(org.ID, "inactive", keptRole)
	_, err := f.deactivate(org.ID, inactive.User.ID, "")
	require.NoError(t, err)

	// a is the only ACTIVE holder: neither losing the role nor leaving ACTIVE.
	before := f.snapshot(org.ID, other.ID)
	_, err = f.setRoles(org.ID, a.User.ID, keptRole, "member")
	require.ErrorIs(t, err, store.ErrLastRoleHolder)
	_, err = f.setRoles(org.ID, a.User.ID, keptRole, []string{}...)
	require.ErrorIs(t, err, store.ErrLastRoleHolder, "an empty role list takes the role too")
	_, err = f.deactivate(org.ID, a.User.ID, keptRole)
	require.ErrorIs(t, err, store.ErrLastRoleHolder)
	assert.Equal(t, before, f.snapshot(org.ID, other.ID), "a refused change writes nothing")

	// Changes that keep the role, or touch another member, pass.
	_, err = f.setRoles(org.ID, a.User.ID, keptRole, keptRole, "billing")
	require.NoError(t, err)
	_, err = f.st.UpdateMembership(f.ctx, org.ID, a.User.ID, store.MembershipUpdate{Metadata: map[string]string{"x": "1"}, KeepRole: keptRole},
		f.now, f.ev(org.ID, a.User.ID, store.EventMembershipUpdated))
	require.NoError(t, err, "metadata only")
	_, err = f.setRoles(org.ID, m.User.ID, keptRole, "viewer")
	require.NoError(t, err)
	_, err = f.st.SetMembershipStatus(f.ctx, org.ID, pending.User.ID, store.StatusChange{
		From: store.StatusPendingInvite, To: store.StatusInactive, Now: f.now,
		Event: f.ev(org.ID, pending.User.ID, "membership.status"), KeepRole: keptRole,
	})
	require.NoError(t, err, "a pending holder is not an active one")

	// Without KeepRole the store does not guard.
	_, err = f.setRoles(org.ID, a.User.ID, "", "member")
	require.NoError(t, err)
	_, err = f.setRoles(org.ID, a.User.ID, "", keptRole)
	require.NoError(t, err)

	// With a second active holder the first may go; then the second is the last.
	_, err = f.setRoles(org.ID, m.User.ID, keptRole, keptRole)
	require.NoError(t, err)
	_, err = f.deactivate(org.ID, a.User.ID, keptRole)
	require.NoError(t, err)
	_, err = f.setRoles(org.ID, m.User.ID, keptRole, "member")
	require.ErrorIs(t, err, store.ErrLastRoleHolder)
	assert.Equal(t, []string{keptRole}, f.membership(org.ID, m.User.ID).Roles)

	// The other errors come first.
	_, err = f.st.SetMembershipStatus(f.ctx, org.ID, m.User.ID, store.StatusChange{
		From: store.StatusPendingInvite, To: store.StatusInactive, Now: f.now,
		Event: f.ev(org.ID, m.User.ID, "membership.status"), KeepRole: keptRole,
	})
	require.ErrorIs(t, err, store.ErrWrongStatus)
	_, err = f.deactivate(org.ID, store.NewID("usr"), keptRole)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.setRoles(org.ID, store.NewID("usr"), keptRole, "member")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// testConcurrentKeepRole: two active admins each take the role from the
// other at the same moment (one by a role change, one by deactivation):
// exactly one succeeds, and the organization keeps one active admin.
func testConcurrentKeepRole(t *testing.T, f *fixture) {
	for range 10 {
		org := f.org()
		a := f.addWithRoles(org.ID, "a", keptRole)
		b := f.addWithRoles(org.ID, "b", keptRole)
		errs := parallel(2, func(i int) error {
			if i == 0 {
				_, err := f.setRoles(org.ID, a.User.ID, keptRole, "member")
				return err
			}
			_, err := f.deactivate(org.ID, b.User.ID, keptRole)
			return err
		})
		require.Len(t, winners(t, errs, store.ErrLastRoleHolder), 1, "exactly one of the two changes")
		active := 0
		for _, m := range f.members(org.ID, store.ListOptions{Status: store.StatusActive, Now: f.now}) {
			if m.Membership.HasRole(keptRole) {
				active++
			}
		}
		require.Equal(t, 1, active, "one active admin left")
	}
}
