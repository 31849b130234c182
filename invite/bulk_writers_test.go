package invite_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

// writersCSV is 300 rows: every tenth (i%10 == 3) has a bad email, every
// tenth (i%10 == 7) repeats the previous row's email, the rest are new.
func writersCSV(prefix string) string {
	var b strings.Builder
	b.WriteString("email,first_name\n")
	for i := range 300 {
		switch i % 10 {
		case 3:
			fmt.Fprintf(&b, "not-an-email-%d,Bad\n", i)
		case 7:
			fmt.Fprintf(&b, "%s%d@example.com,Dup\n", prefix, i-1)
		default:
			fmt.Fprintf(&b, "%s%d@example.com,Row%d\n", prefix, i, i)
		}
	}
	return b.String()
}

// TestBulkConcurrentWriters imports the same file with one writer and with
// four (batches of 20, so up to four transactions at once) and with some
// rows already invited: the reports must agree row for row, and the store
// must hold exactly what they report, with one event and one mail per
// created row and the events in order.
func TestBulkConcurrentWriters(t *testing.T) {
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		reports := map[int]*invite.BulkReport{}
		for _, writers := range []int{1, 4} {
			org := fmt.Sprintf("org_w%d", writers)
			e.Org(t, org)
			// Rows 0–49 are invited first: the big import reports them unchanged.
			pre := bulk(t, e, org, strings.Join(strings.SplitAfter(writersCSV("u"), "\n")[:51], ""), invite.BulkOptions{Writers: 1})
			rep := bulk(t, e, org, writersCSV("u"), invite.BulkOptions{BatchSize: 20, Writers: writers})
			reports[writers] = rep
			results := invitetest.Results(t, rep)
			if len(results) != 300 {
				t.Fatalf("writers %d: %d results", writers, len(results))
			}
			for i, r := range results {
				want := invite.BulkCreated
				switch {
				case i%10 == 3:
					want = invite.BulkInvalid
				case i%10 == 7:
					want = invite.BulkDuplicateInFile
				case i < 50:
					want = invite.BulkAlreadyMember
				}
				if r.Status != want {
					t.Fatalf("writers %d: row %d is %s, want %s (%+v)", writers, r.Row, r.Status, want, r)
				}
			}
			created := pre.Summary.Created + rep.Summary.Created
			if rep.Summary.Created != 200 || pre.Summary.Created != 40 {
				t.Fatalf("writers %d: created %d then %d", writers, pre.Summary.Created, rep.Summary.Created)
			}
			page, err := e.Svc.ListMembers(ctx, org, store.ListOptions{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Members) != created {
				t.Fatalf("writers %d: %d members, reports say %d", writers, len(page.Members), created)
			}
			for _, r := range results {
				if r.Status != invite.BulkCreated {
					continue
				}
				m, err := e.Svc.GetMember(ctx, org, invite.UserRef{Email: r.Email})
				if err != nil || m.User.ID != r.UserID || m.Membership.Status != store.StatusPendingInvite {
					t.Fatalf("writers %d: row %d (%s): member %+v, %v", writers, r.Row, r.Email, m, err)
				}
			}
			evs := e.Events(t, org)
			invited := 0
			for i, ev := range evs {
				if i > 0 && ev.Seq <= evs[i-1].Seq {
					t.Fatalf("writers %d: event %d has seq %d after %d", writers, i, ev.Seq, evs[i-1].Seq)
				}
				if ev.Type == store.EventMembershipInvited {
					invited++
				}
			}
			if invited != created {
				t.Fatalf("writers %d: %d invited events, %d created", writers, invited, created)
			}
			if n := len(e.Queued(t, org)); n != created {
				t.Fatalf("writers %d: %d queued mails, %d created", writers, n, created)
			}
		}
		for i := range invitetest.Results(t, reports[1]) {
			a, b := invitetest.Results(t, reports[1])[i], invitetest.Results(t, reports[4])[i]
			if a.Row != b.Row || a.Status != b.Status || a.Code != b.Code || a.Field != b.Field || a.Reason != b.Reason {
				t.Fatalf("row %d: one writer %+v, four %+v", a.Row, a, b)
			}
		}
	})
}

// failSecondBatch fails the batch that starts with failEmail, after the
// batch that starts with afterEmail was written.
type failSecondBatch struct {
	store.Store
	bc                    store.BatchCreator
	failEmail, afterEmail string
	afterDone             chan struct{}
}

// errInjected is a lost connection: the store cannot be reached, so the
// import stops (a batch refused for another reason is decided row by row:
// see TestBulkBatchRefusedRowByRow).
var errInjected = fmt.Errorf("injected batch failure: %w", driver.ErrBadConn)

func (f *failSecondBatch) CreateMemberships(ctx context.Context, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	switch ps[0].User.Email {
	case f.failEmail:
		<-f.afterDone
		return nil, errInjected
	case f.afterEmail:
		defer close(f.afterDone)
	}
	return f.bc.CreateMemberships(ctx, ps)
}

// TestBulkWriterFailureKeepsLaterBatches: when a batch fails while later
// ones are in flight, the import stops, and the report still tells the
// truth about every batch that was written after the failed one.
func TestBulkWriterFailureKeepsLaterBatches(t *testing.T) {
	forEachBulkStore(t, func(t *testing.T, st store.Store) {
		bc, ok := st.(store.BatchCreator)
		if !ok {
			t.Skip("store has no batch writes")
		}
		ctx := context.Background()
		fs := &failSecondBatch{Store: st, bc: bc, failEmail: "f10@example.com", afterEmail: "f20@example.com", afterDone: make(chan struct{})}
		e := newEnv(t, fs, nil)
		e.Org(t, "org_f")
		src := &rowSource{Header: "email\n", N: 50, Row: func(i int) string { return fmt.Sprintf("f%d@example.com\n", i) }}
		rep, err := e.Svc.BulkInvite(ctx, "org_f", src, invite.BulkOptions{BatchSize: 10, Writers: 3})
		if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "rows 11–20") {
			t.Fatalf("err = %v", err)
		}
		checkSummary(t, rep)
		// Batches 1–3 were in flight together; batch 4 started once batch 1
		// was done; batch 2's failure was seen before batch 5 started.
		want := invite.BulkSummary{Rows: 40, Created: 30, Failed: 10}
		if rep.Summary != want {
			t.Fatalf("summary %+v, want %+v", rep.Summary, want)
		}
		for i, r := range invitetest.Results(t, rep) {
			if (i >= 10 && i < 20) != (r.Status == invite.BulkFailed) {
				t.Fatalf("row %d: %+v", r.Row, r)
			}
		}
		page, err := e.Svc.ListMembers(ctx, "org_f", store.ListOptions{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Members) != rep.Summary.Created {
			t.Fatalf("%d members, report says %d created", len(page.Members), rep.Summary.Created)
		}
	})
}

func TestBulkWritersOption(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	e.Org(t, "org_o")
	for _, n := range []int{-1, invite.MaxBulkWriters + 1} {
		_, err := e.Svc.BulkInvite(context.Background(), "org_o", strings.NewReader("email\na@example.com\n"), invite.BulkOptions{Writers: n})
		var fe *invite.FieldError
		if !errors.As(err, &fe) || fe.Field != "writers" {
			t.Fatalf("Writers %d: err = %v", n, err)
		}
	}
	page, err := e.Svc.ListMembers(context.Background(), "org_o", store.ListOptions{})
	if err != nil || len(page.Members) != 0 {
		t.Fatalf("members %d, %v", len(page.Members), err)
	}
}
