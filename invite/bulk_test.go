package invite_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/csvimport"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// bulkStores are the stores the bulk tests run on: the in-memory one and
// the real SQLite one.
func bulkStores() []storeCase {
	return []storeCase{
		{Name: "memstore", Open: func(tb testing.TB) store.Store { return memstore.New() }},
		{Name: "sqlitestore", Open: openSQLite},
		{Name: "pgstore", Open: openPGBulk},
	}
}

func forEachBulkStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, sc := range bulkStores() {
		t.Run(sc.Name, func(t *testing.T) { fn(t, sc.Open(t)) })
	}
}

// noBatchStore hides the store's BatchCreator capability.
type noBatchStore struct{ store.Store }

func bulk(t *testing.T, e *env, orgID, in string, opts invite.BulkOptions) *invite.BulkReport {
	t.Helper()
	rep, err := e.Svc.BulkInvite(context.Background(), orgID, strings.NewReader(in), opts)
	if err != nil {
		t.Fatalf("BulkInvite: %v", err)
	}
	checkSummary(t, rep)
	return rep
}

type wantRow struct {
	status invite.BulkRowStatus
	email  string
	field  string
	reason string // substring
}

func checkRows(t *testing.T, rep *invite.BulkReport, want []wantRow) {
	t.Helper()
	results := invitetest.Results(t, rep)
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(results), len(want), results)
	}
	for i, w := range want {
		r := results[i]
		if r.Status != w.status || r.Email != w.email || r.Field != w.field || !strings.Contains(r.Reason, w.reason) {
			t.Errorf("row %d = %+v\n want %+v", i+1, r, w)
		}
		if (r.Status == invite.BulkInvalid || r.Status == invite.BulkRefused) && (r.Reason == "" || r.Code == "") {
			t.Errorf("row %d: %s without code or reason", i+1, r.Status)
		}
	}
}

const mixedCSV = "\ufeffemail,first_name,last_name,roles,external_id,metadata.dept\r\n" +
	"ann@example.com,Ann,Lee,admin;member,ext-ann,Sales\r\n" +
	"\r\n" +
	"\"Bob@Example.COM\",\"Smith, Jr.\",\"O\"\"Brien\",,,\r\n" +
	"not-an-email,X,Y,,,\r\n" +
	"carl@example.com,Carl,,owner,,\r\n" +
	"ann@EXAMPLE.com,Ann,Again,,,\r\n" +
	"dora@example.com,Dora,Diaz,billing,,\"Research, Development\"\r\n" +
	"erin@example.com,Erin,,member,ext-ann,\r\n" +
	"fred@example.com,Fred\r\n" +
	",NoEmail,,,,\r\n" +
	"gina@example.com,Gina,,,,x\r\n"

var mixedWant = []wantRow{
	{invite.BulkCreated, "ann@example.com", "", ""},
	{invite.BulkCreated, "bob@example.com", "", ""},
	{invite.BulkInvalid, "not-an-email", "email", "email must contain an @"},
	{invite.BulkInvalid, "carl@example.com", "roles", "unknown role"},
	{invite.BulkDuplicateInFile, "ann@example.com", "email", "row 1"},
	{invite.BulkCreated, "dora@example.com", "", ""},
	{invite.BulkInvalid, "erin@example.com", "external_id", "row 1 has the same external id"},
	{invite.BulkInvalid, "fred@example.com", "", "row has 2 fields, the header has 6"},
	{invite.BulkInvalid, "", "email", "email is required"},
	{invite.BulkCreated, "gina@example.com", "", ""},
}

