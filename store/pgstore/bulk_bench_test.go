package pgstore_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/invite"
)

// BenchmarkBulkVsCopyFrom: a bulk import through invite.Service beside
// the CopyFrom floor of the same rows, interleaved in one loop (the order
// alternating) so that both see the same machine. Each iteration imports
// bulkVsCopyInvites CSV rows (user, membership, invitation, queued mail,
// event: 5 table rows each) into the organization, and the floor writes
// as many invites' 5 rows with pgx.CopyFrom into the same tables (with
// their indexes), one transaction per 1,000 invites like the kit's
// batches, nothing computed. A third side is the bare floor of
// BenchmarkCopyFloor5000 (the same number of rows into a table of 4
// columns with only a primary key, 5,000 rows a transaction). It reports
// the three rows/s and the medians of the per-iteration ratios kit ÷ floor
// and kit ÷ bare (floor time ÷ kit time: above 1 the kit is faster).
//
//	INVITEKIT_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench BulkVsCopyFrom -benchtime 10x -count 3 ./store/pgstore/
func BenchmarkBulkVsCopyFrom(b *testing.B) {
	ctx := context.Background()
	svc, pool, schema := benchService(ctx, b)
	kit := func(i int) time.Duration {
		src := csvRows(fmt.Sprintf("k%d-", i), bulkVsCopyInvites)
		start := time.Now()
		rep, err := svc.BulkInvite(ctx, "org_bench", src, invite.BulkOptions{MaxRows: bulkVsCopyInvites})
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Summary.Created != bulkVsCopyInvites {
			b.Fatalf("summary %+v", rep.Summary)
		}
		rep.Close()
		return d
	}
	floor := func(i int) time.Duration {
		start := time.Now()
		for lo := 0; lo < bulkVsCopyInvites; lo += 1000 {
			if err := copyInvites(ctx, pool, schema, fmt.Sprintf("f%d-", i), lo, min(lo+1000, bulkVsCopyInvites)); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	bare := pgx.Identifier{schema, "copy_floor"}
	if _, err := pool.Exec(ctx, `CREATE TABLE `+bare.Sanitize()+` (id bigint PRIMARY KEY, a text, b text, t timestamptz)`); err != nil {
		b.Fatal(err)
	}
	next := int64(0)
	bareFloor := func() time.Duration {
		start := time.Now()
		for range bulkVsCopyInvites / 1000 {
			if err := copyBare(ctx, pool, bare, &next, 5000); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	var kitT, floorT, bareT time.Duration
	var ratios, bareRatios []float64
	for i := 0; b.Loop(); i++ {
		var k, f, r time.Duration
		if i%2 == 0 {
			k, f, r = kit(i), floor(i), bareFloor()
		} else {
			r, f, k = bareFloor(), floor(i), kit(i)
		}
		kitT, floorT, bareT = kitT+k, floorT+f, bareT+r
		ratios = append(ratios, f.Seconds()/k.Seconds())
		bareRatios = append(bareRatios, r.Seconds()/k.Seconds())
	}
	rows := float64(5 * bulkVsCopyInvites * b.N)
	b.ReportMetric(rows/kitT.Seconds(), "kit-rows/s")
	b.ReportMetric(rows/floorT.Seconds(), "floor-rows/s")
	b.ReportMetric(rows/bareT.Seconds(), "bare-rows/s")
	slices.Sort(ratios)
	slices.Sort(bareRatios)
	b.ReportMetric(ratios[len(ratios)/2], "kit÷floor")
	b.ReportMetric(bareRatios[len(bareRatios)/2], "kit÷bare")
}

// copyBare is BenchmarkCopyFloor5000's transaction: n rows of 4 columns
// (primary key only) with one CopyFrom.
func copyBare(ctx context.Context, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}, table pgx.Identifier, next *int64, n int) error {
	now := time.Now()
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	i := 0
	if _, err := tx.CopyFrom(ctx, table, []string{"id", "a", "b", "t"}, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		*next++
		return []any{*next, "usr_0123456789abcdefghjkmnpqrs", "someone@example.com", now}, nil
	})); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// bulkVsCopyInvites is the invites of one side of one iteration.
const bulkVsCopyInvites = 20_000

// csvRows is n CSV invites (email, names, role, one metadata key).
func csvRows(prefix string, n int) io.Reader {
	var sb strings.Builder
	sb.WriteString("email,first_name,last_name,roles,metadata.dept\n")
	for i := range n {
		fmt.Fprintf(&sb, "%s%06d@example.com,First%d,Last%d,member,Sales\n", prefix, i, i, i)
	}
	return strings.NewReader(sb.String())
}

// copyInvites writes invites [lo, hi) of prefix as the kit would (user,
// pending membership, invitation, queued mail, event) with one CopyFrom
// per table in one transaction.
func copyInvites(ctx context.Context, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}, schema, prefix string, lo, hi int) error {
	now := time.Now().UTC()
	exp := now.Add(15 * 24 * time.Hour)
	sealed := make([]byte, 220) // a sealed accept link's size
	hash := make([]byte, 32)
	n := hi - lo
	users, members, invs, outbox, events := make([][]any, 0, n), make([][]any, 0, n), make([][]any, 0, n), make([][]any, 0, n), make([][]any, 0, n)
	for i := lo; i < hi; i++ {
		user, email := fmt.Sprintf("usr_%s%d", prefix, i), fmt.Sprintf("%s%06d@example.com", prefix, i)
		first, last := fmt.Sprint("First", i), fmt.Sprint("Last", i)
		users = append(users, []any{user, email, first, last, now, now})
		members = append(members, []any{"org_bench", user, "PENDING_INVITE", `["member"]`, `{"dept":"Sales"}`, exp, now, now, first, last})
		invs = append(invs, []any{"inv_" + prefix + fmt.Sprint(i), "org_bench", user, email, hash, now, exp})
		outbox = append(outbox, []any{"out_" + prefix + fmt.Sprint(i), "org_bench", "invitation", email,
			`{"org_name":"Bench","invitation_id":"x","locale":"en"}`, sealed, "QUEUED", now, now, now})
		events = append(events, []any{"evt_" + prefix + fmt.Sprint(i), "org_bench", "membership.invited", user, `{"email":"x","source":"bulk"}`, now})
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"users", []string{"id", "email", "first_name", "last_name", "create_time", "update_time"}, users},
		{"memberships", []string{"org_id", "user_id", "status", "roles", "metadata", "invite_expire_time", "join_time", "update_time", "first_name", "last_name"}, members},
		{"invitations", []string{"id", "org_id", "user_id", "email", "verifier_hash", "create_time", "expire_time"}, invs},
		{"outbox", []string{"id", "org_id", "kind", "to_addr", "data", "sealed", "status", "next_attempt_time", "lease_until", "create_time"}, outbox},
		{"events", []string{"id", "org_id", "type", "user_id", "data", "create_time"}, events},
	} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{schema, t.table}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("%s: %w", t.table, err)
		}
	}
	return tx.Commit(ctx)
}
