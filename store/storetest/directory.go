package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// directoryTests are the conformance tests of the optional store.Directory
// capability (directory sync, invite/scim); a store without it skips them.
var directoryTests = []struct {
	name string
	fn   func(t *testing.T, f *fixture)
}{
	{"Directory/Tokens", testDirectoryTokens},
	{"Directory/Settings", testDirectorySettings},
	{"Directory/UserNames", testDirectoryUserNames},
	{"Directory/RemoveMembership", testDirectoryRemoveMembership},
	{"Directory/Groups", testDirectoryGroups},
	{"Directory/ConcurrentUserName", testDirectoryConcurrentUserName},
	{"Directory/ConcurrentRevoke", testDirectoryConcurrentRevoke},
	{"Directory/RemoveMembershipPublishes", testDirectoryRemovePublishes},
	{"MemberCount", testMemberCount}, // membercount.go
}

// directory returns f's store as a store.Directory, or skips t.
func (f *fixture) directory(t *testing.T) store.Directory {
	d, ok := f.st.(store.Directory)
	if !ok {
		t.Skip("the store does not implement store.Directory")
	}
	return d
}

func (f *fixture) dirToken(orgID, name string) store.DirectoryToken {
	return store.DirectoryToken{
		ID: store.NewID("dtk"), OrganizationID: orgID, Name: name,
		Hash: []byte("0123456789abcdef0123456789abcdef"), CreatedBy: "usr_admin", CreateTime: f.now,
	}
}

