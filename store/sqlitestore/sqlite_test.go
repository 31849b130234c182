package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
	_ "modernc.org/sqlite"
)

// Data written through one Store is there after Close and Open, and the
// migrations are not applied twice.
func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kit.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mustOrg(t, st, "org_a")
	res, err := st.CreateMembership(ctx, inviteParams("org_a", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	st, err = sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := st.GetMembership(ctx, "org_a", res.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq != res.Membership.Seq || m.Status != store.StatusPendingInvite || !m.InviteExpireTime.Equal(t0.Add(15*24*time.Hour)) {
		t.Errorf("membership after reopen = %+v", m)
	}
	db := rawDB(t, path)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) < 3 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	if n != len(files) { // one row per migration (0001_init, 0002_member_view, 0003_sessions, …)
		t.Errorf("schema_migrations has %d rows, want %d", n, len(files))
	}
}

// A database migrated by a newer program is refused, not damaged.
func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kit.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_time) VALUES (9999, '9999_future', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{}); err == nil {
		st.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		path string
	}{
		{"empty path", ""},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "kit.db")},
		{"not a database", notADatabase(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := sqlitestore.Open(ctx, tt.path, sqlitestore.Config{})
			if err == nil {
				st.Close()
				t.Fatalf("Open(%q) succeeded", tt.path)
			}
		})
	}
}

func notADatabase(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(p, []byte("this is not an SQLite database, just some text that is long enough......................................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Paths with characters that are special in SQLite URIs work and name the
// file they say.
func TestOpenPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%25chars")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kit?.db")
	st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mustOrg(t, st, "org_x")
	st.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at %q: %v", path, err)
	}
}

func TestMemoryPath(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.MemoryPath, sqlitestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustOrg(t, st, "org_m")
	if _, err := st.CreateMembership(ctx, inviteParams("org_m", 1)); err != nil {
		t.Fatal(err)
	}
	p, err := st.ListMembers(ctx, "org_m", store.ListOptions{})
	if err != nil || len(p.Members) != 1 {
		t.Fatalf("ListMembers = %d members, %v", len(p.Members), err)
	}
}

// Of many concurrent accepts of one invitation exactly one wins, also when
// they come through two Stores on one file (as two processes would).
func TestConcurrentAcceptExactlyOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kit.db")
	a, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mustOrg(t, a, "org_a")
	p := inviteParams("org_a", 1)
	res, err := a.CreateMembership(ctx, p)
	if err != nil {
		t.Fatal(err)
	}

	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			_, errs[i] = st.AcceptInvitation(ctx, store.AcceptParams{
				InvitationID: p.Invitation.ID, Now: t0.Add(time.Hour),
				Identity:      store.Identity{Issuer: "https://idp", Subject: fmt.Sprint("sub", i), Email: p.User.Email},
				EmailVerified: true, IdentityProvider: "OIDC",
				Event: store.Event{Type: store.EventMembershipAccepted, CreateTime: t0},
			})
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrInviteUsed):
			t.Errorf("accept %d: %v, want nil or ErrInviteUsed", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d accepts succeeded, want 1", wins)
	}
	m, err := b.GetMembership(ctx, "org_a", res.User.ID)
	if err != nil || m.Status != store.StatusActive {
		t.Fatalf("membership = %+v, %v", m, err)
	}
	evs, err := a.ListEvents(ctx, "org_a", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, ev := range evs {
		if ev.Type == store.EventMembershipAccepted {
			accepted++
		}
	}
	if accepted != 1 {
		t.Errorf("%d accepted events, want 1", accepted)
	}
}

