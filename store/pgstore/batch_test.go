package pgstore_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/storetest"
)

// batchStore is what the batch tests need of a store.
type batchStore interface {
	store.Store
	store.BatchCreator
}

// sentinel names the store error err wraps ("" for nil).
func sentinel(err error) string {
	for _, s := range []error{store.ErrNotFound, store.ErrAlreadyMember, store.ErrExternalIDTaken} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	if err != nil {
		return "other"
	}
	return ""
}

// TestBatchMatchesMemstore runs one tricky batch on memstore (the reference)
// and on pgstore and compares every item's outcome.
func TestBatchMatchesMemstore(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	run := func(t *testing.T, st batchStore) ([]store.BatchResult, []string) {
		ctx := t.Context()
		orgA := store.Organization{ID: "org_a", Name: "A", CreateTime: now, UpdateTime: now}
		orgB := store.Organization{ID: "org_b", Name: "B", CreateTime: now, UpdateTime: now}
		require.NoError(t, st.CreateOrganization(ctx, orgA, store.Event{Type: store.EventOrganizationCreated}))
		require.NoError(t, st.CreateOrganization(ctx, orgB, store.Event{Type: store.EventOrganizationCreated}))
		// Existing state: old@ is a member of A and owns external id "ext-old".
		old := storetest.AddParams("org_a", "old@example.com", now)
		old.User.ID, old.User.ExternalID = "usr_old", "ext-old"
		_, err := st.CreateMembership(ctx, old)
		require.NoError(t, err)

		item := func(org, email, userID, ext string, invite bool) store.CreateMembershipParams {
			p := storetest.AddParams(org, email, now)
			if invite {
				p = storetest.InviteParams(org, email, now)
			}
			p.User.ID, p.User.ExternalID = userID, ext
			return p
		}
		ps := []store.CreateMembershipParams{
			item("org_a", "ann@example.com", "usr_ann", "", true),          // 0 new user
			item("org_b", "ann@example.com", "usr_ann2", "", false),        // 1 reuses usr_ann
			item("org_a", "ann@example.com", "usr_ann3", "", true),         // 2 already member (earlier item)
			item("org_x", "bob@example.com", "usr_bob", "", true),          // 3 unknown org
			item("org_a", "old@example.com", "usr_old2", "", true),         // 4 already member (stored)
			item("org_b", "old@example.com", "usr_old3", "ext-new", false), // 5 reuses usr_old; ext id ignored
			item("org_a", "cy@example.com", "usr_cy", "ext-old", true),     // 6 external id taken (stored)
			item("org_a", "dee@example.com", "usr_dee", "ext-d", true),     // 7 new user with external id
			item("org_b", "eve@example.com", "usr_eve", "ext-d", true),     // 8 external id taken (earlier item)
			item("org_b", "bob@example.com", "usr_bob", "", true),          // 9 new user (item 3 wrote nothing)
		}
		res, err := st.CreateMemberships(ctx, ps)
		require.NoError(t, err)
		require.Len(t, res, len(ps))
		var members []string
		for _, org := range []string{"org_a", "org_b"} {
			page, err := st.ListMembers(ctx, org, store.ListOptions{Limit: 100})
			require.NoError(t, err)
			for _, m := range page.Members {
				members = append(members, fmt.Sprint(org, " ", m.User.ID, " ", m.User.Email, " ", m.User.ExternalID, " ", m.Membership.Status))
			}
		}
		return res, members
	}

	want, wantMembers := run(t, memstore.New())
	got, gotMembers := run(t, newStore(t))
	for i := range want {
		assert.Equal(t, sentinel(want[i].Err), sentinel(got[i].Err), "item %d: error %v vs %v", i, want[i].Err, got[i].Err)
		assert.Equal(t, want[i].UserCreated, got[i].UserCreated, "item %d UserCreated", i)
		assert.Equal(t, want[i].User.ID, got[i].User.ID, "item %d user", i)
		assert.Equal(t, want[i].Membership.Status, got[i].Membership.Status, "item %d status", i)
		if got[i].Err == nil {
			assert.Positive(t, got[i].Membership.Seq, "item %d seq", i)
		}
	}
	assert.Equal(t, wantMembers, gotMembers)
}

// TestBatchResultsReadBack: what CreateMemberships returns is what the
// store reads back, and every invitation, mail and event was written.
func TestBatchResultsReadBack(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	now := time.Now()
	org := storetest.NewOrg(t, st, now)
	var ps []store.CreateMembershipParams
	for i := range 300 {
		ps = append(ps, storetest.InviteParams(org.ID, fmt.Sprintf("u%03d.%s@example.com", i, store.NewID("x")), now))
	}
	res, err := st.CreateMemberships(ctx, ps)
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err, "item %d", i)
		m, err := st.GetMembership(ctx, org.ID, r.User.ID)
		require.NoError(t, err)
		assert.Equal(t, r.Membership, m, "item %d", i)
		u, err := st.GetUser(ctx, r.User.ID)
		require.NoError(t, err)
		assert.Equal(t, r.User, u, "item %d", i)
		inv, err := st.GetInvitation(ctx, ps[i].Invitation.ID)
		require.NoError(t, err)
		assert.Equal(t, r.User.ID, inv.UserID)
	}
	for i := 1; i < len(res); i++ {
		assert.Less(t, res[i-1].Membership.Seq, res[i].Membership.Seq, "seq follows item order")
	}
	msgs, err := st.ListOutbox(ctx, org.ID, store.OutboxQueued, 1000)
	require.NoError(t, err)
	assert.Len(t, msgs, 300)
	evs, err := st.ListEvents(ctx, org.ID, 0, 1000)
	require.NoError(t, err)
	assert.Len(t, evs, 301)
}