func eventTypes(evs []store.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func testDirectoryTokens(t *testing.T, f *fixture) {
	d := f.directory(t)
	org, other := f.org(), f.org()
	before := len(f.events(org.ID))

	err := d.CreateDirectoryToken(f.ctx, f.dirToken("org_missing", "x"), f.ev("org_missing", "", store.EventDirectoryTokenCreated))
	require.ErrorIs(t, err, store.ErrNotFound, "unknown organization")
	_, err = d.GetDirectoryToken(f.ctx, "dtk_missing")
	require.ErrorIs(t, err, store.ErrNotFound)

	a, b, c := f.dirToken(org.ID, "okta"), f.dirToken(org.ID, "entra"), f.dirToken(other.ID, "other")
	for _, tok := range []store.DirectoryToken{a, b, c} {
		require.NoError(t, d.CreateDirectoryToken(f.ctx, tok, f.ev(tok.OrganizationID, "", store.EventDirectoryTokenCreated)))
	}
	got, err := d.GetDirectoryToken(f.ctx, a.ID)
	require.NoError(t, err)
	got.CreateTime = normTime(got.CreateTime)
	assert.Equal(t, a, got, "round trip, LastUsedTime and RevokeTime nil")

	list, err := d.ListDirectoryTokens(f.ctx, org.ID)
	require.NoError(t, err)
	require.Len(t, list, 2, "scoped to the organization")
	assert.Equal(t, []string{a.ID, b.ID}, []string{list[0].ID, list[1].ID}, "oldest first")
	list, err = d.ListDirectoryTokens(f.ctx, "org_missing")
	require.NoError(t, err)
	assert.Empty(t, list)

	// Last use moves forward only.
	used := f.now.Add(time.Hour)
	require.NoError(t, d.TouchDirectoryToken(f.ctx, a.ID, used))
	require.NoError(t, d.TouchDirectoryToken(f.ctx, a.ID, used.Add(-time.Minute)))
	got, err = d.GetDirectoryToken(f.ctx, a.ID)
	require.NoError(t, err)
	require.NotNil(t, got.LastUsedTime)
	assert.Equal(t, used, normTime(*got.LastUsedTime), "an earlier use does not move LastUsedTime back")
	require.ErrorIs(t, d.TouchDirectoryToken(f.ctx, "dtk_missing", used), store.ErrNotFound)

	// Revocation: scoped, once.
	at := f.now.Add(2 * time.Hour)
	require.ErrorIs(t, d.RevokeDirectoryToken(f.ctx, other.ID, a.ID, at, f.ev(other.ID, "", store.EventDirectoryTokenRevoked)),
		store.ErrNotFound, "another organization's token")
	require.ErrorIs(t, d.RevokeDirectoryToken(f.ctx, org.ID, "dtk_missing", at, f.ev(org.ID, "", store.EventDirectoryTokenRevoked)),
		store.ErrNotFound)
	require.NoError(t, d.RevokeDirectoryToken(f.ctx, org.ID, a.ID, at, f.ev(org.ID, "", store.EventDirectoryTokenRevoked)))
	require.ErrorIs(t, d.RevokeDirectoryToken(f.ctx, org.ID, a.ID, at, f.ev(org.ID, "", store.EventDirectoryTokenRevoked)),
		store.ErrWrongStatus, "already revoked")
	got, err = d.GetDirectoryToken(f.ctx, a.ID)
	require.NoError(t, err)
	require.NotNil(t, got.RevokeTime)
	assert.Equal(t, at, normTime(*got.RevokeTime))
	list, err = d.ListDirectoryTokens(f.ctx, org.ID)
	require.NoError(t, err)
	assert.Len(t, list, 2, "revoked tokens are listed")
	got, err = d.GetDirectoryToken(f.ctx, b.ID)
	require.NoError(t, err)
	assert.Nil(t, got.RevokeTime, "the other token stays active")

	assert.Equal(t, []string{store.EventDirectoryTokenCreated, store.EventDirectoryTokenCreated, store.EventDirectoryTokenRevoked},
		eventTypes(f.events(org.ID)[before:]), "one event per write, none for a refused one or a touch")
}

func testDirectorySettings(t *testing.T, f *fixture) {
	d := f.directory(t)
	org, other := f.org(), f.org()
	got, err := d.GetDirectorySettings(f.ctx, org.ID)
	require.NoError(t, err)
	assert.Equal(t, store.DirectorySettings{OrganizationID: org.ID}, got, "never written: zero settings")

	s := store.DirectorySettings{
		OrganizationID: org.ID, ProvisionStatus: store.StatusPendingInvite, DeleteAction: store.DeleteRemove,
		GroupRoles: map[string]string{"Engineering": "admin", "Sales": "member"}, UpdateTime: f.now,
	}
	before := len(f.events(org.ID))
	require.NoError(t, d.PutDirectorySettings(f.ctx, s, f.ev(org.ID, "", store.EventDirectorySettings)))
	got, err = d.GetDirectorySettings(f.ctx, org.ID)
	require.NoError(t, err)
	got.UpdateTime = normTime(got.UpdateTime)
	assert.Equal(t, s, got)

	s2 := store.DirectorySettings{OrganizationID: org.ID, UpdateTime: f.now.Add(time.Minute)}
	require.NoError(t, d.PutDirectorySettings(f.ctx, s2, f.ev(org.ID, "", store.EventDirectorySettings)))
	got, err = d.GetDirectorySettings(f.ctx, org.ID)
	require.NoError(t, err)
	assert.Equal(t, store.MembershipStatus(""), got.ProvisionStatus, "replaced, not merged")
	assert.Empty(t, got.DeleteAction)
	assert.Empty(t, got.GroupRoles)
	assert.Equal(t, s2.UpdateTime, normTime(got.UpdateTime))

	got, err = d.GetDirectorySettings(f.ctx, other.ID)
	require.NoError(t, err)
	assert.Equal(t, store.DirectorySettings{OrganizationID: other.ID}, got, "scoped to the organization")
	err = d.PutDirectorySettings(f.ctx, store.DirectorySettings{OrganizationID: "org_missing", UpdateTime: f.now},
		f.ev("org_missing", "", store.EventDirectorySettings))
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, []string{store.EventDirectorySettings, store.EventDirectorySettings}, eventTypes(f.events(org.ID)[before:]))
}

