package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// testMemberCount: store.MemberCounter counts an organization's
// memberships of every status, and only its own.
func testMemberCount(t *testing.T, f *fixture) {
	mc, ok := f.st.(store.MemberCounter)
	if !ok {
		t.Skip("the store does not implement store.MemberCounter")
	}
	count := func(orgID string) int {
		t.Helper()
		n, err := mc.CountMembers(f.ctx, orgID)
		require.NoError(t, err)
		return n
	}
	org, other := f.org(), f.org()
	require.Equal(t, 0, count(org.ID))
	require.Equal(t, 0, count("org_missing"))
	both := f.email("both")
	a := f.add(org.ID, both)
	b := f.invite(org.ID, f.email("pending"))
	f.add(other.ID, both) // the same person in another organization
	f.add(other.ID, f.email("other"))
	f.add(other.ID, f.email("other"))
	require.Equal(t, 2, count(org.ID))
	require.Equal(t, 3, count(other.ID))
	_, err := f.deactivate(org.ID, a.User.ID, "")
	require.NoError(t, err)
	require.Equal(t, 2, count(org.ID), "an INACTIVE membership counts")
	require.NoError(t, f.st.RevokeInvitation(f.ctx, org.ID, b.User.ID, f.now, f.ev(org.ID, b.User.ID, store.EventMembershipRevoked)))
	require.Equal(t, 1, count(org.ID))
	require.Equal(t, 3, count(other.ID))
}
