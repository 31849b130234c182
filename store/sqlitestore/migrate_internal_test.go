package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
)

// openAt builds a database at path migrated to version only (an older
// program's database) and returns a raw handle on it.
func openAt(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var old []migration
	for _, m := range ms {
		if m.version <= version {
			old = append(old, m)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if err := applyMigrations(context.Background(), &Store{w: db, log: slog.New(slog.DiscardHandler)}, old); err != nil {
		t.Fatal(err)
	}
	return db
}

// 0002_member_view copies each user's view (external id, profile, user
// metadata) onto the user's earliest membership only (smallest join_time,
// ties by seq), and the user's last login only if that membership is
// ACTIVE; the user's own columns and later memberships are untouched.
func TestMigrationMemberViewBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db := openAt(t, path, 1)
	var cols int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('memberships') WHERE name = 'external_id'`).Scan(&cols); err != nil || cols != 0 {
		t.Fatalf("migration 1 only: memberships.external_id columns = %d, %v", cols, err)
	}

	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	login := t0.Add(30 * 24 * time.Hour)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, org := range []string{"org_a", "org_b", "org_c"} {
		exec(`INSERT INTO organizations (id, name) VALUES (?, ?)`, org, org)
	}
	insertUser := func(id, ext, name string, lastLogin any) {
		exec(`INSERT INTO users (id, email, external_id, profile_id, first_name, last_name, name, locale,
email_verified, phone_number, profile_metadata, custom_attributes, metadata, create_time, update_time, last_login)
VALUES (?, ?, ?, 'prof_'||?, 'First '||?, 'Last '||?, ?, 'de', 1, '+49 '||?, '{"pm":"'||?||'"}', '{"ca":"'||?||'"}', '{"um":"'||?||'"}', ?, ?, ?)`,
			id, id+"@example.com", ext, id, id, id, name, id, id, id, id, t0.UnixMicro(), t0.UnixMicro(), lastLogin)
	}
	seq := 0
	insertMembership := func(org, user, status string, join time.Time) {
		seq++
		exec(`INSERT INTO memberships (org_id, user_id, seq, status, roles, metadata, join_time, update_time)
VALUES (?, ?, ?, ?, '["member"]', '{"team":"t"}', ?, ?)`, org, user, seq, status, join.UnixMicro(), join.UnixMicro())
	}
	// ann joined b first (inserted later, but an earlier join_time); that
	// membership is pending, so her last login is not copied.
	insertUser("usr_ann", "ext-ann", "Ann", login.UnixMicro())
	insertMembership("org_a", "usr_ann", "ACTIVE", t0.Add(2*time.Hour))
	insertMembership("org_b", "usr_ann", "PENDING_INVITE", t0.Add(time.Hour))
	// bob's two memberships have the same join_time: the smaller seq wins;
	// it is ACTIVE, so his last login is copied.
	insertUser("usr_bob", "ext-bob", "Bob", login.UnixMicro())
	insertMembership("org_c", "usr_bob", "ACTIVE", t0)
	insertMembership("org_a", "usr_bob", "ACTIVE", t0)
	// cid never signed in, has no external id, and is INACTIVE.
	insertUser("usr_cid", "", "Cid", nil)
	insertMembership("org_b", "usr_cid", "INACTIVE", t0)
	// dan has no membership.
	insertUser("usr_dan", "ext-dan", "Dan", login.UnixMicro())
	exec(`UPDATE counters SET value = ? WHERE name = 'membership_seq'`, seq)
	usersBefore := dumpUsers(t, db)
	db.Close()

	st, err := Open(ctx, path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	view := func(id, name string) store.MemberProfile {
		return store.MemberProfile{
			FirstName: "First " + id, LastName: "Last " + id, Name: name, Locale: "de", PhoneNumber: "+49 " + id,
			Metadata: map[string]string{"pm": id}, CustomAttributes: map[string]string{"ca": id},
		}
	}
	tests := []struct {
		org, user  string
		ext        string
		profile    store.MemberProfile
		userMD     map[string]string
		lastLogin  *time.Time
		membership string
	}{
		{"org_b", "usr_ann", "ext-ann", view("usr_ann", "Ann"), map[string]string{"um": "usr_ann"}, nil, "ann's earliest (pending)"},
		{"org_a", "usr_ann", "", store.MemberProfile{}, nil, nil, "ann's later"},
		{"org_c", "usr_bob", "ext-bob", view("usr_bob", "Bob"), map[string]string{"um": "usr_bob"}, &login, "bob's earliest (seq, active)"},
		{"org_a", "usr_bob", "", store.MemberProfile{}, nil, nil, "bob's later (same join time)"},
		{"org_b", "usr_cid", "", view("usr_cid", "Cid"), map[string]string{"um": "usr_cid"}, nil, "cid's only (inactive, no login)"},
	}
	for _, tt := range tests {
		m, err := st.GetMembership(ctx, tt.org, tt.user)
		if err != nil {
			t.Fatalf("%s: %v", tt.membership, err)
		}
		if m.ExternalID != tt.ext {
			t.Errorf("%s: ExternalID = %q, want %q", tt.membership, m.ExternalID, tt.ext)
		}
		if !profileEqual(m.Profile, tt.profile) {
			t.Errorf("%s: Profile = %+v, want %+v", tt.membership, m.Profile, tt.profile)
		}
		if !maps.Equal(m.UserMetadata, tt.userMD) {
			t.Errorf("%s: UserMetadata = %v, want %v", tt.membership, m.UserMetadata, tt.userMD)
		}
		if (m.LastLogin == nil) != (tt.lastLogin == nil) || (m.LastLogin != nil && !m.LastLogin.Equal(*tt.lastLogin)) {
			t.Errorf("%s: LastLogin = %v, want %v", tt.membership, m.LastLogin, tt.lastLogin)
		}
		if m.Status == "" || !maps.Equal(m.Metadata, map[string]string{"team": "t"}) {
			t.Errorf("%s: the membership's own fields changed: %+v", tt.membership, m)
		}
		if tt.ext != "" {
			byExt, err := st.GetMembershipByExternalID(ctx, tt.org, tt.ext)
			if err != nil || byExt.UserID != tt.user {
				t.Errorf("%s: GetMembershipByExternalID = %+v, %v", tt.membership, byExt, err)
			}
		}
	}
	if _, err := st.GetMembershipByExternalID(ctx, "org_a", "ext-ann"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ext-ann in org_a: %v, want ErrNotFound", err)
	}

	// The users keep their own columns.
	after := dumpUsers(t, st.w)
	if !maps.Equal(usersBefore, after) {
		t.Errorf("users changed:\nbefore %v\nafter  %v", usersBefore, after)
	}

	// The new index holds: the backfilled id is taken in org_b only.
	p := store.CreateMembershipParams{
		User:       store.User{ID: store.NewID("usr"), Email: "eve@example.com"},
		Membership: store.Membership{OrganizationID: "org_b", Status: store.StatusActive, ExternalID: "ext-ann"},
		Event:      store.Event{Type: store.EventMembershipAdded},
	}
	if _, err := st.CreateMembership(ctx, p); !errors.Is(err, store.ErrExternalIDTaken) {
		t.Errorf("taking ext-ann in org_b: %v, want ErrExternalIDTaken", err)
	}
	res, err := st.CreateMemberships(ctx, []store.CreateMembershipParams{p}) // the optimistic bulk path
	if err != nil || !errors.Is(res[0].Err, store.ErrExternalIDTaken) {
		t.Errorf("taking ext-ann in org_b in a batch: %v, %v; want ErrExternalIDTaken", err, res)
	}
	p.Membership.OrganizationID = "org_a"
	if _, err := st.CreateMembership(ctx, p); err != nil {
		t.Errorf("ext-ann in org_a: %v", err)
	}
	var version int
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.w.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != ms[len(ms)-1].version {
		t.Errorf("schema version = %d, %v; want %d (the latest migration)", version, err, ms[len(ms)-1].version)
	}
}

func profileEqual(a, b store.MemberProfile) bool {
	return a.FirstName == b.FirstName && a.LastName == b.LastName && a.Name == b.Name && a.Locale == b.Locale &&
		a.PhoneNumber == b.PhoneNumber && maps.Equal(a.Metadata, b.Metadata) && maps.Equal(a.CustomAttributes, b.CustomAttributes)
}

// dumpUsers returns every users row as text, by id.
func dumpUsers(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT id, json_array(email, external_id, profile_id, first_name, last_name, name, locale,
email_verified, phone_number, profile_metadata, custom_attributes, metadata, create_time, update_time, last_login) FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, row string
		if err := rows.Scan(&id, &row); err != nil {
			t.Fatal(err)
		}
		out[id] = row
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