// Two Stores on one file (two processes) claiming the outbox concurrently
// never lease one message twice.
func TestConcurrentClaimAcrossStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kit.db")
	stores := make([]*sqlitestore.Store, 3)
	for i := range stores {
		st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores[i] = st
	}
	mustOrg(t, stores[0], "org_a")
	const total = 120
	ps := make([]store.CreateMembershipParams, total)
	for i := range ps {
		ps[i] = inviteParams("org_a", i)
	}
	if _, err := stores[0].CreateMemberships(ctx, ps); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		st := stores[w%len(stores)]
		wg.Go(func() {
			for {
				msgs, err := st.ClaimOutbox(ctx, t0, t0.Add(time.Minute), 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Errorf("claimed %d distinct messages, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s claimed %d times", id, n)
		}
	}
}

// Concurrent writers (the single writer connection queues them) and readers
// all succeed; membership seqs are unique and increasing in commit order.
func TestConcurrentWritesAndReads(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, sqlitestore.Config{})
	mustOrg(t, st, "org_a")
	const n = 64
	seqs := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := st.CreateMembership(ctx, inviteParams("org_a", i))
			if err != nil {
				t.Error(err)
				return
			}
			seqs[i] = res.Membership.Seq
			if _, err := st.GetMembership(ctx, "org_a", res.User.ID); err != nil {
				t.Errorf("read own write: %v", err)
			}
		})
	}
	wg.Wait()
	uniq := map[int64]bool{}
	for _, s := range seqs {
		uniq[s] = true
	}
	if len(uniq) != n {
		t.Fatalf("%d distinct seqs, want %d", len(uniq), n)
	}
	page, err := st.ListMembers(ctx, "org_a", store.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Members) != n {
		t.Fatalf("listed %d members, want %d", len(page.Members), n)
	}
	for i := 1; i < len(page.Members); i++ {
		if page.Members[i].Membership.Seq <= page.Members[i-1].Membership.Seq {
			t.Fatalf("members not in seq order at %d", i)
		}
	}
}

// A batch writes what it can: refused items are reported and leave no
// trace, the others are all written, in one transaction.
func TestCreateMembershipsPartial(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, sqlitestore.Config{})
	mustOrg(t, st, "org_a")
	first, err := st.CreateMembership(ctx, inviteParams("org_a", 0))
	if err != nil {
		t.Fatal(err)
	}

	dupExt := inviteParams("org_a", 5)
	dupExt.User.ExternalID = "ext-1" // taken by item 1 of this batch
	noOrg := inviteParams("org_missing", 6)
	ps := []store.CreateMembershipParams{
		inviteParams("org_a", 0), // already a member
		inviteParams("org_a", 1),
		inviteParams("org_a", 1), // same email again within the batch
		dupExt,
		noOrg,
		inviteParams("org_a", 2),
	}
	res, err := st.CreateMemberships(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	wantErr := []error{store.ErrAlreadyMember, nil, store.ErrAlreadyMember, store.ErrExternalIDTaken, store.ErrNotFound, nil}
	for i, want := range wantErr {
		if got := res[i].Err; (want == nil) != (got == nil) || (want != nil && !errors.Is(got, want)) {
			t.Errorf("item %d: err = %v, want %v", i, got, want)
		}
	}
	if res[1].User.ID == "" || !res[1].UserCreated || res[1].Membership.Seq <= first.Membership.Seq {
		t.Errorf("item 1 result = %+v", res[1])
	}
	if res[5].Membership.Seq <= res[1].Membership.Seq {
		t.Errorf("seqs not increasing: %d then %d", res[1].Membership.Seq, res[5].Membership.Seq)
	}
	for _, i := range []int{3, 4} {
		if _, err := st.GetUserByEmail(ctx, ps[i].User.Email); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused item %d left its user: %v", i, err)
		}
		if _, err := st.GetInvitation(ctx, ps[i].Invitation.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused item %d left its invitation: %v", i, err)
		}
	}
	queued, err := st.CountOutbox(ctx, store.OutboxQueued)
	if err != nil || queued != 3 {
		t.Errorf("queued = %d, %v; want 3 (first + items 1 and 5)", queued, err)
	}
	evs, err := st.ListEvents(ctx, "org_a", 0, 0)
	if err != nil || len(evs) != 4 {
		t.Errorf("events = %d, %v; want 4", len(evs), err)
	}
}

