package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

func testListStatusFilter(t *testing.T, f *fixture) {
	org := f.org()
	active := f.add(org.ID, f.email("active")).User.ID
	inactive := f.add(org.ID, f.email("inactive")).User.ID
	_, err := f.st.SetMembershipStatus(f.ctx, org.ID, inactive, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: f.now, Event: f.ev(org.ID, inactive, store.EventMembershipDeactivated)})
	require.NoError(t, err)
	pending := f.invite(org.ID, f.email("pending")).User.ID
	expired := f.invite(org.ID, f.email("expired"), shortExpiry(f.now.Add(time.Hour))).User.ID
	at := f.now.Add(time.Hour) // exactly the expiry: expired

	tests := []struct {
		status store.MembershipStatus
		now    time.Time
		want   []string
	}{
		{"", at, []string{active, inactive, pending, expired}},
		{store.StatusActive, at, []string{active}},
		{store.StatusInactive, at, []string{inactive}},
		{store.StatusPendingInvite, at, []string{pending}},
		{store.StatusInviteExpired, at, []string{expired}},
		{store.StatusPendingInvite, at.Add(-time.Second), []string{pending, expired}},
		{store.StatusInviteExpired, at.Add(-time.Second), nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.status)+"@"+tc.now.Format("15:04:05"), func(t *testing.T) {
			page, err := f.st.ListMembers(f.ctx, org.ID, store.ListOptions{Status: tc.status, Now: tc.now})
			require.NoError(t, err)
			var ids []string
			for _, m := range page.Members {
				ids = append(ids, m.User.ID)
				if tc.status != "" {
					assert.Equal(t, tc.status, m.Membership.EffectiveStatus(tc.now))
				}
				assert.NotEqual(t, store.StatusInviteExpired, m.Membership.Status, "INVITE_EXPIRED is never stored")
			}
			assert.Equal(t, tc.want, ids)
			assert.Empty(t, page.Next)
		})
	}
}

// testListQuery: Query matches the email and the names of the
// organization's view of the member (Membership.Profile), never the
// person's own (User.Profile) names.
func testListQuery(t *testing.T, f *fixture) {
	org := f.org()
	tok := token()
	mk := func(email, first, last, name string) string {
		return f.add(org.ID, email, func(p *store.CreateMembershipParams) {
			p.Membership.Profile.FirstName, p.Membership.Profile.LastName, p.Membership.Profile.Name = first, last, name
			p.User.Profile.FirstName, p.User.Profile.LastName, p.User.Profile.Name = "Own"+tok, "Self"+tok, "Private "+tok
		}).User.ID
	}
	ann := mk("ann.smith+"+tok+"@example.com", "Ann", "Smith", "Ann Smith")
	bob := mk("bob+"+tok+"@example.org", "Robert", "Jones", "Bobby J")
	under := mk("a_b+"+tok+"@example.net", "", "", "")
	mk("axb+"+tok+"@example.net", "", "", "")
	pct := mk("carol+"+tok+"@example.com", "Carol", "King", "Carol 100%")
	_, err := f.st.SetMembershipStatus(f.ctx, org.ID, bob, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: f.now, Event: f.ev(org.ID, bob, store.EventMembershipDeactivated)})
	require.NoError(t, err)

	tests := []struct {
		name   string
		query  string
		status store.MembershipStatus
		want   []string
	}{
		{"email, other case", "ANN.SMITH", "", []string{ann}},
		{"first name", "robert", "", []string{bob}},
		{"last name", "JONES", "", []string{bob}},
		{"display name", "bobby", "", []string{bob}},
		{"email domain", "@EXAMPLE.COM", "", []string{ann, pct}},
		{"underscore is literal", "a_b", "", []string{under}},
		{"percent is literal", "%", "", []string{pct}},
		{"no match", "nobody-" + tok, "", nil},
		{"own first name not matched", "own" + tok, "", nil},
		{"own last name not matched", "SELF" + tok, "", nil},
		{"own display name not matched", "private " + tok, "", nil},
		{"with status", "example.", store.StatusInactive, []string{bob}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids := f.memberIDs(org.ID, store.ListOptions{Query: tc.query, Status: tc.status, Now: f.now, Limit: 2})
			assert.Equal(t, tc.want, ids)
		})
	}
}

