package pgstore_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestBatchEncodingMatchesSingle: the batch's own binary COPY encoding
// stores exactly what the single-invite path (pgx, encoding/json) stores,
// also for awkward strings, nil versus empty maps, lists and byte slices,
// zero and set optional times, in every column (the membership's view of
// the member too).
func TestBatchEncodingMatchesSingle(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	org := storetest.NewOrg(t, st, now)
	odd := map[string]string{
		`q"uote`: `back\slash`, "nl": "a\nb\r\tc\x01\x1f", "html": "<a>&amp;", "uni": "üñî€😀\u2028",
		"": "", "long": fmt.Sprintf("%0500d", 7),
	}
	// Invalid UTF-8 reads back replaced (on both paths), so it goes only
	// where results are not compared with what reads back.
	bad := maps.Clone(odd)
	bad["bad"] = "x\xffy\xc3"
	params := func(email string, variant int) store.CreateMembershipParams {
		p := storetest.InviteParams(org.ID, email, now)
		p.User.Profile.FirstName = "Zoë \"Z\" \\"
		p.User.Profile.EmailVerified = variant%2 == 0
		p.Membership.Profile.FirstName = "Zoë \"M\" \\\n"
		login := now.Add(-time.Hour)
		switch variant {
		case 0:
			p.User.Metadata, p.Membership.Metadata, p.Outbox.Data = odd, odd, bad
			p.Event.Data = bad
			p.User.LastLogin = &login
			p.Outbox.Attempts = 3
			p.Outbox.SentTime = &login
			p.Invitation.SpendTime = &login
			p.Membership.ExternalID = "ext \"ü\" \\ " + email
			p.Membership.Profile.Locale, p.Membership.Profile.PhoneNumber = "de-CH", "+41 44 ☎"
			p.Membership.Profile.Metadata, p.Membership.Profile.CustomAttributes, p.Membership.UserMetadata = odd, odd, odd
			p.Membership.LastLogin = &login
		case 1:
			p.User.Metadata, p.User.Profile.Metadata, p.User.Profile.CustomAttributes = nil, map[string]string{}, nil
			p.Membership.Roles, p.Membership.Metadata = []string{}, nil
			p.Invitation.VerifierHash = []byte{}
			p.Outbox.Sealed, p.Outbox.Data = nil, map[string]string{}
			p.Membership.InviteExpireTime = time.Time{}
			p.Membership.Profile = store.MemberProfile{Metadata: nil, CustomAttributes: map[string]string{}}
			p.Membership.UserMetadata = nil
		case 2:
			p.Membership.Roles = nil
			p.Invitation.VerifierHash = nil
			p.Outbox.Sealed = []byte{}
			p.Event.Data = map[string]string{"k": ""}
			p.Membership.ExternalID = email
			p.Membership.Profile.Metadata, p.Membership.Profile.CustomAttributes = map[string]string{}, nil
			p.Membership.UserMetadata = map[string]string{}
		}
		return p
	}
	for v := range 3 {
		t.Run(fmt.Sprint("variant", v), func(t *testing.T) {
			single, err := st.CreateMembership(ctx, params(fmt.Sprintf("single%d@example.com", v), v))
			require.NoError(t, err)
			bp := params(fmt.Sprintf("batch%d@example.com", v), v)
			res, err := st.CreateMemberships(ctx, []store.CreateMembershipParams{bp})
			require.NoError(t, err)
			require.NoError(t, res[0].Err)

			su, err := st.GetUser(ctx, single.User.ID)
			require.NoError(t, err)
			bu, err := st.GetUser(ctx, res[0].User.ID)
			require.NoError(t, err)
			assert.Equal(t, res[0].User, bu, "batch result reads back")
			su.ID, su.Email, su.Profile.ID, su.Profile.Name = bu.ID, bu.Email, bu.Profile.ID, bu.Profile.Name
			assert.Equal(t, su, bu, "user")

			sm, err := st.GetMembership(ctx, org.ID, single.User.ID)
			require.NoError(t, err)
			bm, err := st.GetMembership(ctx, org.ID, res[0].User.ID)
			require.NoError(t, err)
			assert.Equal(t, res[0].Membership, bm, "batch result reads back")
			assert.Equal(t, bp.Membership.ExternalID, bm.ExternalID)
			assert.Equal(t, bp.Membership.Profile, bm.Profile, "what was given reads back (nil and empty apart)")
			assert.Equal(t, bp.Membership.UserMetadata, bm.UserMetadata)
			if bp.Membership.LastLogin != nil {
				require.NotNil(t, bm.LastLogin)
				assert.Equal(t, bp.Membership.LastLogin.UTC().Truncate(time.Microsecond), *bm.LastLogin)
			} else {
				assert.Nil(t, bm.LastLogin)
			}
			sm.UserID, sm.Seq, sm.ExternalID, sm.Profile.Name = bm.UserID, bm.Seq, bm.ExternalID, bm.Profile.Name
			assert.Equal(t, sm, bm, "membership")

			si, err := st.GetMembershipInvitation(ctx, org.ID, single.User.ID)
			require.NoError(t, err)
			bi, err := st.GetMembershipInvitation(ctx, org.ID, res[0].User.ID)
			require.NoError(t, err)
			si.ID, si.UserID, si.Email, si.VerifierHash = bi.ID, bi.UserID, bi.Email, bi.VerifierHash
			assert.Equal(t, si, bi, "invitation")
		})
	}
	// Outbox messages and events: the batch's equal the single ones (ids,
	// addresses and seq aside).
	msgs, err := st.ListOutbox(ctx, org.ID, "", 100)
	require.NoError(t, err)
	require.Len(t, msgs, 6)
	evs, err := st.ListEvents(ctx, org.ID, 0, 100)
	require.NoError(t, err)
	require.Len(t, evs, 7) // organization created + 6
	for v := range 3 {
		s, b := msgs[2*v], msgs[2*v+1]
		assert.Equal(t, noEmail(s.Data), noEmail(b.Data), "outbox data %d", v)
		assert.Equal(t, s.Sealed == nil, b.Sealed == nil, "outbox sealed nil %d", v)
		assert.Equal(t, s.Attempts, b.Attempts, "outbox attempts %d", v)
		assert.Equal(t, s.SentTime, b.SentTime, "outbox sent time %d", v)
		assert.Equal(t, s.CreateTime, b.CreateTime, "outbox create time %d", v)
		se, be := evs[1+2*v], evs[2+2*v]
		assert.Equal(t, noEmail(se.Data), noEmail(be.Data), "event data %d", v)
		assert.Equal(t, se.CreateTime, be.CreateTime, "event time %d", v)
	}
	assert.Equal(t, "x\ufffdy\ufffd", msgs[1].Data["bad"], "invalid UTF-8 is replaced as encoding/json does")
	assert.Equal(t, odd["nl"], msgs[1].Data["nl"])
}

