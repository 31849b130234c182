package invite_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

// The hostile bulk file: 2,500 rows in batches of 1,000, so row 1,500 is
// in the middle of the second batch (rows 1,001–2,000).
const (
	hostileRows   = 2500
	hostileBadRow = 1500
)

func hostileEmail(row int) string { return fmt.Sprintf("p%04d@example.com", row) }

// hostileCSV is the file with bad(row) written into row hostileBadRow's
// cells (email, first_name, metadata.plan) in place of the good ones.
func hostileCSV(first, plan string) *rowSource {
	return &rowSource{Header: "email,first_name,metadata.plan\n", N: hostileRows, Row: func(i int) string {
		row := i + 1
		if row == hostileBadRow {
			return fmt.Sprintf("%s,\"%s\",\"%s\"\n", hostileEmail(row), first, plan)
		}
		return fmt.Sprintf("%s,P%d,plan%d\n", hostileEmail(row), row, row)
	}}
}

// hostileJSONL is the same as JSON lines, with line hostileBadRow given.
func hostileJSONL(bad string) *rowSource {
	return &rowSource{N: hostileRows, Row: func(i int) string {
		row := i + 1
		if row == hostileBadRow {
			return bad + "\n"
		}
		return fmt.Sprintf(`{"email":%q,"userProfile":{"firstName":"P%d","customAttributes":{"dept":"d%d"}},"metadata":{"plan":"plan%d"}}`+"\n",
			hostileEmail(row), row, row, row)
	}}
}

// countMembers pages through orgID's members.
func countMembers(t *testing.T, svc *invite.Service, orgID string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	opts := store.ListOptions{Limit: invite.MaxListLimit}
	for {
		page, err := svc.ListMembers(context.Background(), orgID, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Members {
			out[m.User.Email] = true
		}
		if page.Next == "" {
			return out
		}
		opts.After = page.Next
	}
}

// checkHostileImport: every good row landed, the bad row did not and is
// reported with status, code and field.
func checkHostileImport(t *testing.T, e *env, orgID string, rep *invite.BulkReport, status invite.BulkRowStatus, code, field string) {
	t.Helper()
	checkSummary(t, rep)
	results := invitetest.Results(t, rep)
	if len(results) != hostileRows || rep.Summary.Created != hostileRows-1 {
		t.Fatalf("summary %+v (%d results), want %d created", rep.Summary, len(results), hostileRows-1)
	}
	bad := results[hostileBadRow-1]
	if bad.Row != hostileBadRow || bad.Status != status || bad.Code != code || bad.Field != field || bad.Reason == "" {
		t.Fatalf("row %d = %+v, want %s %s %q", hostileBadRow, bad, status, code, field)
	}
	members := countMembers(t, e.Svc, orgID)
	if len(members) != hostileRows-1 || members[hostileEmail(hostileBadRow)] {
		t.Fatalf("%d members (bad row written: %v), want %d", len(members), members[hostileEmail(hostileBadRow)], hostileRows-1)
	}
	for _, r := range []int{1, 1000, 1001, 1499, 1501, 2000, 2001, 2500} {
		if !members[hostileEmail(r)] {
			t.Fatalf("row %d was not written", r)
		}
	}
}

// TestBulkBadRowInTheMiddle: a file of 2,500 rows with one bad row in the
// middle of a batch — a NUL in a metadata value, bytes that are no UTF-8
// in a name, a NUL in a customAttributes key (PostgreSQL refuses all
// three; SQLite would keep them) — lands every good row, on every store,
// and reports the bad row with its field: validation stops it before any
// write. (Every other bad value, in every column and JSON field, is sent
// in a one-row file by inviteapi's TestHostileInputEveryField.)
func TestBulkBadRowInTheMiddle(t *testing.T) {
	cases := []struct {
		name        string
		format      string
		src         func() *rowSource
		code, field string
	}{
		{"NUL in metadata (CSV)", invite.BulkFormatCSV, func() *rowSource { return hostileCSV("Bad", "x\x00y") }, invite.CodeInvalidArgument, "metadata.plan"},
		{"invalid UTF-8 in first_name (CSV)", invite.BulkFormatCSV, func() *rowSource { return hostileCSV("Jos\xe9", "p") }, invite.CodeInvalidArgument, "first_name"},
		{"NUL in a customAttributes key (JSON lines)", invite.BulkFormatJSONL, func() *rowSource {
			return hostileJSONL(`{"email":"` + hostileEmail(hostileBadRow) + `","userProfile":{"customAttributes":{"de\u0000pt":"x"}}}`)
		}, invite.CodeInvalidArgument, "userProfile.customAttributes"},
	}
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				org := fmt.Sprintf("org_h%d", i)
				e.Org(t, org)
				rep, err := e.Svc.BulkInvite(context.Background(), org, c.src(), invite.BulkOptions{Format: c.format})
				if err != nil {
					t.Fatalf("BulkInvite: %v", err)
				}
				checkHostileImport(t, e, org, rep, invite.BulkInvalid, c.code, c.field)
			})
		}
	})
}

// refusingStore refuses the row for email as a store that cannot keep
// one of its values would: the batch that holds it fails as a whole
// (nothing written), and so does the row on its own, with err.
type refusingStore struct {
	store.Store
	bc    store.BatchCreator
	email string
	err   error
}

func (s *refusingStore) CreateMemberships(ctx context.Context, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	if slices.ContainsFunc(ps, func(p store.CreateMembershipParams) bool { return p.User.Email == s.email }) {
		return nil, fmt.Errorf("batch refused: %w", s.err)
	}
	return s.bc.CreateMemberships(ctx, ps)
}

