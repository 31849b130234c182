package pgstore_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/storetest"
)

// memberExtItem is one batch item: email into org with the membership
// external id ext (and the new user's own external id userExt).
type memberExtItem struct {
	org, email, ext, userExt string
	want                     error // nil, ErrExternalIDTaken or ErrAlreadyMember
}

// TestBatchMemberExternalIDs: in one batch, a membership external id is
// refused (ErrExternalIDTaken) for that item alone when another membership
// of the same organization has it, stored or written by an earlier item;
// the same id in another organization is fine, an item that failed
// reserves nothing, and the batch's other items are written. Each item is
// decided exactly as CreateMembership one after the other decides it (run
// on a second schema) and as memstore's batch does.
func TestBatchMemberExternalIDs(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	items := []memberExtItem{
		{"org_a", "ann@example.com", "m-1", "", nil},                              // 0
		{"org_a", "bob@example.com", "m-1", "", store.ErrExternalIDTaken},         // 1 taken by item 0
		{"org_b", "cy@example.com", "m-1", "", nil},                               // 2 other org
		{"org_a", "dee@example.com", "m-old", "", store.ErrExternalIDTaken},       // 3 taken (stored)
		{"org_b", "dee@example.com", "m-old", "", nil},                            // 4 other org; dee created here
		{"org_b", "old@example.com", "m-old", "", store.ErrExternalIDTaken},       // 5 existing user, taken by item 4
		{"org_a", "old@example.com", "m-1", "", store.ErrAlreadyMember},           // 6 already a member comes first
		{"org_a", "eve@example.com", "", "", nil},                                 // 7 empty ids never conflict
		{"org_a", "fay@example.com", "", "", nil},                                 // 8
		{"org_a", "gus@example.com", "m-free", "u-old", store.ErrExternalIDTaken}, // 9 the user's external id is taken
		{"org_a", "hal@example.com", "m-free", "", nil},                           // 10 item 9 reserved nothing
		{"org_c", "bob@example.com", "m-1", "", nil},                              // 11 bob is new here (item 1 wrote nothing)
		{"org_c", "ivy@example.com", "m-old", "u-ivy", nil},                       // 12
		{"org_c", "joe@example.com", "m-old", "u-joe", store.ErrExternalIDTaken},  // 13 taken by item 12; u-joe not taken
		{"org_c", "kim@example.com", "m-kim", "u-joe", nil},                       // 14 u-joe is free: item 13 wrote nothing
		{"org_b", "ann@example.com", "m-free", "", nil},                           // 15 existing user (item 0), other org
		{"org_b", "lou@example.com", "m-free", "", store.ErrExternalIDTaken},      // 16 taken in org_b by item 15
	}
	setup := func(t *testing.T, st store.Store) {
		for _, org := range []string{"org_a", "org_b", "org_c"} {
			require.NoError(t, st.CreateOrganization(t.Context(), store.Organization{ID: org, Name: org, CreateTime: now, UpdateTime: now},
				store.Event{Type: store.EventOrganizationCreated, CreateTime: now}))
		}
		old := storetest.AddParams("org_a", "old@example.com", now)
		old.User.ExternalID, old.Membership.ExternalID = "u-old", "m-old"
		_, err := st.CreateMembership(t.Context(), old)
		require.NoError(t, err)
	}
	params := func() []store.CreateMembershipParams {
		ps := make([]store.CreateMembershipParams, len(items))
		for i, it := range items {
			ps[i] = storetest.InviteParams(it.org, it.email, now)
			ps[i].Membership.ExternalID, ps[i].User.ExternalID = it.ext, it.userExt
			ps[i].Membership.Profile.Name = "item " + it.email
		}
		return ps
	}

	st := newStore(t)
	setup(t, st)
	ps := params()
	res, err := st.CreateMemberships(t.Context(), ps)
	require.NoError(t, err)
	require.Len(t, res, len(items))
	for i, it := range items {
		if it.want == nil {
			require.NoError(t, res[i].Err, "item %d", i)
			continue
		}
		require.ErrorIs(t, res[i].Err, it.want, "item %d", i)
		require.Equal(t, sentinel(it.want), sentinel(res[i].Err), "item %d", i)
	}
	assert.True(t, res[4].UserCreated, "dee is created by item 4 (item 3 failed)")
	assert.True(t, res[11].UserCreated, "bob is created by item 11 (item 1 failed)")
	assert.False(t, res[15].UserCreated)

	// Every membership external id is where the successful item put it.
	for i, it := range items {
		if it.want != nil || it.ext == "" {
			continue
		}
		m, err := st.GetMembershipByExternalID(t.Context(), it.org, it.ext)
		require.NoError(t, err, "item %d", i)
		assert.Equal(t, res[i].Membership, m, "item %d", i)
	}
	m, err := st.GetMembershipByExternalID(t.Context(), "org_a", "m-old")
	require.NoError(t, err)
	old, err := st.GetUserByEmail(t.Context(), "old@example.com")
	require.NoError(t, err)
	assert.Equal(t, old.ID, m.UserID, "the stored holder keeps it")
	for _, email := range []string{"gus@example.com", "joe@example.com", "lou@example.com"} {
		_, err := st.GetUserByEmail(t.Context(), email)
		assert.ErrorIs(t, err, store.ErrNotFound, "%s: the failed item wrote no user", email)
	}
	_, err = st.GetMembership(t.Context(), "org_b", old.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "item 5 wrote no membership")
	written := 0
	for _, it := range items {
		if it.want == nil {
			written++
		}
	}
	var events, invitations int
	require.NoError(t, st.Pool().QueryRow(t.Context(), st.ExpandSQL(`SELECT
		(SELECT count(*) FROM {s}.events WHERE type = 'membership.invited'), (SELECT count(*) FROM {s}.invitations)`)).Scan(&events, &invitations))
	assert.Equal(t, written, events, "one event per written item")
	assert.Equal(t, written, invitations)

	// The same items one at a time through CreateMembership, and through
	// memstore's batch, decide the same way.
	single := newStore(t)
	setup(t, single)
	ref := memstore.New()
	setup(t, ref)
	refRes, err := ref.CreateMemberships(t.Context(), params())
	require.NoError(t, err)
	for i, p := range params() {
		_, err := single.CreateMembership(t.Context(), p)
		assert.Equal(t, sentinel(res[i].Err), sentinel(err), "item %d: batch %v, single %v", i, res[i].Err, err)
		assert.Equal(t, sentinel(refRes[i].Err), sentinel(res[i].Err), "item %d: memstore %v, pgstore %v", i, refRes[i].Err, res[i].Err)
	}
}

