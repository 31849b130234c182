package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestMigrateMemberView: a schema that an older release (migration 0001
// only) filled is opened by this one. Migration 0002 gives what the user
// row held (external id, names, locale, phone, profile metadata, custom
// attributes, metadata) to the user's earliest membership only (smallest
// join_time, ties by seq), the last login only when that membership is
// ACTIVE; the user's other memberships and the user rows are left as they
// were. The new (org, external id) index is in force afterwards.
func TestMigrateMemberView(t *testing.T) {
	schema := freshSchema(t)
	pool := newPool(t)
	ctx := t.Context()
	require.NoError(t, pgstore.MigrateTo(ctx, pool, schema, 1))

	exec := func(q string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, fmt.Sprintf(q, pgx.Identifier{schema}.Sanitize()), args...)
		require.NoError(t, err, q)
	}
	t0 := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	login := time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
	for _, org := range []string{"org_a", "org_b", "org_c"} {
		exec(`INSERT INTO %s.organizations (id, name, create_time, update_time) VALUES ($1, $1, $2, $2)`, org, t0)
	}
	user := func(id, email, ext, first, last, name, locale, phone string, profMeta, attrs, meta any, lastLogin *time.Time) {
		t.Helper()
		exec(`INSERT INTO %s.users (id, email, external_id, profile_id, first_name, last_name, name, locale,
			phone_number, profile_metadata, custom_attributes, metadata, create_time, update_time, last_login)
			VALUES ($1, $2, $3, 'prof_'||$1, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)`,
			id, email, ext, first, last, name, locale, phone, profMeta, attrs, meta, t0, lastLogin)
	}
	// member inserts a membership; seq follows insertion order.
	member := func(org, userID, status string, join time.Time) {
		t.Helper()
		exec(`INSERT INTO %s.memberships (org_id, user_id, status, roles, metadata, invite_expire_time, join_time, update_time)
			VALUES ($1, $2, $3, '["member"]', '{"m":"1"}', '0001-01-01 00:00:00+00', $4, $4)`, org, userID, status, join)
	}
	// ann: joined org_a last but with the earliest join_time in org_b
	// (ACTIVE), and org_c later: org_b gets everything, the last login too.
	user("usr_ann", "ann@example.com", "ext-ann", "Ann", "Lee", "Ann Lee", "de", "+49 1",
		`{"p":"ann"}`, `{"c":"ann"}`, `{"source":"old"}`, &login)
	member("org_a", "usr_ann", "ACTIVE", t0.Add(2*time.Hour))
	member("org_b", "usr_ann", "ACTIVE", t0)
	member("org_c", "usr_ann", "INACTIVE", t0.Add(time.Hour))
	// bob: two memberships with the same join_time; the first inserted
	// (smaller seq) gets the view, but not the last login: it is pending.
	user("usr_bob", "bob@example.com", "ext-bob", "Bob", "Day", "Bob Day", "fr", "+33 2",
		`{}`, nil, `{"k":"v"}`, &login)
	member("org_c", "usr_bob", "PENDING_INVITE", t0)
	member("org_a", "usr_bob", "ACTIVE", t0)
	// cy: nothing but an email (NULL maps stay NULL), never logged in.
	user("usr_cy", "cy@example.com", "", "", "", "", "", "", nil, nil, nil, nil)
	member("org_a", "usr_cy", "ACTIVE", t0)
	// dee: a user without memberships.
	user("usr_dee", "dee@example.com", "ext-dee", "Dee", "", "Dee", "", "", nil, nil, nil, &login)

	st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: schema})
	require.NoError(t, err)
	var version int
	require.NoError(t, pool.QueryRow(ctx, `SELECT max(version) FROM `+pgx.Identifier{schema, "invitekit_migrations"}.Sanitize()).Scan(&version))
	assert.Equal(t, pgstore.LatestMigration(t), version)

	get := func(org, userID string) store.Membership {
		t.Helper()
		m, err := st.GetMembership(ctx, org, userID)
		require.NoError(t, err)
		return m
	}
	empty := func(t *testing.T, m store.Membership) {
		t.Helper()
		assert.Empty(t, m.ExternalID)
		assert.Equal(t, store.MemberProfile{}, m.Profile)
		assert.Nil(t, m.UserMetadata)
		assert.Nil(t, m.LastLogin)
	}

	t.Run("earliest join_time", func(t *testing.T) {
		m := get("org_b", "usr_ann")
		assert.Equal(t, "ext-ann", m.ExternalID)
		assert.Equal(t, store.MemberProfile{
			FirstName: "Ann", LastName: "Lee", Name: "Ann Lee", Locale: "de", PhoneNumber: "+49 1",
			Metadata: map[string]string{"p": "ann"}, CustomAttributes: map[string]string{"c": "ann"},
		}, m.Profile)
		assert.Equal(t, map[string]string{"source": "old"}, m.UserMetadata)
		require.NotNil(t, m.LastLogin, "the earliest membership is ACTIVE")
		assert.Equal(t, login, *m.LastLogin)
		// The rest of the membership is untouched.
		assert.Equal(t, []string{"member"}, m.Roles)
		assert.Equal(t, map[string]string{"m": "1"}, m.Metadata)
		assert.Equal(t, t0, m.JoinTime)
		assert.Equal(t, t0, m.UpdateTime)
		empty(t, get("org_a", "usr_ann"))
		empty(t, get("org_c", "usr_ann"))
	})
	t.Run("tie broken by seq, pending gets no last login", func(t *testing.T) {
		m := get("org_c", "usr_bob")
		assert.Equal(t, "ext-bob", m.ExternalID)
		assert.Equal(t, store.MemberProfile{
			FirstName: "Bob", LastName: "Day", Name: "Bob Day", Locale: "fr", PhoneNumber: "+33 2",
			Metadata: map[string]string{}, CustomAttributes: nil,
		}, m.Profile, "empty and NULL maps copied as they were")
		assert.Equal(t, map[string]string{"k": "v"}, m.UserMetadata)
		assert.Nil(t, m.LastLogin, "the earliest membership is pending")
		empty(t, get("org_a", "usr_bob"))
	})
	t.Run("empty user", func(t *testing.T) {
		empty(t, get("org_a", "usr_cy"))
	})
	t.Run("users unchanged", func(t *testing.T) {
		u, err := st.GetUser(ctx, "usr_ann")
		require.NoError(t, err)
		assert.Equal(t, "ext-ann", u.ExternalID)
		assert.Equal(t, "Ann Lee", u.Profile.Name)
		assert.Equal(t, map[string]string{"source": "old"}, u.Metadata)
		require.NotNil(t, u.LastLogin)
		assert.Equal(t, login, *u.LastLogin)
		u, err = st.GetUser(ctx, "usr_dee")
		require.NoError(t, err)
		assert.Equal(t, "ext-dee", u.ExternalID)
	})
	t.Run("lookups and index", func(t *testing.T) {
		m, err := st.GetMembershipByExternalID(ctx, "org_b", "ext-ann")
		require.NoError(t, err)
		assert.Equal(t, "usr_ann", m.UserID)
		_, err = st.GetMembershipByExternalID(ctx, "org_a", "ext-ann")
		require.ErrorIs(t, err, store.ErrNotFound, "only the earliest membership has it")

		page, err := st.ListMembers(ctx, "org_b", store.ListOptions{Query: "ann lee"})
		require.NoError(t, err)
		require.Len(t, page.Members, 1)
		page, err = st.ListMembers(ctx, "org_a", store.ListOptions{Query: "ann lee"})
		require.NoError(t, err)
		assert.Empty(t, page.Members, "org_a never wrote ann's name")

		p := storetest.AddParams("org_b", "eve@example.com", t0)
		p.Membership.ExternalID = "ext-ann"
		_, err = st.CreateMembership(ctx, p)
		require.ErrorIs(t, err, store.ErrExternalIDTaken)
		p.Membership.OrganizationID = "org_a"
		_, err = st.CreateMembership(ctx, p)
		require.NoError(t, err, "another organization may use the same external id")
	})
}