func (s *refusingStore) CreateMembership(ctx context.Context, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	if p.User.Email == s.email {
		return store.CreateMembershipResult{}, s.err
	}
	return s.Store.CreateMembership(ctx, p)
}

// smugglingStore puts a NUL into the membership metadata of the row for
// email on its way into the store — as a gap in validation would let one
// through — so that the store itself refuses the row (PostgreSQL does).
type smugglingStore struct {
	store.Store
	bc    store.BatchCreator
	email string
}

func (s *smugglingStore) smuggle(p store.CreateMembershipParams) store.CreateMembershipParams {
	if p.User.Email == s.email {
		p.Membership.Metadata = maps.Clone(p.Membership.Metadata)
		p.Membership.Metadata["plan"] = "x\x00y"
	}
	return p
}

func (s *smugglingStore) CreateMemberships(ctx context.Context, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	ps = slices.Clone(ps)
	for i := range ps {
		ps[i] = s.smuggle(ps[i])
	}
	return s.bc.CreateMemberships(ctx, ps)
}

func (s *smugglingStore) CreateMembership(ctx context.Context, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	return s.Store.CreateMembership(ctx, s.smuggle(p))
}

// TestBulkBatchRefusedRowByRow: when the store refuses a batch for a
// reason that is not a lost connection, the batch is decided again row by
// row: the 999 good rows of the batch land, the refused row is reported
// failed with code and field (the store's *FieldError names it), and the
// import goes on — on every store, and with PostgreSQL's own refusal of a
// NUL.
func TestBulkBatchRefusedRowByRow(t *testing.T) {
	bad := hostileEmail(hostileBadRow)
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		bc, ok := st.(store.BatchCreator)
		if !ok {
			t.Fatal("the built-in stores write batches")
		}
		for _, c := range []struct {
			name        string
			err         error
			code, field string
		}{
			{"with the field", store.Invalid("metadata.plan", "this store keeps metadata values of at most 3 characters"), invite.CodeInvalidArgument, "metadata.plan"},
			{"without the field", fmt.Errorf("value too long for type character varying(3)"), "store_refused", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := newEnv(t, &refusingStore{Store: st, bc: bc, email: bad, err: c.err}, nil)
				org := "org_r" + strings.ReplaceAll(c.name, " ", "")[:8]
				e.Org(t, org)
				rep, err := e.Svc.BulkInvite(context.Background(), org, hostileCSV("Fine", "abcd"), invite.BulkOptions{})
				if err != nil {
					t.Fatalf("BulkInvite: %v", err)
				}
				checkHostileImport(t, e, org, rep, invite.BulkFailed, c.code, c.field)
			})
		}
		if !strings.HasSuffix(t.Name(), "/pgstore") {
			return // only PostgreSQL refuses a NUL by itself
		}
		t.Run("PostgreSQL refuses a NUL", func(t *testing.T) {
			e := newEnv(t, &smugglingStore{Store: st, bc: bc, email: bad}, nil)
			e.Org(t, "org_pg")
			rep, err := e.Svc.BulkInvite(context.Background(), "org_pg", hostileCSV("Fine", "fine"), invite.BulkOptions{})
			if err != nil {
				t.Fatalf("BulkInvite: %v", err)
			}
			// The value the store refused is not one the Service sent, so
			// the report cannot name it; it says the store refused the row.
			checkHostileImport(t, e, "org_pg", rep, invite.BulkFailed, "store_refused", "")
		})
	})
}

// TestBulkStoreFailingEveryRowStops: a store that refuses every row of a
// batch on its own too is failing, not refusing a row: the import stops
// with its error, as before the row-by-row decision.
func TestBulkStoreFailingEveryRowStops(t *testing.T) {
	st := openSQLite(t)
	bc := st.(store.BatchCreator)
	e := newEnv(t, &everyRowStore{Store: st, bc: bc}, nil)
	e.Org(t, "org_x")
	src := &rowSource{Header: "email\n", N: 30, Row: func(i int) string { return fmt.Sprintf("x%d@example.com\n", i) }}
	rep, err := e.Svc.BulkInvite(context.Background(), "org_x", src, invite.BulkOptions{BatchSize: 10, Writers: 1})
	if err == nil || !strings.Contains(err.Error(), "disk I/O error") || !strings.Contains(err.Error(), "rows 11–20") {
		t.Fatalf("err = %v", err)
	}
	checkSummary(t, rep)
	if rep.Summary.Created != 10 || rep.Summary.Failed != 10 || len(invitetest.Results(t, rep)) != 20 {
		t.Fatalf("summary %+v", rep.Summary)
	}
	if n := len(countMembers(t, e.Svc, "org_x")); n != 10 {
		t.Fatalf("%d members", n)
	}
}

// everyRowStore fails the second batch and each of its rows.
type everyRowStore struct {
	store.Store
	bc store.BatchCreator
}

func (s *everyRowStore) failing(p store.CreateMembershipParams) bool {
	var n int
	fmt.Sscanf(p.User.Email, "x%d@", &n)
	return n >= 10 && n < 20
}

func (s *everyRowStore) CreateMemberships(ctx context.Context, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	if slices.ContainsFunc(ps, s.failing) {
		return nil, fmt.Errorf("disk I/O error")
	}
	return s.bc.CreateMemberships(ctx, ps)
}

func (s *everyRowStore) CreateMembership(ctx context.Context, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	if s.failing(p) {
		return store.CreateMembershipResult{}, fmt.Errorf("disk I/O error")
	}
	return s.Store.CreateMembership(ctx, p)
}
