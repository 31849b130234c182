package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/invitekit/invitekit/store"
)

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, db := range []struct {
		name string
		q    func(string) string
	}{
		{"writer", func(p string) string { return pragma(t, st.w, p) }},
		{"reader", func(p string) string { return pragma(t, st.r, p) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			for p, want := range map[string]string{
				"journal_mode": "wal",
				"foreign_keys": "1",
				"busy_timeout": "5000",
				"synchronous":  "1", // NORMAL
			} {
				if got := db.q(p); got != want {
					t.Errorf("PRAGMA %s = %q, want %q", p, got, want)
				}
			}
		})
	}
	if got := pragma(t, st.r, "query_only"); got != "1" {
		t.Errorf("reader query_only = %q, want 1", got)
	}
}

func TestConfigSynchronousFull(t *testing.T) {
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), Config{SynchronousFull: true, BusyTimeout: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := pragma(t, st.w, "synchronous"); got != "2" {
		t.Errorf("synchronous = %q, want 2 (FULL)", got)
	}
	// 1500ns rounds down to 0 ms; a sub-millisecond timeout still means "wait a little".
	if got := pragma(t, st.w, "busy_timeout"); got != "1" {
		t.Errorf("busy_timeout = %q, want 1", got)
	}
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return strings.ToLower(v)
}

func TestMigrationsLoad(t *testing.T) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 || ms[0].name != "0001_init" {
		t.Fatalf("migrations = %+v", ms)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].version <= ms[i-1].version {
			t.Fatalf("migrations out of order: %d after %d", ms[i].version, ms[i-1].version)
		}
	}
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"no underscore", fstest.MapFS{"migrations/0001.sql": {Data: []byte("")}}, "NNNN_name.sql"},
		{"not a number", fstest.MapFS{"migrations/abc_x.sql": {Data: []byte("")}}, "bad version"},
		{"zero", fstest.MapFS{"migrations/0000_x.sql": {Data: []byte("")}}, "bad version"},
		{"duplicate", fstest.MapFS{
			"migrations/0001_a.sql": {Data: []byte("")},
			"migrations/001_b.sql":  {Data: []byte("")},
		}, "share version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadMigrations(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// A failing migration rolls back entirely: neither its tables nor its
// schema_migrations row remain, and earlier state is intact.
func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	st, err := Open(ctx, path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	applied, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	current := applied[len(applied)-1].version
	bad := append(applied,
		migration{version: current + 1, name: "9001_ok", sql: "CREATE TABLE extra (x INTEGER)"},
		migration{version: current + 2, name: "9002_bad", sql: "CREATE TABLE broken (x INTEGER); THIS IS NOT SQL"},
	)
	err = applyMigrations(ctx, st, bad)
	if err == nil || !strings.Contains(err.Error(), "9002_bad") {
		t.Fatalf("applyMigrations = %v, want an error naming 9002_bad", err)
	}
	var n int
	if err := st.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN ('extra', 'broken')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d tables of the failed migration run remain", n)
	}
	if err := st.w.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != current {
		t.Errorf("schema version = %d, want %d", n, current)
	}
}

func TestEscapePath(t *testing.T) {
	if got, want := escapePath("/a b/c?d#e%f"), "/a b/c%3fd%23e%25f"; got != want {
		t.Errorf("escapePath = %q, want %q", got, want)
	}
}