// TestBatchRacesSingles: batches and single CreateMembership calls on two
// store instances (two pools) insert overlapping emails at once. A batch
// that loses a race on an email is decided again, so in the end there is
// exactly one user per email, at most one membership per (org, email), and
// every item either succeeded or was told ErrAlreadyMember.
func TestBatchRacesSingles(t *testing.T) {
	schema := freshSchema(t)
	a, err := pgstore.New(t.Context(), newPool(t), pgstore.Config{Schema: schema})
	require.NoError(t, err)
	b, err := pgstore.New(t.Context(), newPool(t), pgstore.Config{Schema: schema})
	require.NoError(t, err)
	ctx := t.Context()
	now := time.Now()
	orgs := []string{storetest.NewOrg(t, a, now).ID, storetest.NewOrg(t, a, now).ID}
	const n = 400
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("race%03d.%s@example.com", i, store.NewID("x"))
	}

	var (
		mu        sync.Mutex
		succeeded = map[string]int{} // "org email" → successes
		wg        sync.WaitGroup
	)
	record := func(org, email string, err error) {
		if err != nil && !errors.Is(err, store.ErrAlreadyMember) {
			t.Errorf("%s %s: %v", org, email, err)
			return
		}
		if err == nil {
			mu.Lock()
			succeeded[org+" "+email]++
			mu.Unlock()
		}
	}
	// Two batches per org (forward and reversed order) ...
	for oi, org := range orgs {
		for dir := range 2 {
			st := []*pgstore.Store{a, b}[dir]
			wg.Go(func() {
				list := slices.Clone(emails)
				if dir == 1 {
					slices.Reverse(list)
				}
				var ps []store.CreateMembershipParams
				for _, e := range list {
					ps = append(ps, storetest.InviteParams(org, e, now))
				}
				res, err := st.CreateMemberships(ctx, ps)
				if err != nil {
					t.Errorf("batch org %d dir %d: %v", oi, dir, err)
					return
				}
				for i, r := range res {
					record(org, list[i], r.Err)
				}
			})
		}
	}
	// ... and single invites of every 4th email into both orgs.
	for i := 0; i < n; i += 4 {
		for _, org := range orgs {
			wg.Go(func() {
				_, err := b.CreateMembership(ctx, storetest.AddParams(org, emails[i], now))
				record(org, emails[i], err)
			})
		}
	}
	wg.Wait()

	for _, org := range orgs {
		for _, e := range emails {
			assert.Equal(t, 1, succeeded[org+" "+e], "%s %s created exactly once", org, e)
		}
	}
	var users, distinctEmails, memberships, distinctPairs, invitations, queued int
	require.NoError(t, a.Pool().QueryRow(ctx, fmt.Sprintf(`SELECT
		(SELECT count(*) FROM %[1]s.users), (SELECT count(DISTINCT email) FROM %[1]s.users),
		(SELECT count(*) FROM %[1]s.memberships), (SELECT count(DISTINCT (org_id, user_id)) FROM %[1]s.memberships),
		(SELECT count(*) FROM %[1]s.invitations i JOIN %[1]s.memberships m ON m.org_id = i.org_id AND m.user_id = i.user_id),
		(SELECT count(*) FROM %[1]s.outbox)`, schema)).Scan(&users, &distinctEmails, &memberships, &distinctPairs, &invitations, &queued))
	assert.Equal(t, n, users)
	assert.Equal(t, n, distinctEmails)
	assert.Equal(t, 2*n, memberships)
	assert.Equal(t, 2*n, distinctPairs)
	assert.Equal(t, invitations, queued, "every written invitation has its mail, no orphans")

	// Values written by either path (COPY or INSERT … FROM unnest) read back intact.
	want := storetest.AddParams(orgs[0], "x@example.com", now)
	for _, org := range orgs {
		page, err := a.ListMembers(ctx, org, store.ListOptions{Limit: 1000})
		require.NoError(t, err)
		require.Len(t, page.Members, n)
		for _, m := range page.Members {
			assert.Equal(t, want.User.Metadata, m.User.Metadata)
			assert.Equal(t, want.User.Profile.Metadata, m.User.Profile.Metadata)
			assert.Equal(t, want.User.Profile.CustomAttributes, m.User.Profile.CustomAttributes)
			assert.True(t, now.Truncate(time.Microsecond).Equal(m.User.CreateTime))
			assert.Nil(t, m.User.LastLogin)
			assert.Equal(t, want.Membership.Roles, m.Membership.Roles)
			assert.Equal(t, want.Membership.Metadata, m.Membership.Metadata)
		}
	}
}