func testPagination(t *testing.T, f *fixture) {
	org := f.org()
	var want []string
	for range 23 {
		want = append(want, f.invite(org.ID, f.email("page")).User.ID)
	}

	var got []string
	var sizes []int
	opts := store.ListOptions{Limit: 5, Now: f.now}
	for i := 0; ; i++ {
		require.Less(t, i, 10, "too many pages")
		page, err := f.st.ListMembers(f.ctx, org.ID, opts)
		require.NoError(t, err)
		sizes = append(sizes, len(page.Members))
		for _, m := range page.Members {
			got = append(got, m.User.ID)
		}
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	assert.Equal(t, []int{5, 5, 5, 5, 3}, sizes)
	assert.Equal(t, want, got, "every member once, in insertion order")

	for _, tc := range []struct {
		limit    int
		n        int
		wantNext bool
	}{
		{23, 23, false}, // exactly the rest: no further page
		{22, 22, true},
		{0, 23, false}, // default 50
		{1000, 23, false},
		{5000, 23, false}, // above 1000: clamped to 1000, not an error
	} {
		page, err := f.st.ListMembers(f.ctx, org.ID, store.ListOptions{Limit: tc.limit})
		require.NoError(t, err)
		assert.Len(t, page.Members, tc.n, "limit %d", tc.limit)
		assert.Equal(t, tc.wantNext, page.Next != "", "limit %d: Next %q", tc.limit, page.Next)
	}
	page, err := f.st.ListMembers(f.ctx, org.ID, store.ListOptions{Limit: 22})
	require.NoError(t, err)
	last, err := f.st.ListMembers(f.ctx, org.ID, store.ListOptions{Limit: 22, After: page.Next})
	require.NoError(t, err)
	assert.Equal(t, want[22:], idsOf(last.Members))
	assert.Empty(t, last.Next)

	// A cursor survives the deletion of the member it points at, and new
	// members come last.
	p1, err := f.st.ListMembers(f.ctx, org.ID, store.ListOptions{Limit: 5})
	require.NoError(t, err)
	require.NoError(t, f.st.RevokeInvitation(f.ctx, org.ID, want[4], f.now, f.ev(org.ID, want[4], store.EventMembershipRevoked)))
	late := f.add(org.ID, f.email("late")).User.ID
	rest := f.memberIDs(org.ID, store.ListOptions{Limit: 5, After: p1.Next})
	assert.Equal(t, append(append([]string{}, want[5:]...), late), rest)

	_, err = f.st.ListMembers(f.ctx, org.ID, store.ListOptions{After: "!!not a cursor!!"})
	assert.ErrorIs(t, err, store.ErrInvalidCursor, "a malformed cursor is ErrInvalidCursor, not the first page")
}

func idsOf(ms []store.Member) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.User.ID)
	}
	return ids
}

func testPaginationFiltered(t *testing.T, f *fixture) {
	org := f.org()
	var active []string
	for i := range 12 {
		if i%2 == 0 {
			active = append(active, f.add(org.ID, f.email("act")).User.ID)
		} else {
			f.invite(org.ID, f.email("pend"))
		}
	}
	var sizes []int
	var got []string
	opts := store.ListOptions{Status: store.StatusActive, Now: f.now, Limit: 2}
	for i := 0; ; i++ {
		require.Less(t, i, 10, "too many pages")
		page, err := f.st.ListMembers(f.ctx, org.ID, opts)
		require.NoError(t, err)
		sizes = append(sizes, len(page.Members))
		got = append(got, idsOf(page.Members)...)
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	assert.Equal(t, []int{2, 2, 2}, sizes, "6 active members in pages of 2; the last page says so")
	assert.Equal(t, active, got)
}

func testDefaultLimit(t *testing.T, f *fixture) {
	org := f.org()
	var want []string
	p := make([]store.CreateMembershipParams, 51)
	for i := range p {
		p[i] = AddParams(org.ID, f.email("many"), f.now)
		want = append(want, f.create(p[i]).User.ID)
	}
	page, err := f.st.ListMembers(f.ctx, org.ID, store.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, want[:50], idsOf(page.Members), "Limit 0 means 50")
	require.NotEmpty(t, page.Next)
	page, err = f.st.ListMembers(f.ctx, org.ID, store.ListOptions{After: page.Next})
	require.NoError(t, err)
	assert.Equal(t, want[50:], idsOf(page.Members))
	assert.Empty(t, page.Next)
}