// The hot queries use their indexes: no full scan of a table that grows
// with the number of members.
func TestQueryPlansUseIndexes(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	members := func(opts store.ListOptions) string {
		mq, err := membersQuery("org", opts)
		if err != nil {
			t.Fatal(err)
		}
		return mq.query
	}
	tests := []struct {
		name  string
		query string
		want  string // a plan line that must appear
	}{
		// users and memberships are rowid tables (0021_rowid_tables):
		// their primary keys are the autoindexes.
		{"GetMembership", qGetMembership, "USING INDEX sqlite_autoindex_memberships_1 (org_id=? AND user_id=?)"},
		{"GetMember/membership", qGetMember, "SEARCH m USING INDEX sqlite_autoindex_memberships_1 (org_id=? AND user_id=?)"},
		{"GetMember/user", qGetMember, "SEARCH u USING INDEX sqlite_autoindex_users_1 (id=?)"},
		{"ListUserMemberships", qListUserMemberships, "USING INDEX memberships_user"},
		{"ListMembers", members(store.ListOptions{}), "USING INDEX memberships_org_seq (org_id=? AND seq>?)"},
		{"ListMembers/status+query", members(store.ListOptions{Status: store.StatusInviteExpired, Query: "ann", After: "10"}), "USING INDEX memberships_org_seq (org_id=? AND seq>?)"},
		{"lookup/external id", lookupQuery(chunkSize), "USING COVERING INDEX users_external_id (external_id=?)"},
		{"lookup/email", lookupQuery(chunkSize), "(email=?)"},
		{"lookup/membership external id", lookupQuery(chunkSize), "USING COVERING INDEX memberships_org_external_id (org_id=? AND external_id=?)"},
		{"lookup/one", lookupQuery(1), "USING COVERING INDEX memberships_org_external_id (org_id=? AND external_id=?)"},
		{"GetMembershipByExternalID", qGetMembershipByExternal, "USING INDEX memberships_org_external_id (org_id=? AND external_id=?)"},
		{"ExternalIDOwner", qExternalIDOwner, "INDEX memberships_org_external_id (org_id=? AND external_id=?)"},
		{"RecordMemberLogin", qRecordMemberLogin, "USING INDEX memberships_user (user_id=?)"},
		{"GetUserByExternalID", qGetUserByExternal, "USING INDEX users_external_id"},
		{"GetMembershipInvitation", qNewestInvitation, "USING INDEX invitations_org_user"},
		{"GetInvitationMember/invitation", qInvitationMember, "USING INDEX invitations_org_user"},
		{"GetInvitationMember/membership", qInvitationMember, "SEARCH m USING INDEX sqlite_autoindex_memberships_1 (org_id=? AND user_id=?)"},
		{"GetInvitationMember/user", qInvitationMember, "SEARCH u USING INDEX sqlite_autoindex_users_1 (id=?)"},
		{"RevokeInvitationGuarded", qDeletePending, "USING INDEX sqlite_autoindex_memberships_1 (org_id=? AND user_id=?)"},
		{"ClaimOutbox", qClaimable, "USING INDEX outbox_status (status=?)"},
		{"ListEvents", qListEvents, "USING INDEX events_org (org_id=? AND rowid>?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := st.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tt.query, make([]any, strings.Count(tt.query, "?"))...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "\n")
			if !strings.Contains(all, tt.want) {
				t.Errorf("plan lacks %q:\n%s", tt.want, all)
			}
			for _, line := range plan {
				// A VALUES list of the query's own parameters is
				// scanned; its size does not grow with the data. So
				// is a CTE the plan materializes (qInvitationMember's
				// one invitation): its own lines are checked here.
				if strings.HasPrefix(line, "SCAN ") && !strings.HasSuffix(line, "-ROW VALUES CLAUSE") && line != "SCAN CONSTANT ROW" &&
					!slices.Contains(plan, "MATERIALIZE "+strings.TrimPrefix(line, "SCAN ")) {
					t.Errorf("plan scans a table: %q\n%s", line, all)
				}
			}
		})
	}
}