// raceTracer commits a conflicting membership from another store right
// after the batch's fast-path reads (onFast) and after its first
// careful-path reads (onCareful), each once.
type raceTracer struct {
	onFast, onCareful func()
	fast, careful     atomic.Int32 // read batches seen
}

type readKind struct{}

func (r *raceTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (r *raceTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *raceTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	for _, q := range data.Batch.QueuedQueries {
		switch {
		case q.SQL == `SAVEPOINT invitekit_batch`:
			return context.WithValue(ctx, readKind{}, "fast")
		case strings.Contains(q.SQL, `users WHERE id = ANY`):
			return context.WithValue(ctx, readKind{}, "careful")
		}
	}
	return ctx
}
func (r *raceTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd runs when the batch's results were read (at Close).
func (r *raceTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	switch ctx.Value(readKind{}) {
	case "fast":
		if r.fast.Add(1) == 1 && r.onFast != nil {
			r.onFast()
		}
	case "careful":
		if r.careful.Add(1) == 1 && r.onCareful != nil {
			r.onCareful()
		}
	}
}

// TestBatchMemberExternalIDRaces: a concurrent writer takes a batch item's
// (org, membership external id) after the batch read it free. Right after
// the fast path's reads, the COPY fails and the careful path re-decides
// the item (ErrExternalIDTaken). Right after the careful path's reads, its
// INSERT … ON CONFLICT DO NOTHING skips the membership of an item whose new
// user it has already inserted: the attempt is rolled back and run again,
// so the item fails with ErrExternalIDTaken and leaves no user behind. The
// other items are written either way.
func TestBatchMemberExternalIDRaces(t *testing.T) {
	schema := freshSchema(t)
	tr := &raceTracer{}
	st, err := pgstore.New(t.Context(), newPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = tr }), pgstore.Config{Schema: schema})
	require.NoError(t, err)
	other, err := pgstore.New(t.Context(), newPool(t), pgstore.Config{Schema: schema})
	require.NoError(t, err)
	ctx := t.Context()
	now := time.Now()
	org := storetest.NewOrg(t, st, now)
	take := func(email, ext string) func() {
		return func() {
			p := storetest.AddParams(org.ID, email, now)
			p.Membership.ExternalID = ext
			if _, err := other.CreateMembership(ctx, p); err != nil {
				t.Errorf("concurrent writer: %v", err)
			}
		}
	}
	tr.onFast = take("w-fast@example.com", "race-fast")
	tr.onCareful = take("w-careful@example.com", "race-careful")

	ps := []store.CreateMembershipParams{
		storetest.InviteParams(org.ID, "x0@example.com", now),
		storetest.InviteParams(org.ID, "x1@example.com", now),
		storetest.InviteParams(org.ID, "x2@example.com", now),
		storetest.InviteParams(org.ID, "x3@example.com", now),
	}
	ps[0].Membership.ExternalID = "race-fast"
	ps[1].Membership.ExternalID = "race-careful"
	ps[2].Membership.ExternalID = "free"
	res, err := st.CreateMemberships(ctx, ps)
	require.NoError(t, err)
	assert.Equal(t, int32(1), tr.fast.Load())
	assert.GreaterOrEqual(t, tr.careful.Load(), int32(2), "the careful path ran again")
	require.ErrorIs(t, res[0].Err, store.ErrExternalIDTaken)
	require.ErrorIs(t, res[1].Err, store.ErrExternalIDTaken)
	for _, i := range []int{2, 3} {
		require.NoError(t, res[i].Err, "item %d", i)
		m, err := st.GetMembership(ctx, org.ID, res[i].User.ID)
		require.NoError(t, err)
		assert.Equal(t, res[i].Membership, m, "item %d", i)
		u, err := st.GetUser(ctx, res[i].User.ID)
		require.NoError(t, err)
		assert.Equal(t, res[i].User, u, "item %d", i)
	}
	for _, email := range []string{"x0@example.com", "x1@example.com"} {
		_, err := st.GetUserByEmail(ctx, email)
		assert.ErrorIs(t, err, store.ErrNotFound, "%s: the failed item wrote no user", email)
	}
	for ext, email := range map[string]string{"race-fast": "w-fast@example.com", "race-careful": "w-careful@example.com"} {
		m, err := st.GetMembershipByExternalID(ctx, org.ID, ext)
		require.NoError(t, err)
		u, err := st.GetUserByEmail(ctx, email)
		require.NoError(t, err)
		assert.Equal(t, u.ID, m.UserID, "%s stays the concurrent writer's", ext)
	}
	var users, memberships, invitations, events int
	require.NoError(t, st.Pool().QueryRow(ctx, st.ExpandSQL(`SELECT (SELECT count(*) FROM {s}.users), (SELECT count(*) FROM {s}.memberships),
		(SELECT count(*) FROM {s}.invitations), (SELECT count(*) FROM {s}.events WHERE type = 'membership.invited')`)).
		Scan(&users, &memberships, &invitations, &events))
	assert.Equal(t, []int{4, 4, 2, 2}, []int{users, memberships, invitations, events}, "2 writer's + 2 batch items'")
}
