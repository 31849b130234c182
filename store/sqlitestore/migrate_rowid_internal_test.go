package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
)

// openVersion opens a Store at path migrated to version only (an older
// program's store).
func openVersion(t *testing.T, path string, version int) *Store {
	t.Helper()
	st, err := OpenAtVersion(context.Background(), path, Config{}, version)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fillAt20 writes, through the store at schema 0020: two organizations,
// ann invited to both (each with its own view of her) and accepted in
// org_a with an identity linked, bob active in org_a, cid invited to
// org_b, and ann's sessions revoked; the writes append events and queue
// mail.
func fillAt20(t *testing.T, st *Store) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, org := range []string{"org_a", "org_b"} {
		if err := st.CreateOrganization(ctx, store.Organization{ID: org, Name: org, CreateTime: t0, UpdateTime: t0},
			store.Event{Type: store.EventOrganizationCreated, CreateTime: t0}); err != nil {
			t.Fatal(err)
		}
	}
	invite := func(org, userID, email, ext, first string, status store.MembershipStatus) string {
		t.Helper()
		invID := "inv_" + org + "_" + userID
		p := store.CreateMembershipParams{
			User: store.User{ID: userID, Email: email, ExternalID: "u-" + ext,
				Profile:    store.UserProfile{ID: "prof_" + userID, FirstName: first, Metadata: map[string]string{"k": first}},
				CreateTime: t0, UpdateTime: t0},
			Membership: store.Membership{OrganizationID: org, Status: status, Roles: []string{"member"},
				ExternalID: org + "-" + ext, Metadata: map[string]string{"org": org},
				Profile:      store.MemberProfile{FirstName: first + " of " + org, Locale: "de", CustomAttributes: map[string]string{"c": org}},
				UserMetadata: map[string]string{"um": org}, JoinTime: t0, UpdateTime: t0, InviteExpireTime: t0.Add(time.Hour)},
			Event: store.Event{Type: store.EventMembershipInvited, ActorID: "usr_admin", CreateTime: t0},
		}
		if status == store.StatusPendingInvite {
			p.Invitation = &store.Invitation{ID: invID, OrganizationID: org, Email: email, VerifierHash: []byte("hash-" + invID),
				InvitedBy: "usr_admin", CreateTime: t0, ExpireTime: t0.Add(time.Hour)}
			p.Outbox = &store.OutboxMessage{ID: "msg_" + invID, OrganizationID: org, Kind: store.MailInvitation, To: email,
				Status: store.OutboxQueued, Sealed: []byte("sealed"), CreateTime: t0}
		} else {
			p.Event.Type = store.EventMembershipAdded
		}
		if _, err := st.CreateMembership(ctx, p); err != nil {
			t.Fatalf("%s in %s: %v", userID, org, err)
		}
		return invID
	}
	annA := invite("org_a", "usr_ann", "ann@example.com", "ann", "Ann", store.StatusPendingInvite)
	invite("org_b", "usr_ann", "ann@example.com", "ann", "Anna", store.StatusPendingInvite)
	invite("org_a", "usr_bob", "bob@example.com", "bob", "Bob", store.StatusActive)
	invite("org_b", "usr_cid", "cid@example.com", "cid", "Cid", store.StatusPendingInvite)
	if _, err := st.AcceptInvitation(ctx, store.AcceptParams{
		InvitationID: annA, Now: t0.Add(time.Minute), EmailVerified: true, IdentityProvider: "GOOGLE",
		Identity: store.Identity{Issuer: "https://accounts.example.com", Subject: "sub-ann", UserID: "usr_ann", Email: "ann@example.com", CreateTime: t0},
		Event:    store.Event{Type: store.EventMembershipAccepted, CreateTime: t0.Add(time.Minute)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordLogin(ctx, "usr_ann", t0.Add(2*time.Minute), store.Event{OrganizationID: "org_a", Type: store.EventUserLoggedIn, CreateTime: t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeSessions(ctx, "usr_ann", t0.Add(3*time.Minute), store.Event{OrganizationID: "org_a", Type: "user.sessions_revoked", CreateTime: t0.Add(3 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
}

// schemaDump is what a migration that only rebuilds tables must keep:
// every table's rows (all columns), columns, foreign keys and indexes
// (name, unique, origin, partial, columns, condition), and the triggers
// and views.
func schemaDump(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	all := func(q string, args ...any) []string {
		t.Helper()
		rows, err := db.Query(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	d := map[string][]string{}
	d["triggers and views"] = all(`SELECT type || ' ' || name || ': ' || sql FROM sqlite_schema WHERE type IN ('trigger', 'view')`)
	for _, tbl := range all(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`) {
		var quoted []string
		for _, c := range all(`SELECT name FROM pragma_table_info(?)`, tbl) {
			quoted = append(quoted, "quote("+c+")")
		}
		d[tbl+" rows"] = all(`SELECT ` + strings.Join(quoted, ` || ',' || `) + ` FROM ` + tbl)
		d[tbl+" columns"] = all(`SELECT json_array(cid, name, type, "notnull", dflt_value, pk) FROM pragma_table_info(?)`, tbl)
		d[tbl+" foreign keys"] = all(`SELECT json_array(id, seq, "table", "from", "to", on_update, on_delete, match) FROM pragma_foreign_key_list(?)`, tbl)
		d[tbl+" indexes"] = all(`SELECT json_array(l.name, l."unique", l.origin, l.partial,
	(SELECT group_concat(coalesce(i.name, '<rowid>'), ',') FROM pragma_index_info(l.name) i),
	(SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = l.name))
FROM pragma_index_list(?) l`, tbl)
	}
	return d
}

// 0021_rowid_tables rebuilds users and memberships as rowid tables: every
// row, column, key, index and foreign key of a database written at 0020
// survives, the constraints still refuse, foreign keys are on again, and
// the store reads and writes the members as before.
func TestMigrationRowidTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old := openVersion(t, path, 20)
	fillAt20(t, old)
	before := schemaDump(t, old.w)
	withoutRowid := func(db *sql.DB) []string {
		var names []string
		for _, tbl := range []string{"users", "memberships"} {
			var sqlText string
			if err := db.QueryRow(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, tbl).Scan(&sqlText); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(sqlText, "WITHOUT ROWID") {
				names = append(names, tbl)
			}
		}
		return names
	}
	if got := withoutRowid(old.w); len(got) != 2 {
		t.Fatalf("at 0020 the WITHOUT ROWID tables are %v, want users and memberships", got)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := Open(ctx, path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := withoutRowid(st.w); len(got) != 0 {
		t.Errorf("after 0021 %v are still WITHOUT ROWID", got)
	}
	after := schemaDump(t, st.w)
	for _, k := range []string{"users rows", "memberships rows", "invitations rows", "identities rows", "events rows", "outbox rows"} {
		if len(before[k]) == 0 {
			t.Errorf("the 0020 database has no %s: the test writes too little", k)
		}
	}
	for k, b := range before {
		a := after[k]
		if !slices.Equal(a, b) {
			t.Errorf("%s changed:\nbefore %q\nafter  %q", k, b, a)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d tables' facets after the migration, %d before", len(after), len(before))
	}

	var fk int
	if err := st.w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("writer's foreign_keys = %d, %v; want 1 after the migration", fk, err)
	}
	refuse := func(what, q string, args ...any) {
		t.Helper()
		if _, err := st.w.Exec(q, args...); !isConstraint(err) {
			t.Errorf("%s: %v, want a constraint violation", what, err)
		}
	}
	refuse("a second user with ann's email", `INSERT INTO users (id, email) VALUES ('usr_new', 'ann@example.com')`)
	refuse("a second user with ann's id", `INSERT INTO users (id, email) VALUES ('usr_ann', 'new@example.com')`)
	refuse("a second user with ann's external id", `INSERT INTO users (id, email, external_id) VALUES ('usr_new', 'new@example.com', 'u-ann')`)
	refuse("a user without an id", `INSERT INTO users (id, email) VALUES (NULL, 'new@example.com')`)
	refuse("ann in org_a twice", `INSERT INTO memberships (org_id, user_id, seq, status) VALUES ('org_a', 'usr_ann', 99, 'ACTIVE')`)
	refuse("a membership of a missing user", `INSERT INTO memberships (org_id, user_id, seq, status) VALUES ('org_a', 'usr_nobody', 99, 'ACTIVE')`)
	refuse("a membership in a missing organization", `INSERT INTO memberships (org_id, user_id, seq, status) VALUES ('org_x', 'usr_cid', 99, 'ACTIVE')`)
	refuse("a taken seq", `INSERT INTO memberships (org_id, user_id, seq, status) VALUES ('org_a', 'usr_cid', 1, 'ACTIVE')`)
	refuse("org_b's external id of ann taken again", `INSERT INTO memberships (org_id, user_id, seq, status, external_id) VALUES ('org_b', 'usr_bob', 99, 'ACTIVE', 'org_b-ann')`)
	refuse("deleting a user with memberships", `DELETE FROM users WHERE id = 'usr_bob'`)
	refuse("an identity of a missing user", `INSERT INTO identities (issuer, subject, user_id) VALUES ('i', 's', 'usr_nobody')`)
	refuse("an invitation of a missing user", `INSERT INTO invitations (id, org_id, user_id) VALUES ('inv_x', 'org_a', 'usr_nobody')`)

	// Each organization still sees its own view of ann.
	for _, tt := range []struct{ org, first, status string }{{"org_a", "Ann of org_a", "ACTIVE"}, {"org_b", "Anna of org_b", "PENDING_INVITE"}} {
		m, err := st.GetMember(ctx, tt.org, "usr_ann")
		if err != nil {
			t.Fatalf("GetMember %s: %v", tt.org, err)
		}
		if m.Membership.Profile.FirstName != tt.first || string(m.Membership.Status) != tt.status ||
			m.Membership.UserMetadata["um"] != tt.org || m.Membership.ExternalID != tt.org+"-ann" || m.User.SessionGeneration != 1 {
			t.Errorf("%s's view of ann: %+v", tt.org, m)
		}
		byExt, err := st.GetMembershipByExternalID(ctx, tt.org, tt.org+"-ann")
		if err != nil || byExt.UserID != "usr_ann" {
			t.Errorf("GetMembershipByExternalID %s: %+v, %v", tt.org, byExt, err)
		}
	}
	ms, err := st.ListUserMemberships(ctx, "usr_ann")
	if err != nil || len(ms) != 2 {
		t.Errorf("ann's memberships: %+v, %v", ms, err)
	}
	page, err := st.ListMembers(ctx, "org_a", store.ListOptions{})
	if err != nil || len(page.Members) != 2 || page.Members[0].User.ID != "usr_ann" || page.Members[1].User.ID != "usr_bob" {
		t.Errorf("org_a's members (in seq order): %+v, %v", page, err)
	}

	// And writes go on: a new member, an existing person in a second
	// organization, refusals named as before.
	p := store.CreateMembershipParams{
		User:       store.User{ID: "usr_dan", Email: "dan@example.com"},
		Membership: store.Membership{OrganizationID: "org_b", Status: store.StatusActive},
		Event:      store.Event{Type: store.EventMembershipAdded},
	}
	if _, err := st.CreateMembership(ctx, p); err != nil {
		t.Fatalf("a new member after the migration: %v", err)
	}
	p.User = store.User{ID: "usr_other", Email: "bob@example.com"}
	res, err := st.CreateMembership(ctx, p)
	if err != nil || res.User.ID != "usr_bob" || res.UserCreated {
		t.Errorf("bob into org_b: %+v, %v; want the existing user", res, err)
	}
	if _, err := st.CreateMembership(ctx, p); !errors.Is(err, store.ErrAlreadyMember) {
		t.Errorf("bob into org_b again: %v, want ErrAlreadyMember", err)
	}
	p.User = store.User{ID: "usr_eve", Email: "eve@example.com"}
	p.Membership.ExternalID = "org_b-ann"
	if _, err := st.CreateMembership(ctx, p); !errors.Is(err, store.ErrExternalIDTaken) {
		t.Errorf("org_b's external id of ann for eve: %v, want ErrExternalIDTaken", err)
	}
	p.Membership.OrganizationID = "org_x"
	p.Membership.ExternalID = ""
	if _, err := st.CreateMembership(ctx, p); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("eve into a missing organization: %v, want ErrNotFound", err)
	}
}

// A migration run with foreign keys off refuses to commit a row whose
// parent is missing: everything rolls back (the schema stays at 0020) and
// the next Open still refuses.
func TestMigrationForeignKeyCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orphan.db")
	old := openVersion(t, path, 20)
	fillAt20(t, old)
	// An orphan an older program could have left (foreign keys off).
	conn, err := old.w.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`PRAGMA foreign_keys = OFF`,
		`INSERT INTO memberships (org_id, user_id, seq, status) VALUES ('org_a', 'usr_gone', 77, 'ACTIVE')`,
		`PRAGMA foreign_keys = ON`} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close()
	old.Close()

	for range 2 {
		st, err := Open(context.Background(), path, Config{})
		if err == nil {
			st.Close()
			t.Fatal("Open migrated a database with an orphan membership")
		}
		if !strings.Contains(err.Error(), "memberships") || !strings.Contains(err.Error(), "missing users row") {
			t.Errorf("error %q does not name the orphan", err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	var usersSQL string
	if err := db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != 20 {
		t.Errorf("schema version = %d, %v; want 20 (rolled back)", version, err)
	}
	if err := db.QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'users'`).Scan(&usersSQL); err != nil || !strings.Contains(usersSQL, "WITHOUT ROWID") {
		t.Errorf("users after the failed migration: %q, %v; want the 0020 table", usersSQL, err)
	}
	if n := countRows(t, db, "memberships"); n != 5 {
		t.Errorf("%d memberships after the failed migration, want 5", n)
	}
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM %s`, table)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The directive is read from a migration's first line only.
func TestLoadMigrationsForeignKeysOff(t *testing.T) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var off []int
	for _, m := range ms {
		if m.foreignKeysOff {
			off = append(off, m.version)
		}
	}
	if !slices.Equal(off, []int{21}) {
		t.Errorf("migrations with foreign keys off: %v, want [21]", off)
	}
}