// queryPlan returns the EXPLAIN QUERY PLAN lines of query (NULL arguments).
func queryPlan(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+query, make([]any, strings.Count(query, "?"))...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// Every statement the writer prepares (the write hot paths: creates,
// accepts, logins, the bulk lookup, the outbox, webhooks, …) finds the
// rows of a table that grows with the members through an index: no plan
// scans one.
func TestWriteQueryPlansUseIndexes(t *testing.T) {
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "plan.db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	growing := []string{"users", "memberships", "invitations", "identities", "outbox", "events",
		"webhook_deliveries", "directory_users", "directory_group_members", "join_requests", "approval_requests"}
	// A multi-row INSERT into a parent table plans a scan of each child
	// table (rows it would stop violating a deferred key), run only while
	// the statement's violation counter is not zero (FkIfZero): never,
	// since no key is deferred. Those lines are not scans of the data.
	children := map[string]map[string]bool{} // parent → child tables
	rows, err := st.w.Query(`SELECT m.name, f."table" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			t.Fatal(err)
		}
		if children[parent] == nil {
			children[parent] = map[string]bool{}
		}
		children[parent][child] = true
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	searched := map[string]bool{}
	for _, q := range writeQueries() {
		plan := queryPlan(t, st.w, q)
		var inserted string
		if rest, ok := strings.CutPrefix(q, "INSERT INTO "); ok {
			inserted, _, _ = strings.Cut(rest, " ")
		}
		for _, line := range plan {
			for _, tbl := range growing {
				if children[inserted][tbl] {
					continue
				}
				if strings.HasPrefix(line, "SCAN "+tbl+" ") || line == "SCAN "+tbl {
					t.Errorf("plan scans %s: %q\n%s\n%.200s", tbl, line, strings.Join(plan, "\n"), q)
				}
			}
			if strings.HasPrefix(line, "SEARCH ") {
				searched[strings.Fields(line)[1]] = true
			}
		}
	}
	// The rebuilt tables' hot statements are among those checked.
	for _, tbl := range []string{"users", "memberships"} {
		if !searched[tbl] {
			t.Errorf("no write statement searches %s", tbl)
		}
	}
}

// Any ListOptions give either an error or a query whose placeholders match
// its arguments.
func FuzzMembersQuery(f *testing.F) {
	f.Add("", "", "", 0)
	f.Add("12", "ann", "PENDING_INVITE", 10)
	f.Add("-1", "Jür", "INVITE_EXPIRED", 5000)
	f.Add("x", "%_", "ACTIVE", -3)
	f.Fuzz(func(t *testing.T, after, query, status string, limit int) {
		mq, err := membersQuery("org", store.ListOptions{After: after, Query: query, Status: store.MembershipStatus(status), Limit: limit})
		if err != nil {
			if !errors.Is(err, store.ErrInvalidCursor) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n := strings.Count(mq.query, "?"); n != len(mq.args) {
			t.Fatalf("%d placeholders, %d args", n, len(mq.args))
		}
		if mq.limit < 1 || mq.limit > store.MaxPageSize {
			t.Fatalf("limit %d out of range", mq.limit)
		}
	})
}

// jsonMap writes what json.Marshal would mean: both decode to the same map.
func FuzzJSONMap(f *testing.F) {
	f.Add("k", "v", "", "")
	f.Add("quote\"", "back\\slash", "ctl\x00\x1f\n", "<&>\u2028")
	f.Add("bad\xff", "utf8 \xe2\x82", "ü", "日本")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		m := map[string]string{k1: v1, k2: v2}
		got, err := jsonMap(m)
		if err != nil || !got.Valid {
			t.Fatalf("jsonMap = %v, %v", got, err)
		}
		var dec map[string]string
		if err := json.Unmarshal([]byte(got.String), &dec); err != nil {
			t.Fatalf("jsonMap wrote invalid JSON %q: %v", got.String, err)
		}
		ref, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(dec, want) {
			t.Fatalf("jsonMap(%q) decodes to %q, json.Marshal's to %q", m, dec, want)
		}
	})
}

func FuzzJSONList(f *testing.F) {
	f.Add("admin", "member\"\x00\xff")
	f.Fuzz(func(t *testing.T, a, b string) {
		got, _ := jsonList([]string{a, b})
		var dec []string
		if err := json.Unmarshal([]byte(got.String), &dec); err != nil {
			t.Fatalf("jsonList wrote invalid JSON %q: %v", got.String, err)
		}
		ref, _ := json.Marshal([]string{a, b})
		var want []string
		json.Unmarshal(ref, &want)
		if !slices.Equal(dec, want) {
			t.Fatalf("jsonList decodes to %q, json.Marshal's to %q", dec, want)
		}
	})
}

func TestJSONMapNilAndEmpty(t *testing.T) {
	if got, _ := jsonList(nil); got.Valid {
		t.Errorf("jsonList(nil) = %q, want NULL", got.String)
	}
	if got, _ := jsonList([]string{}); got.String != "[]" {
		t.Errorf("jsonList(empty) = %q, want []", got.String)
	}
	if got, _ := jsonMap(nil); got.Valid {
		t.Errorf("jsonMap(nil) = %q, want NULL", got.String)
	}
	if got, _ := jsonMap(map[string]string{}); got.String != "{}" {
		t.Errorf("jsonMap(empty) = %q, want {}", got.String)
	}
	if got, _ := jsonMap(map[string]string{"b": "2", "a": "1"}); got.String != `{"a":"1","b":"2"}` {
		t.Errorf("jsonMap = %q, want sorted keys", got.String)
	}
}
