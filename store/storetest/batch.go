package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

func testBatch(t *testing.T, f *fixture) {
	bc, ok := f.st.(store.BatchCreator)
	if !ok {
		t.Skip("the store does not implement store.BatchCreator")
	}
	a, b := f.org(), f.org()
	existing := f.add(a.ID, f.email("existing"))
	ext := "ext-" + token()
	f.add(a.ID, f.email("extowner"), func(p *store.CreateMembershipParams) { p.User.ExternalID = ext })
	e1 := f.email("first")
	ext2 := "ext-" + token()
	withExt := func(p store.CreateMembershipParams, ext string) store.CreateMembershipParams {
		p.User.ExternalID = ext
		return p
	}
	ps := []store.CreateMembershipParams{
		0: InviteParams(a.ID, e1, f.now),
		1: AddParams(a.ID, f.email("second"), f.now),
		2: InviteParams(a.ID, e1, f.now),                             // same email, same org as 0
		3: AddParams(a.ID, existing.User.Email, f.now),               // member before the batch
		4: withExt(InviteParams(a.ID, f.email("thief"), f.now), ext), // external id of an older user
		5: InviteParams(store.NewID("org"), f.email("lost"), f.now),  // no such organization
		6: InviteParams(b.ID, e1, f.now),                             // reuses item 0's user
		7: withExt(AddParams(a.ID, f.email("ext1"), f.now), ext2),    // new external id
		8: withExt(InviteParams(a.ID, f.email("ext2"), f.now), ext2), // taken by item 7
	}
	wantErr := []error{nil, nil, store.ErrAlreadyMember, store.ErrAlreadyMember, store.ErrExternalIDTaken, store.ErrNotFound, nil, nil, store.ErrExternalIDTaken}
	membersBefore := f.memberIDs(a.ID, store.ListOptions{})
	eventsBefore := f.eventIDs(a.ID)

	res, err := bc.CreateMemberships(f.ctx, ps)
	require.NoError(t, err)
	require.Len(t, res, len(ps))
	for i, r := range res {
		if wantErr[i] == nil {
			assert.NoError(t, r.Err, "item %d", i)
		} else {
			assert.ErrorIs(t, r.Err, wantErr[i], "item %d", i)
		}
	}
	assert.True(t, res[0].UserCreated)
	assert.True(t, res[1].UserCreated)
	assert.False(t, res[6].UserCreated, "item 6 reuses the user item 0 created")
	assert.Equal(t, res[0].User.ID, res[6].User.ID)
	assert.Equal(t, ps[0].User.ID, res[0].User.ID)
	assert.Equal(t, res[0].User.ID, res[0].Membership.UserID)
	assert.Less(t, res[0].Membership.Seq, res[1].Membership.Seq, "items are written in order")
	assert.Less(t, res[1].Membership.Seq, res[7].Membership.Seq)

	// Successful items are written in full, failed ones not at all.
	assert.Equal(t, append(membersBefore, res[0].User.ID, res[1].User.ID, res[7].User.ID), f.memberIDs(a.ID, store.ListOptions{}))
	assert.Equal(t, []string{res[6].User.ID}, f.memberIDs(b.ID, store.ListOptions{}))
	for _, i := range []int{0, 6} {
		inv := f.invitation(ps[i].Invitation.ID)
		assert.Equal(t, res[i].User.ID, inv.UserID)
	}
	for _, i := range []int{2, 4, 5, 8} {
		_, err := f.st.GetInvitation(f.ctx, ps[i].Invitation.ID)
		assert.ErrorIs(t, err, store.ErrNotFound, "item %d wrote its invitation", i)
	}
	for _, i := range []int{2, 3, 4, 5, 8} {
		_, err := f.st.GetUser(f.ctx, ps[i].User.ID)
		assert.ErrorIs(t, err, store.ErrNotFound, "item %d wrote a user", i)
	}
	assert.Equal(t, []string{ps[0].Outbox.ID}, outboxIDs(f.outbox(a.ID, store.OutboxQueued)))
	assert.Equal(t, []string{ps[6].Outbox.ID}, outboxIDs(f.outbox(b.ID, store.OutboxQueued)))
	assert.Equal(t, append(eventsBefore, ps[0].Event.ID, ps[1].Event.ID, ps[7].Event.ID), f.eventIDs(a.ID))
	u, err := f.st.GetUserByExternalID(f.ctx, ext2)
	require.NoError(t, err)
	assert.Equal(t, res[7].User.ID, u.ID)

	// An empty batch is fine.
	res, err = bc.CreateMemberships(f.ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, res)
}
