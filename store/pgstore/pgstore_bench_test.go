package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/storetest"
)

// Benchmarks against the real PostgreSQL (INVITEKIT_POSTGRES_DSN), each on
// a fresh schema:
//
//	INVITEKIT_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench . -benchmem -count 3 ./store/pgstore/

// BenchmarkCreateMembership: one invite (new user, pending membership,
// invitation, queued mail, event) per operation.
func BenchmarkCreateMembership(b *testing.B) {
	st := newStore(b)
	ctx := context.Background()
	now := time.Now()
	org := storetest.NewOrg(b, st, now)
	i := 0
	for b.Loop() {
		i++
		if _, err := st.CreateMembership(ctx, storetest.InviteParams(org.ID, fmt.Sprintf("b%d@example.com", i), now)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAcceptInvitation: spend an invitation, link the identity, mark
// the email verified, activate the membership, append the event.
func BenchmarkAcceptInvitation(b *testing.B) {
	st := newStore(b)
	ctx := context.Background()
	now := time.Now()
	org := storetest.NewOrg(b, st, now)
	// Set up b.N invitations in batches (not timed).
	invs := make([]store.Invitation, 0, b.N)
	for len(invs) < b.N {
		var ps []store.CreateMembershipParams
		for range min(1000, b.N-len(invs)) {
			ps = append(ps, storetest.InviteParams(org.ID, store.NewID("a")+"@example.com", now))
		}
		res, err := st.CreateMemberships(ctx, ps)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			inv := *ps[i].Invitation
			inv.UserID = r.User.ID
			invs = append(invs, inv)
		}
	}
	at := now.Add(time.Minute)
	b.ResetTimer()
	for i := range b.N {
		inv := invs[i]
		_, err := st.AcceptInvitation(ctx, store.AcceptParams{
			InvitationID: inv.ID, Now: at,
			Identity:      store.Identity{Issuer: "https://idp.example", Subject: inv.ID, Email: inv.Email, CreateTime: at},
			EmailVerified: true, IdentityProvider: "OIDC",
			Event: store.Event{Type: store.EventMembershipAccepted, CreateTime: at},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetMembership is the per-request membership lookup (what
// middleware.RequireMember costs without its in-process cache).
func BenchmarkGetMembership(b *testing.B) {
	st := newStore(b)
	ctx := context.Background()
	now := time.Now()
	org := storetest.NewOrg(b, st, now)
	res, err := st.CreateMembership(ctx, storetest.AddParams(org.ID, "member@example.com", now))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.GetMembership(ctx, org.ID, res.User.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.GetMembership(ctx, org.ID, res.User.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkCreateMemberships1000: a bulk-import batch of 1,000 invites per
// operation (5 rows each: user, membership, invitation, mail, event).
func BenchmarkCreateMemberships1000(b *testing.B) {
	st := newStore(b)
	ctx := context.Background()
	now := time.Now()
	org := storetest.NewOrg(b, st, now)
	const size = 1000
	n := 0
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		ps := make([]store.CreateMembershipParams, size)
		for i := range ps {
			n++
			ps[i] = storetest.InviteParams(org.ID, fmt.Sprintf("bulk%d@example.com", n), now)
		}
		b.StartTimer()
		start := time.Now()
		res, err := st.CreateMemberships(ctx, ps)
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if res[size-1].Err != nil {
			b.Fatal(res[size-1].Err)
		}
	}
	invites := float64(n) / total.Seconds()
	b.ReportMetric(invites, "invites/s")
	b.ReportMetric(5*invites, "rows/s")
}

// BenchmarkCopyFloor5000 is the reference for BenchmarkCreateMemberships1000
// under the same machine load: a bare CopyFrom of 5,000 rows (4 columns,
// primary key only) in one transaction, the "raw insert floor" of
// DESIGN.md.
func BenchmarkCopyFloor5000(b *testing.B) {
	st := newStore(b)
	ctx := context.Background()
	table := pgx.Identifier{st.Schema(), "copy_floor"}
	if _, err := st.Pool().Exec(ctx, `CREATE TABLE `+table.Sanitize()+` (id bigint PRIMARY KEY, a text, b text, t timestamptz)`); err != nil {
		b.Fatal(err)
	}
	const rows = 5000
	now := time.Now()
	next := int64(0)
	var total time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
			i := 0
			_, err := tx.CopyFrom(ctx, table, []string{"id", "a", "b", "t"}, pgx.CopyFromFunc(func() ([]any, error) {
				if i == rows {
					return nil, nil
				}
				i++
				next++
				return []any{next, "usr_0123456789abcdefghjkmnpqrs", "someone@example.com", now}, nil
			}))
			return err
		})
		total += time.Since(start)
		n += rows
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/total.Seconds(), "rows/s")
}