func testDirectoryUserNames(t *testing.T, f *fixture) {
	d := f.directory(t)
	org, other := f.org(), f.org()
	u1 := f.add(org.ID, f.email("u1")).User.ID
	u2 := f.add(org.ID, f.email("u2")).User.ID

	_, err := d.DirectoryUserName(f.ctx, org.ID, u1)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, d.SetDirectoryUserName(f.ctx, org.ID, u1, "Alice@Example.com"))
	n, err := d.DirectoryUserName(f.ctx, org.ID, u1)
	require.NoError(t, err)
	assert.Equal(t, "Alice@Example.com", n, "kept as given")
	for _, q := range []string{"Alice@Example.com", "alice@example.com", "ALICE@EXAMPLE.COM"} {
		id, err := d.DirectoryUserByName(f.ctx, org.ID, q)
		require.NoError(t, err, q)
		assert.Equal(t, u1, id, "found case-insensitively: %s", q)
	}
	_, err = d.DirectoryUserByName(f.ctx, other.ID, "alice@example.com")
	require.ErrorIs(t, err, store.ErrNotFound, "scoped to the organization")

	require.ErrorIs(t, d.SetDirectoryUserName(f.ctx, org.ID, u2, "ALICE@example.COM"), store.ErrUserNameTaken)
	require.NoError(t, d.SetDirectoryUserName(f.ctx, org.ID, u1, "alice@example.com"), "the same member may change its case")
	require.NoError(t, d.SetDirectoryUserName(f.ctx, other.ID, u2, "alice@example.com"), "another organization may use the name")

	// Renaming frees the old name.
	require.NoError(t, d.SetDirectoryUserName(f.ctx, org.ID, u1, "alice.smith@example.com"))
	_, err = d.DirectoryUserByName(f.ctx, org.ID, "alice@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, d.SetDirectoryUserName(f.ctx, org.ID, u2, "Alice@example.com"))
	id, err := d.DirectoryUserByName(f.ctx, org.ID, "alice@example.com")
	require.NoError(t, err)
	assert.Equal(t, u2, id)

	// Only ASCII letters fold (store.UserNameKey).
	require.NoError(t, d.SetDirectoryUserName(f.ctx, org.ID, u1, "ÉMILE"))
	_, err = d.DirectoryUserByName(f.ctx, org.ID, "émile")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDirectoryRemoveMembership(t *testing.T, f *fixture) {
	d := f.directory(t)
	org, other := f.org(), f.org()
	admin := f.addWithRoles(org.ID, "admin", keptRole)
	m := f.add(org.ID, f.email("m"), func(p *store.CreateMembershipParams) { p.Membership.ExternalID = "ext-m" })
	inv := f.invite(org.ID, f.email("pending"))
	inOther := f.add(other.ID, m.User.Email)
	require.NoError(t, d.SetDirectoryUserName(f.ctx, org.ID, m.User.ID, "m@example.com"))
	require.NoError(t, d.SetDirectoryUserName(f.ctx, other.ID, m.User.ID, "m@example.com"))
	g := store.DirectoryGroup{ID: store.NewID("grp"), OrganizationID: org.ID, DisplayName: "All",
		Members: []string{m.User.ID, admin.User.ID}, CreateTime: f.now, UpdateTime: f.now}
	require.NoError(t, d.CreateDirectoryGroup(f.ctx, g, f.ev(org.ID, "", store.EventDirectoryGroupCreated)))

	// The last ACTIVE holder of the kept role stays, and nothing is written.
	before := f.snapshot(org.ID, other.ID)
	require.ErrorIs(t, d.RemoveMembership(f.ctx, org.ID, admin.User.ID, keptRole, f.ev(org.ID, admin.User.ID, store.EventMembershipRemoved)),
		store.ErrLastRoleHolder)
	assert.Equal(t, before, f.snapshot(org.ID, other.ID))
	require.ErrorIs(t, d.RemoveMembership(f.ctx, org.ID, "usr_missing", "", f.ev(org.ID, "usr_missing", store.EventMembershipRemoved)),
		store.ErrNotFound)

	require.NoError(t, d.RemoveMembership(f.ctx, org.ID, m.User.ID, keptRole, f.ev(org.ID, m.User.ID, store.EventMembershipRemoved)),
		"not a holder of the kept role")
	_, err := f.st.GetMembership(f.ctx, org.ID, m.User.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.st.GetMembershipByExternalID(f.ctx, org.ID, "ext-m")
	require.ErrorIs(t, err, store.ErrNotFound, "the external id goes with the membership")
	_, err = d.DirectoryUserName(f.ctx, org.ID, m.User.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "the userName goes with the membership")
	_, err = d.DirectoryUserByName(f.ctx, org.ID, "m@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	got, err := d.GetDirectoryGroup(f.ctx, org.ID, g.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{admin.User.ID}, got.Members, "and its group memberships")
	last := f.lastEvent(org.ID)
	assert.Equal(t, store.EventMembershipRemoved, last.Type)
	assert.Equal(t, m.User.ID, last.UserID)
	_, err = f.st.GetUser(f.ctx, m.User.ID)
	require.NoError(t, err, "the user stays")

	// Another organization's membership of the same user is untouched.
	_, err = f.st.GetMembership(f.ctx, other.ID, inOther.User.ID)
	require.NoError(t, err)
	n, err := d.DirectoryUserName(f.ctx, other.ID, m.User.ID)
	require.NoError(t, err)
	assert.Equal(t, "m@example.com", n)

	// A pending membership goes with its invitations.
	require.NoError(t, d.RemoveMembership(f.ctx, org.ID, inv.User.ID, "", f.ev(org.ID, inv.User.ID, store.EventMembershipRemoved)))
	_, err = f.st.GetInvitation(f.ctx, inv.Invitation.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, d.RemoveMembership(f.ctx, org.ID, inv.User.ID, "", f.ev(org.ID, inv.User.ID, store.EventMembershipRemoved)),
		store.ErrNotFound, "twice")

	// The user may be added again, with the external id.
	again := f.add(org.ID, m.User.Email, func(p *store.CreateMembershipParams) { p.Membership.ExternalID = "ext-m" })
	assert.Equal(t, m.User.ID, again.User.ID)
}

func testDirectoryGroups(t *testing.T, f *fixture) {
	d := f.directory(t)
	org, other := f.org(), f.org()
	before := len(f.events(org.ID))
	group := func(orgID, name string, members ...string) store.DirectoryGroup {
		return store.DirectoryGroup{ID: store.NewID("grp"), OrganizationID: orgID, DisplayName: name, ExternalID: "ext-" + name,
			Members: members, CreateTime: f.now, UpdateTime: f.now}
	}
	created := func(orgID string) store.Event { return f.ev(orgID, "", store.EventDirectoryGroupCreated) }

	require.ErrorIs(t, d.CreateDirectoryGroup(f.ctx, group("org_missing", "x"), created("org_missing")), store.ErrNotFound)
	eng := group(org.ID, "Engineering", "usr_c", "usr_a", "usr_b", "usr_a")
	sales := group(org.ID, "Sales")
	require.NoError(t, d.CreateDirectoryGroup(f.ctx, eng, created(org.ID)))
	require.NoError(t, d.CreateDirectoryGroup(f.ctx, sales, created(org.ID)))
	require.ErrorIs(t, d.CreateDirectoryGroup(f.ctx, group(org.ID, "Engineering"), created(org.ID)), store.ErrGroupExists)
	require.NoError(t, d.CreateDirectoryGroup(f.ctx, group(other.ID, "Engineering", "usr_z"), created(other.ID)),
		"another organization may use the name")

	got, err := d.GetDirectoryGroup(f.ctx, org.ID, eng.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"usr_a", "usr_b", "usr_c"}, got.Members, "sorted, distinct")
	assert.Equal(t, eng.DisplayName, got.DisplayName)
	assert.Equal(t, eng.ExternalID, got.ExternalID)
	assert.Equal(t, org.ID, got.OrganizationID)
	assert.Equal(t, f.now, normTime(got.CreateTime))
	assert.Equal(t, f.now, normTime(got.UpdateTime))
	got, err = d.GetDirectoryGroup(f.ctx, org.ID, sales.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Members)

	_, err = d.GetDirectoryGroup(f.ctx, other.ID, eng.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "another organization's group")
	list, err := d.ListDirectoryGroups(f.ctx, org.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{eng.ID, sales.ID}, []string{list[0].ID, list[1].ID}, "oldest first")
	assert.Equal(t, []string{"usr_a", "usr_b", "usr_c"}, list[0].Members)
	list, err = d.ListDirectoryGroups(f.ctx, "org_missing")
	require.NoError(t, err)
	assert.Empty(t, list)

	// Replace: name, external id, members, update time.
	updated := func(orgID string) store.Event { return f.ev(orgID, "", store.EventDirectoryGroupUpdated) }
	r := eng
	r.DisplayName, r.ExternalID, r.Members, r.UpdateTime = "Platform", "", []string{"usr_d", "usr_b"}, f.now.Add(time.Hour)
	require.NoError(t, d.ReplaceDirectoryGroup(f.ctx, r, updated(org.ID)))
	got, err = d.GetDirectoryGroup(f.ctx, org.ID, eng.ID)
	require.NoError(t, err)
	assert.Equal(t, "Platform", got.DisplayName)
	assert.Empty(t, got.ExternalID)
	assert.Equal(t, []string{"usr_b", "usr_d"}, got.Members)
	assert.Equal(t, f.now, normTime(got.CreateTime), "CreateTime kept")
	assert.Equal(t, r.UpdateTime, normTime(got.UpdateTime))
	require.NoError(t, d.CreateDirectoryGroup(f.ctx, group(org.ID, "Engineering"), created(org.ID)), "the old name is free")

	taken := r
	taken.DisplayName = "Sales"
	require.ErrorIs(t, d.ReplaceDirectoryGroup(f.ctx, taken, updated(org.ID)), store.ErrGroupExists)
	got, err = d.GetDirectoryGroup(f.ctx, org.ID, eng.ID)
	require.NoError(t, err)
	assert.Equal(t, "Platform", got.DisplayName, "a refused replace writes nothing")
	assert.Equal(t, []string{"usr_b", "usr_d"}, got.Members)
	foreign := r
	foreign.OrganizationID = other.ID
	require.ErrorIs(t, d.ReplaceDirectoryGroup(f.ctx, foreign, updated(other.ID)), store.ErrNotFound, "another organization's group")
	missing := r
	missing.ID = "grp_missing"
	require.ErrorIs(t, d.ReplaceDirectoryGroup(f.ctx, missing, updated(org.ID)), store.ErrNotFound)

	// Delete.
	deleted := func(orgID string) store.Event { return f.ev(orgID, "", store.EventDirectoryGroupDeleted) }
	require.ErrorIs(t, d.DeleteDirectoryGroup(f.ctx, other.ID, eng.ID, deleted(other.ID)), store.ErrNotFound)
	require.NoError(t, d.DeleteDirectoryGroup(f.ctx, org.ID, eng.ID, deleted(org.ID)))
	_, err = d.GetDirectoryGroup(f.ctx, org.ID, eng.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, d.DeleteDirectoryGroup(f.ctx, org.ID, eng.ID, deleted(org.ID)), store.ErrNotFound, "twice")
	require.NoError(t, d.CreateDirectoryGroup(f.ctx, group(org.ID, "Platform"), created(org.ID)), "a deleted group's name is free")

	// A group created again with the deleted one's id has no members left over.
	again := eng
	again.DisplayName, again.Members = "Reborn", nil
	require.NoError(t, d.CreateDirectoryGroup(f.ctx, again, created(org.ID)))
	got, err = d.GetDirectoryGroup(f.ctx, org.ID, eng.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Members, "the deleted group's members went with it")

	assert.Equal(t, []string{
		store.EventDirectoryGroupCreated, store.EventDirectoryGroupCreated, store.EventDirectoryGroupUpdated,
		store.EventDirectoryGroupCreated, store.EventDirectoryGroupDeleted, store.EventDirectoryGroupCreated, store.EventDirectoryGroupCreated,
	}, eventTypes(f.events(org.ID)[before:]), "one event per write, none for a refused one")
}

// testDirectoryConcurrentUserName: of members claiming one userName at
// once, exactly one gets it.
func testDirectoryConcurrentUserName(t *testing.T, f *fixture) {
	d := f.directory(t)
	org := f.org()
	const n = 8
	users := make([]string, n)
	for i := range users {
		users[i] = f.add(org.ID, f.email("c")).User.ID
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, u := range users {
		wg.Go(func() { errs[i] = d.SetDirectoryUserName(f.ctx, org.ID, u, "Same@example.com") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, store.ErrUserNameTaken)
		}
	}
	assert.Equal(t, 1, ok, "exactly one member gets the userName")
	id, err := d.DirectoryUserByName(f.ctx, org.ID, "same@example.com")
	require.NoError(t, err)
	assert.Contains(t, users, id)
}

// testDirectoryConcurrentRevoke: of concurrent revocations of one token,
// exactly one succeeds and writes an event.
func testDirectoryConcurrentRevoke(t *testing.T, f *fixture) {
	d := f.directory(t)
	org := f.org()
	tok := f.dirToken(org.ID, "okta")
	require.NoError(t, d.CreateDirectoryToken(f.ctx, tok, f.ev(org.ID, "", store.EventDirectoryTokenCreated)))
	before := len(f.events(org.ID))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = d.RevokeDirectoryToken(f.ctx, org.ID, tok.ID, f.now, f.ev(org.ID, "", store.EventDirectoryTokenRevoked))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, store.ErrWrongStatus)
		}
	}
	assert.Equal(t, 1, ok)
	assert.Len(t, f.events(org.ID)[before:], 1)
}

// testDirectoryRemovePublishes: a store that is also a
// store.ChangeNotifier publishes a removed membership once it is
// committed (the callback no longer finds it), and a refused removal
// publishes nothing.
func testDirectoryRemovePublishes(t *testing.T, f *fixture) {
	d := f.directory(t)
	cn := changeNotifier(t, f)
	org := f.org()
	admin := f.addWithRoles(org.ID, "admin", keptRole)
	m := f.add(org.ID, f.email("m"))
	r := f.subscribe(t, cn, f.ctx)

	require.ErrorIs(t, d.RemoveMembership(f.ctx, org.ID, admin.User.ID, keptRole, f.ev(org.ID, admin.User.ID, store.EventMembershipRemoved)),
		store.ErrLastRoleHolder)
	require.NoError(t, d.RemoveMembership(f.ctx, org.ID, m.User.ID, "", f.ev(org.ID, m.User.ID, store.EventMembershipRemoved)))
	s := r.expect("removed", store.Change{OrganizationID: org.ID, UserID: m.User.ID})
	if s.c.UserID != "" {
		require.ErrorIs(t, s.err, store.ErrNotFound, "the callback reads the committed removal")
	}
}