func TestBulkInviteCSV(t *testing.T) {
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_a")
		admin := e.AddActive(t, "org_a", "boss@example.com", "admin")
		rep := bulk(t, e, "org_a", mixedCSV, invite.BulkOptions{ActorID: admin.User.ID})
		checkRows(t, rep, mixedWant)
		if rep.DryRun || rep.OrganizationID != "org_a" || rep.Format != "csv" {
			t.Fatalf("report header %+v", rep)
		}
		want := invite.BulkSummary{Rows: 10, Created: 4, Invalid: 5, DuplicateInFile: 1}
		if rep.Summary != want {
			t.Fatalf("summary %+v, want %+v", rep.Summary, want)
		}
		// The line numbers point into the file (the header is line 1, line 3 is blank).
		results := invitetest.Results(t, rep)
		if results[0].Line != 2 || results[1].Line != 4 {
			t.Fatalf("lines %d, %d", results[0].Line, results[1].Line)
		}
		ctx := context.Background()
		bob, err := e.Svc.GetMember(ctx, "org_a", invite.UserRef{Email: "bob@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if bob.User.Profile.FirstName != "Smith, Jr." || bob.User.Profile.LastName != `O"Brien` ||
			bob.Membership.Status != store.StatusPendingInvite || bob.Membership.InvitedBy != admin.User.ID ||
			len(bob.Membership.Roles) != 1 || bob.Membership.Roles[0] != "member" {
			t.Fatalf("bob = %+v", bob)
		}
		if results[1].UserID != bob.User.ID || results[1].MembershipStatus != store.StatusPendingInvite {
			t.Fatalf("bob's result %+v", results[1])
		}
		ann, err := e.Svc.GetMember(ctx, "org_a", invite.UserRef{ExternalID: "ext-ann"})
		if err != nil {
			t.Fatal(err)
		}
		if ann.Membership.Metadata["dept"] != "Sales" || strings.Join(ann.Membership.Roles, ",") != "admin,member" {
			t.Fatalf("ann = %+v", ann.Membership)
		}
		dora, _ := e.Svc.GetMember(ctx, "org_a", invite.UserRef{Email: "dora@example.com"})
		if dora.Membership.Metadata["dept"] != "Research, Development" {
			t.Fatalf("dora metadata %v", dora.Membership.Metadata)
		}
		// One invitation mail per created row, with the inviter's name.
		msgs := e.Queued(t, "org_a")
		if len(msgs) != 4 {
			t.Fatalf("%d queued mails, want 4", len(msgs))
		}
		for _, m := range msgs {
			if m.Kind != store.MailInvitation || m.Data[outbox.DataInviterName] != "boss@example.com" || len(m.Sealed) == 0 {
				t.Fatalf("mail %+v", m)
			}
			if link := openLink(t, m); !strings.HasPrefix(link, acceptURL+"?token=inv_") {
				t.Fatalf("link %q", link)
			}
		}
		// The links work: a bulk invitee can accept.
		if _, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(openLink(t, msgs[0])), verified(msgs[0].To)); err != nil {
			t.Fatalf("accept a bulk invitation: %v", err)
		}
		// One membership.invited event per created row.
		n := 0
		for _, ev := range e.Events(t, "org_a") {
			if ev.Type == store.EventMembershipInvited {
				n++
				if ev.ActorID != admin.User.ID || ev.UserID == "" {
					t.Fatalf("event %+v", ev)
				}
			}
		}
		if n != 4 {
			t.Fatalf("%d invited events", n)
		}
	})
}

func TestBulkWithoutBatchCreator(t *testing.T) {
	e := newEnv(t, noBatchStore{openSQLite(t)}, nil)
	e.Org(t, "org_a")
	rep := bulk(t, e, "org_a", mixedCSV, invite.BulkOptions{})
	checkRows(t, rep, mixedWant)
	if got := len(e.Queued(t, "org_a")); got != 4 {
		t.Fatalf("%d mails", got)
	}
}

func TestBulkDryRunChangesNothing(t *testing.T) {
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_a")
		e.Invite(t, "org_a", "dora@example.com")
		emails := []string{"ann@example.com", "bob@example.com", "dora@example.com", "gina@example.com", "not-an-email"}
		before := takeSnapshot(t, st, []string{"org_a"}, emails)
		dry := bulk(t, e, "org_a", mixedCSV, invite.BulkOptions{DryRun: true})
		assertUnchanged(t, before, takeSnapshot(t, st, []string{"org_a"}, emails))
		if !dry.DryRun {
			t.Fatal("report not marked as dry run")
		}
		want := append([]wantRow(nil), mixedWant...)
		want[5] = wantRow{invite.BulkAlreadyMember, "dora@example.com", "", "already invited"}
		checkRows(t, dry, want)
		for _, r := range invitetest.Results(t, dry) {
			if r.UserID != "" {
				t.Fatalf("dry run result with a user id: %+v", r)
			}
		}
		// The real run does what the dry run said.
		real := bulk(t, e, "org_a", mixedCSV, invite.BulkOptions{})
		if real.Summary != dry.Summary {
			t.Fatalf("real %+v, dry %+v", real.Summary, dry.Summary)
		}
		for i := range invitetest.Results(t, real) {
			if invitetest.Results(t, real)[i].Status != invitetest.Results(t, dry)[i].Status {
				t.Fatalf("row %d: real %s, dry %s", i+1, invitetest.Results(t, real)[i].Status, invitetest.Results(t, dry)[i].Status)
			}
		}
	})
}

func TestBulkReuploadIdempotent(t *testing.T) {
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_a")
		in := "email,first_name,roles\n"
		var emails []string
		for i := range 25 {
			email := fmt.Sprintf("user%02d@example.com", i)
			emails = append(emails, email)
			in += email + ",User,member\n"
		}
		first := bulk(t, e, "org_a", in, invite.BulkOptions{BatchSize: 7})
		if first.Summary.Created != 25 {
			t.Fatalf("first run %+v", first.Summary)
		}
		// Accept one, deactivate another: a re-upload leaves both alone.
		msgs := e.Queued(t, "org_a")
		if _, err := e.Svc.AcceptInvitation(context.Background(), invite.TokenFromLink(openLink(t, msgs[0])), verified(msgs[0].To)); err != nil {
			t.Fatal(err)
		}
		after := takeSnapshot(t, st, []string{"org_a"}, emails)
		for _, opts := range []invite.BulkOptions{{}, {DryRun: true}} {
			second := bulk(t, e, "org_a", in, opts)
			if second.Summary != (invite.BulkSummary{Rows: 25, AlreadyMember: 25}) {
				t.Fatalf("re-upload (dry %v) %+v", opts.DryRun, second.Summary)
			}
			assertUnchanged(t, after, takeSnapshot(t, st, []string{"org_a"}, emails))
		}
	})
}

func TestBulkEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []wantRow
	}{
		{"BOM and CRLF", "\ufeffemail\r\na@example.com\r\nb@example.com\r\n", []wantRow{
			{invite.BulkCreated, "a@example.com", "", ""}, {invite.BulkCreated, "b@example.com", "", ""}}},
		{"quoted commas", "email,first_name,last_name\n\"a@example.com\",\"Lee, Ann\",\"x,y\"\n", []wantRow{
			{invite.BulkCreated, "a@example.com", "", ""}}},
		{"empty lines", "\n\nemail\n\n\na@example.com\n\n,\n\nb@example.com", []wantRow{
			{invite.BulkCreated, "a@example.com", "", ""}, {invite.BulkCreated, "b@example.com", "", ""}}},
		{"duplicate emails", "email\nA@example.com\na@example.com\n a@EXAMPLE.COM \n", []wantRow{
			{invite.BulkCreated, "a@example.com", "", ""},
			{invite.BulkDuplicateInFile, "a@example.com", "email", "duplicate in file: row 1"},
			{invite.BulkDuplicateInFile, "a@example.com", "email", "duplicate in file: row 1"}}},
		{"bad quote does not stop later rows", "email,first_name\na@example.com,\"bad\"quote\nb@example.com,B\n", []wantRow{
			{invite.BulkInvalid, "", "", "malformed CSV"}, {invite.BulkCreated, "b@example.com", "", ""}}},
		{"field rules", "email,first_name,locale,phone_number,metadata.k\n" +
			"a@example.com,A,xx-invalid-locale-tag,,\n" +
			"b@example.com,B,,12345,\n" +
			"c@example.com,C,,,v\n" +
			"d@example.com," + strings.Repeat("n", 101) + ",,,\n" +
			"e@example.com,E,de-CH,+14155550100,\n", []wantRow{
			{invite.BulkInvalid, "a@example.com", "locale", "BCP 47"},
			{invite.BulkInvalid, "b@example.com", "phone_number", "E.164"},
			{invite.BulkInvalid, "c@example.com", "metadata.k", "keys must be"},
			{invite.BulkInvalid, "d@example.com", "first_name", "first_name must be at most 100"},
			{invite.BulkCreated, "e@example.com", "", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, memstore.New(), nil)
			e.Org(t, "org_a")
			checkRows(t, bulk(t, e, "org_a", tt.in, invite.BulkOptions{}), tt.want)
		})
	}
}

func TestBulkJSONLines(t *testing.T) {
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_a")
		in := `{"email":"ann@example.com","roles":["admin"],"userProfile":{"firstName":"Ann","locale":"de"},"metadata":{"team":"blue"}}` + "\n" +
			`{"email":"bob@example.com","sendActivationEmail":false}` + "\n" +
			"\n" +
			`{"email":"carl@example.com","colour":"red"}` + "\n" +
			`{"email":"dora@example.com","roles":["nope"]}` + "\n" +
			`{"email":"erin@example.com","userProfile":{"firstName":7}}` + "\n"
		rep := bulk(t, e, "org_a", in, invite.BulkOptions{Format: invite.BulkFormatJSONL})
		checkRows(t, rep, []wantRow{
			{invite.BulkCreated, "ann@example.com", "", ""},
			{invite.BulkCreated, "bob@example.com", "", ""},
			{invite.BulkInvalid, "carl@example.com", "colour", "unknown field"},
			{invite.BulkInvalid, "dora@example.com", "roles[0]", "unknown role"},
			{invite.BulkInvalid, "erin@example.com", "userProfile.firstName", "must be a JSON string"},
		})
		results := invitetest.Results(t, rep)
		if results[0].MembershipStatus != store.StatusPendingInvite || results[1].MembershipStatus != store.StatusActive {
			t.Fatalf("statuses %+v", results[:2])
		}
		if results[3].Line != 5 {
			t.Fatalf("line %d", results[3].Line)
		}
		msgs := e.Queued(t, "org_a")
		if len(msgs) != 1 || msgs[0].To != "ann@example.com" || msgs[0].Data[outbox.DataLocale] != "de" {
			t.Fatalf("mails %+v", msgs)
		}
	})
}

func TestBulkDirectAdd(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	e.Org(t, "org_a")
	no := false
	rep := bulk(t, e, "org_a", "email\na@example.com\nb@example.com\n", invite.BulkOptions{SendInvitationEmail: &no})
	for _, r := range invitetest.Results(t, rep) {
		if r.Status != invite.BulkCreated || r.MembershipStatus != store.StatusActive {
			t.Fatalf("result %+v", r)
		}
	}
	if n := len(e.Queued(t, "org_a")); n != 0 {
		t.Fatalf("%d mails queued for direct adds", n)
	}
	if ev := e.LastEvent(t, "org_a"); ev.Type != store.EventMembershipAdded {
		t.Fatalf("event %s", ev.Type)
	}
}

func TestBulkPolicyAndExternalIDs(t *testing.T) {
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		var seen []string
		e := newEnv(t, st, func(c *invite.Config) {
			c.BeforeInvite = func(ctx context.Context, in invite.PolicyInput) error {
				seen = append(seen, in.Request.Email)
				if strings.HasSuffix(in.Request.Email, "@competitor.example") {
					return &invite.PolicyError{Reason: "competitor domains are not allowed"}
				}
				if in.Organization.ID == "org_a" && in.Request.Email == "old@example.com" && in.ExistingUser == nil {
					return errors.New("policy should see the existing user")
				}
				return nil
			}
		})
		e.Org(t, "org_a")
		e.Org(t, "org_b")
		// A user from another org with an external id.
		ctx := context.Background()
		if _, err := e.Svc.CreateUserAndMembership(ctx, "org_b", invite.InviteRequest{Email: "old@example.com", ExternalID: "hr-1"}); err != nil {
			t.Fatal(err)
		}
		seen = nil
		in := "email,external_id\n" +
			"spy@competitor.example,\n" +
			"old@example.com,hr-1\n" +
			"new@example.com,hr-1\n" +
			"old2@example.com,\n"
		rep := bulk(t, e, "org_a", in, invite.BulkOptions{})
		checkRows(t, rep, []wantRow{
			{invite.BulkRefused, "spy@competitor.example", "", "competitor domains are not allowed"},
			{invite.BulkCreated, "old@example.com", "", ""},
			{invite.BulkInvalid, "new@example.com", "external_id", "same external id"},
			{invite.BulkCreated, "old2@example.com", "", ""},
		})
		// The existing user was reused, not duplicated.
		u, err := st.GetUserByEmail(ctx, "old@example.com")
		if err != nil || invitetest.Results(t, rep)[1].UserID != u.ID {
			t.Fatalf("reused user %v %v", u.ID, err)
		}
		// The policy saw every valid, not-in-file-duplicate row once.
		if strings.Join(seen, ",") != "spy@competitor.example,old@example.com,old2@example.com" {
			t.Fatalf("policy saw %v", seen)
		}
		// External id clash with a stored user, in a fresh file.
		rep = bulk(t, e, "org_a", "email,external_id\nother@example.com,hr-1\nold2@example.com,\n", invite.BulkOptions{})
		checkRows(t, rep, []wantRow{
			{invite.BulkInvalid, "other@example.com", "external_id", "belongs to another user"},
			{invite.BulkAlreadyMember, "old2@example.com", "", "already"},
		})
	})
}

func TestBulkTenThousandInvalidRows(t *testing.T) {
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_a")
		before := takeSnapshot(t, st, []string{"org_a"}, []string{"user0@example.com"})
		src := &rowSource{Header: "email,first_name,roles\n", N: 10000, Row: func(i int) string {
			switch i % 3 {
			case 0:
				return fmt.Sprintf("user%d.example.com,U,member\n", i) // no @
			case 1:
				return fmt.Sprintf("user%d@example.com,U,superuser\n", i) // unknown role
			}
			return fmt.Sprintf("user%d@example.com,\"U\x01\",member\n", i) // control character
		}}
		rep, err := e.Svc.BulkInvite(context.Background(), "org_a", src, invite.BulkOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, rep)
		if rep.Summary != (invite.BulkSummary{Rows: 10000, Invalid: 10000}) {
			t.Fatalf("summary %+v", rep.Summary)
		}
		fields := map[string]int{}
		for _, r := range invitetest.Results(t, rep) {
			fields[r.Field]++
		}
		if fields["email"] != 3334 || fields["roles"] != 3333 || fields["first_name"] != 3333 {
			t.Fatalf("fields %v", fields)
		}
		assertUnchanged(t, before, takeSnapshot(t, st, []string{"org_a"}, []string{"user0@example.com"}))
	})
}

func TestBulkFileLimits(t *testing.T) {
	st := openSQLite(t)
	e := newEnv(t, st, nil)
	e.Org(t, "org_a")
	emails := []string{"user0@example.com", "user1@example.com"}
	before := takeSnapshot(t, st, []string{"org_a"}, emails)
	ctx := context.Background()
	goodRow := func(i int) string { return fmt.Sprintf("user%d@example.com,First,Last,member\n", i) }

	t.Run("50 MB over the default limit", func(t *testing.T) {
		// About 50 MB of valid rows, generated while read. (With the
		// default row limit the 100,001st row would stop it first.)
		src := &rowSource{Header: "email,first_name,last_name,roles\n", N: 50 << 20 / 40, Row: goodRow}
		rep, err := e.Svc.BulkInvite(ctx, "org_a", src, invite.BulkOptions{MaxRows: -1})
		if !errors.Is(err, invite.ErrBulkTooLarge) || rep != nil {
			t.Fatalf("err = %v, report %v", err, rep != nil)
		}
		status, code, field, msg := describe(err)
		if status != http.StatusRequestEntityTooLarge || code != "too_large" || field != "file" || msg != "the file is larger than the limit of 32 MiB" {
			t.Fatalf("described as %d %s %s %q", status, code, field, msg)
		}
		if src.Produced()*40 > 40<<20 {
			t.Fatalf("read %d rows past the limit", src.Produced())
		}
	})
	t.Run("configured byte limit", func(t *testing.T) {
		src := &rowSource{Header: "email\n", N: 1000, Row: goodRow}
		_, err := e.Svc.BulkInvite(ctx, "org_a", src, invite.BulkOptions{MaxBytes: 10 << 10})
		if !errors.Is(err, invite.ErrBulkTooLarge) || !strings.Contains(err.Error(), "10240 bytes") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("row limit", func(t *testing.T) {
		src := &rowSource{Header: "email,first_name,last_name,roles\n", N: 11, Row: goodRow}
		_, err := e.Svc.BulkInvite(ctx, "org_a", src, invite.BulkOptions{MaxRows: 10, BatchSize: 2})
		if !errors.Is(err, invite.ErrBulkTooManyRows) {
			t.Fatalf("err = %v", err)
		}
		if _, code, _, msg := describe(err); code != "too_many_rows" || !strings.Contains(msg, "10 rows") {
			t.Fatalf("described as %s %q", code, msg)
		}
	})
	t.Run("unknown column", func(t *testing.T) {
		_, err := e.Svc.BulkInvite(ctx, "org_a", strings.NewReader("email,favourite_colour\na@example.com,red\n"), invite.BulkOptions{})
		var he *csvimport.HeaderError
		if !errors.Is(err, invite.ErrBulkBadHeader) || !errors.As(err, &he) || he.Column != "favourite_colour" {
			t.Fatalf("err = %v", err)
		}
		status, code, field, msg := describe(err)
		if status != 422 || code != "bad_header" || field != "favourite_colour" || !strings.Contains(msg, `"favourite_colour": unknown column`) {
			t.Fatalf("described as %d %s %s %q", status, code, field, msg)
		}
	})
	t.Run("bad format and options", func(t *testing.T) {
		_, err := e.Svc.BulkInvite(ctx, "org_a", strings.NewReader("email\n"), invite.BulkOptions{Format: "xlsx"})
		if !errors.Is(err, invite.ErrBulkBadFormat) {
			t.Fatalf("err = %v", err)
		}
		_, err = e.Svc.BulkInvite(ctx, "org_a", strings.NewReader("email\n"), invite.BulkOptions{BatchSize: -1})
		assertFieldError(t, err, invite.CodeInvalidArgument, "batchSize")
	})
	t.Run("unknown org", func(t *testing.T) {
		_, err := e.Svc.BulkInvite(ctx, "org_nope", strings.NewReader("email\na@example.com\n"), invite.BulkOptions{})
		if !errors.Is(err, invite.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	assertUnchanged(t, before, takeSnapshot(t, st, []string{"org_a"}, emails))
}

// A limit hit late in the file writes nothing: the whole input is checked
// before the first batch.
func TestBulkLimitLateInFileWritesNothing(t *testing.T) {
	st := openSQLite(t)
	e := newEnv(t, st, nil)
	e.Org(t, "org_a")
	before := takeSnapshot(t, st, []string{"org_a"}, []string{"user0@example.com"})
	in := "email\n" + strings.Repeat("", 0)
	for i := range 50 {
		in += fmt.Sprintf("user%d@example.com\n", i)
	}
	in += "\"" + strings.Repeat("x", 70<<10) + "\"\n" // a 70 KiB row at the end
	_, err := e.Svc.BulkInvite(context.Background(), "org_a", io.MultiReader(strings.NewReader(in)), invite.BulkOptions{BatchSize: 10})
	if !errors.Is(err, invite.ErrBulkRecordTooLarge) {
		t.Fatalf("err = %v", err)
	}
	assertUnchanged(t, before, takeSnapshot(t, st, []string{"org_a"}, []string{"user0@example.com"}))
}

func TestBulkProgressAndCancel(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	e.Org(t, "org_a")
	src := &rowSource{Header: "email\n", N: 100, Row: func(i int) string { return fmt.Sprintf("p%d@example.com\n", i) }}
	var got []invite.BulkProgress
	rep, err := e.Svc.BulkInvite(context.Background(), "org_a", src, invite.BulkOptions{BatchSize: 30, Progress: func(p invite.BulkProgress) {
		got = append(got, p)
	}})
	if err != nil {
		t.Fatal(err)
	}
	rows := []int{}
	for _, p := range got {
		rows = append(rows, p.Rows)
		if p.TotalRows != 100 {
			t.Fatalf("progress %+v", p)
		}
	}
	if fmt.Sprint(rows) != "[0 30 60 90 100 100]" || got[len(got)-1].Phase != invite.BulkPhaseDone || got[len(got)-1].Summary != rep.Summary {
		t.Fatalf("progress rows %v, last %+v", rows, got[len(got)-1])
	}

	// Canceling between batches keeps the finished batches and reports the error.
	ctx, cancel := context.WithCancel(context.Background())
	src = &rowSource{Header: "email\n", N: 100, Row: func(i int) string { return fmt.Sprintf("q%d@example.com\n", i) }}
	rep, err = e.Svc.BulkInvite(ctx, "org_a", src, invite.BulkOptions{BatchSize: 30, Progress: func(p invite.BulkProgress) {
		if p.Rows >= 30 {
			cancel()
		}
	}})
	// The batch in flight when the context ended (the second: no batch
	// starts after it) may or may not have been written (created, or
	// failed: not written); the report says which.
	if !errors.Is(err, context.Canceled) || rep == nil || (rep.Summary.Created != 30 && rep.Summary.Created != 60) ||
		rep.Summary.Created+rep.Summary.Failed != len(invitetest.Results(t, rep)) || len(invitetest.Results(t, rep)) > 60 {
		t.Fatalf("err %v, report %+v", err, rep.Summary)
	}
	checkSummary(t, rep)
	page, err := e.Svc.ListMembers(context.Background(), "org_a", store.ListOptions{Query: "q", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Members) != rep.Summary.Created {
		t.Fatalf("%d members written, report says %d", len(page.Members), rep.Summary.Created)
	}
}

func TestBulkReportExport(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	rep := bulk(t, e, "org_a", "email,first_name\n=cmd@example.com,A\n\"@SUM(1)\",B\nok@example.com,C\n", invite.BulkOptions{})

	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "row,line,email,status,membership_status,user_id,code,field,reason" || len(recs) != 4 {
		t.Fatalf("csv %v", recs)
	}
	if recs[1][2] != "'=cmd@example.com" || recs[1][3] != "created" || recs[1][5] == "" {
		t.Fatalf("row 1 %v", recs[1])
	}
	if recs[2][2] != "'@SUM(1)" || recs[2][3] != "invalid" || recs[2][7] != "email" {
		t.Fatalf("row 2 %v", recs[2])
	}

	buf.Reset()
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back invite.BulkReport
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.Summary != rep.Summary || len(invitetest.Results(t, &back)) != 3 || invitetest.Results(t, &back)[2] != invitetest.Results(t, rep)[2] || back.OrganizationID != "org_a" {
		t.Fatalf("round trip %+v", back)
	}
	var raw map[string]any
	b, _ := json.Marshal(rep)
	json.Unmarshal(b, &raw)
	for _, k := range []string{"organizationId", "dryRun", "format", "summary", "results", "startTime", "endTime"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("key %s missing in %v", k, raw)
		}
	}
}

// FuzzBulkCSV runs arbitrary CSV files through a dry run: no panic, the
// summary adds up, nothing is written.
func FuzzBulkCSV(f *testing.F) {
	f.Add(mixedCSV)
	f.Add("email\na@example.com\na@example.com\n")
	f.Add("email,roles,metadata.key\n\"x\"\"@y.z\",admin;;,v\n")
	f.Add("email,external_id\na@example.com,e\nb@example.com,e\n")
	st := memstore.New()
	e := newEnv(f, st, nil)
	e.Org(f, "org_a")
	e.Invite(f, "org_a", "a@example.com")
	before := takeSnapshot(f, st, []string{"org_a"}, nil)
	f.Fuzz(func(t *testing.T, in string) {
		rep, err := e.Svc.BulkInvite(context.Background(), "org_a", strings.NewReader(in), invite.BulkOptions{DryRun: true, MaxBytes: 1 << 16, MaxRows: 200, BatchSize: 7})
		if err != nil {
			if status, _, _, _ := describe(err); status >= 500 {
				t.Fatalf("server error for bad input: %v", err)
			}
			return
		}
		checkSummary(t, rep)
		for _, r := range invitetest.Results(t, rep) {
			if r.Status == invite.BulkCreated {
				if _, err := invite.NormalizeEmail(r.Email); err != nil {
					t.Fatalf("created row with bad email %q", r.Email)
				}
			}
		}
		assertUnchanged(t, before, takeSnapshot(t, st, []string{"org_a"}, nil))
	})
}