// A failure that is not a per-item refusal rolls back the whole batch.
func TestCreateMembershipsAllOrNothingOnCancel(t *testing.T) {
	st := openTemp(t, sqlitestore.Config{})
	mustOrg(t, st, "org_a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ps := []store.CreateMembershipParams{inviteParams("org_a", 1), inviteParams("org_a", 2)}
	if _, err := st.CreateMemberships(ctx, ps); err == nil {
		t.Fatal("CreateMemberships with a cancelled context succeeded")
	}
	page, err := st.ListMembers(context.Background(), "org_a", store.ListOptions{})
	if err != nil || len(page.Members) != 0 {
		t.Fatalf("members after failed batch = %d, %v", len(page.Members), err)
	}
}

// Maps survive the JSON round trip including nil vs empty; times come back
// in UTC with microsecond precision, and far-future times fit.
func TestRoundTripEncoding(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, sqlitestore.Config{})
	mustOrg(t, st, "org_a")
	p := inviteParams("org_a", 1)
	local := time.FixedZone("X", 3600)
	p.User.CreateTime = time.Date(2026, 1, 2, 3, 4, 5, 123456789, local)
	p.User.Metadata = map[string]string{}
	p.User.Profile.CustomAttributes = nil
	p.User.Profile.Metadata = map[string]string{"ü": "ß \"quoted\""}
	never := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	p.Membership.InviteExpireTime = never
	login := time.Date(2026, 3, 4, 5, 6, 7, 891234567, local)
	p.Membership.LastLogin = &login
	p.Membership.UserMetadata = map[string]string{}
	p.Membership.Profile.Metadata = map[string]string{"ü": "ß \"quoted\""}
	p.Membership.Profile.CustomAttributes = nil
	res, err := st.CreateMembership(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.GetUser(ctx, res.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := p.User.CreateTime.Truncate(time.Microsecond); !u.CreateTime.Equal(want) || u.CreateTime.Location() != time.UTC {
		t.Errorf("CreateTime = %v, want %v in UTC", u.CreateTime, want)
	}
	if !res.User.CreateTime.Equal(u.CreateTime) {
		t.Errorf("CreateMembership returned CreateTime %v, stored %v", res.User.CreateTime, u.CreateTime)
	}
	m, err := st.GetMembership(ctx, "org_a", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !m.InviteExpireTime.Equal(never) || !res.Membership.InviteExpireTime.Equal(never) {
		t.Errorf("InviteExpireTime = %v (returned %v), want %v", m.InviteExpireTime, res.Membership.InviteExpireTime, never)
	}
	if u.Metadata == nil || len(u.Metadata) != 0 {
		t.Errorf("empty metadata = %#v, want empty non-nil", u.Metadata)
	}
	if u.Profile.CustomAttributes != nil {
		t.Errorf("nil custom attributes = %#v, want nil", u.Profile.CustomAttributes)
	}
	if u.Profile.Metadata["ü"] != "ß \"quoted\"" {
		t.Errorf("profile metadata = %#v", u.Profile.Metadata)
	}
	if u.LastLogin != nil {
		t.Errorf("LastLogin = %v, want nil", u.LastLogin)
	}
	wantLogin := login.Truncate(time.Microsecond).UTC()
	for name, got := range map[string]store.Membership{"stored": m, "returned": res.Membership} {
		if got.LastLogin == nil || *got.LastLogin != wantLogin {
			t.Errorf("%s membership LastLogin = %v, want %v (UTC, microseconds)", name, got.LastLogin, wantLogin)
		}
		if got.UserMetadata == nil || len(got.UserMetadata) != 0 {
			t.Errorf("%s empty UserMetadata = %#v, want empty non-nil", name, got.UserMetadata)
		}
		if got.Profile.CustomAttributes != nil {
			t.Errorf("%s nil Profile.CustomAttributes = %#v, want nil", name, got.Profile.CustomAttributes)
		}
		if got.Profile.Metadata["ü"] != "ß \"quoted\"" {
			t.Errorf("%s Profile.Metadata = %#v", name, got.Profile.Metadata)
		}
	}
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Non-ASCII queries are matched with Unicode case folding (in Go, since
// SQLite's lower() folds ASCII only) against the organization's view of
// the member, and still paginate.
func TestListMembersUnicodeQuery(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, sqlitestore.Config{})
	mustOrg(t, st, "org_a")
	names := []string{"Jürgen Ömer", "Anna Jürgens", "Bob", "JÜRI Ünal"}
	for i, name := range names {
		p := inviteParams("org_a", i)
		p.Membership.Profile.Name = name
		p.User.Profile.Name = "Jürgen " + name // the person's own name is not matched
		if _, err := st.CreateMembership(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	opts := store.ListOptions{Query: "JÜR", Limit: 2}
	for page := 0; ; page++ {
		if page > 3 {
			t.Fatal("pagination does not end")
		}
		p, err := st.ListMembers(ctx, "org_a", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.Members {
			got = append(got, m.Membership.Profile.Name)
		}
		if p.Next == "" {
			break
		}
		opts.After = p.Next
	}
	want := []string{"Jürgen Ömer", "Anna Jürgens", "JÜRI Ünal"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("members = %q, want %q", got, want)
	}
}