// TestBatchTakenUserID: the fast path does not look up new users' ids; an
// item whose fresh user id is already taken (by a user with another email)
// still fails alone, as CreateMembership would, and the rest is written.
func TestBatchTakenUserID(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	now := time.Now()
	org := storetest.NewOrg(t, st, now)
	first, err := st.CreateMembership(ctx, storetest.InviteParams(org.ID, "first@example.com", now))
	require.NoError(t, err)

	ps := []store.CreateMembershipParams{
		storetest.InviteParams(org.ID, "a@example.com", now),
		storetest.InviteParams(org.ID, "b@example.com", now),
		storetest.InviteParams(org.ID, "c@example.com", now),
	}
	ps[1].User.ID = first.User.ID
	res, err := st.CreateMemberships(ctx, ps)
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.Error(t, res[1].Err)
	assert.Contains(t, res[1].Err.Error(), "is taken")
	require.NoError(t, res[2].Err)

	_, err = st.GetUserByEmail(ctx, "b@example.com")
	assert.ErrorIs(t, err, store.ErrNotFound, "the failed item wrote nothing")
	for _, i := range []int{0, 2} {
		m, err := st.GetMembership(ctx, org.ID, res[i].User.ID)
		require.NoError(t, err)
		assert.Equal(t, res[i].Membership, m)
	}
	evs, err := st.ListEvents(ctx, org.ID, 0, 100)
	require.NoError(t, err)
	assert.Len(t, evs, 4) // organization created, first, a, c
}

// noEmail returns m without its "email" entry (which names the item).
func noEmail(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	m = maps.Clone(m)
	delete(m, "email")
	return m
}
