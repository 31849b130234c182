package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/storetest"
)

// BenchmarkResendRevokeVsRaw: one resend and one revoke through
// invite.Service beside a raw floor of the same writes, in turns (see
// storetest.Pairs), each on b.N people invited through the Service before
// the timer (the floor gets its own b.N, and their ids). The floor is one
// pipelined batch with nothing read or computed: resend = the invitation's
// verifier and expiry, the membership's expiry, the reminder mail and the
// event; revoke = the invitations revoked, the membership deleted, the
// event.
//
//	INVITEKIT_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench ResendRevokeVsRaw -benchtime 300x -count 3 ./store/pgstore/
func BenchmarkResendRevokeVsRaw(b *testing.B) {
	ctx := context.Background()
	type person struct{ user, inv string }
	setup := func(b *testing.B) (*invite.Service, *benchRaw, []person, []person) {
		svc, pool, schema := benchService(ctx, b)
		raw := &benchRaw{pool: pool, s: schema, now: time.Now().UTC()}
		invited := func(prefix string) []person {
			out := make([]person, b.N)
			for i := range b.N {
				res, err := svc.CreateUserAndMembership(ctx, "org_bench", invite.InviteRequest{
					Email: fmt.Sprintf("%s%d@example.com", prefix, i), Roles: []string{"member"}, ReturnAcceptLink: true,
					UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee"},
				})
				if err != nil {
					b.Fatal(err)
				}
				inv, _, _ := strings.Cut(invite.TokenFromLink(res.AcceptLink), ".")
				out[i] = person{res.User.ID, inv}
			}
			return out
		}
		return svc, raw, invited("kit"), invited("raw")
	}
	run := func(b *testing.B, kit func(svc *invite.Service, p person) error, floor func(r *benchRaw, i int, p person) error) {
		svc, raw, kits, raws := setup(b)
		storetest.RunPairs(b, func(i int) error { return kit(svc, kits[i]) }, func(i int) error { return floor(raw, i, raws[i]) })
	}
	b.Run("resend", func(b *testing.B) {
		run(b, func(svc *invite.Service, p person) error {
			_, err := svc.ResendInvitation(ctx, "org_bench", p.user, "")
			return err
		}, func(r *benchRaw, i int, p person) error {
			now, exp := r.now, r.now.Add(15*24*time.Hour)
			bt := &pgx.Batch{}
			bt.Queue(r.q(`UPDATE %s.invitations SET verifier_hash = $2, expire_time = $3 WHERE id = $1`), p.inv, make([]byte, 32), exp)
			bt.Queue(r.q(`UPDATE %s.memberships SET invite_expire_time = $2, update_time = $3 WHERE org_id = 'org_bench' AND user_id = $1`), p.user, exp, now)
			bt.Queue(r.q(`INSERT INTO %s.outbox (id, org_id, kind, to_addr, data, sealed, status, next_attempt_time, lease_until, create_time)
				VALUES ($1, 'org_bench', 'reminder', $2, '{"org_name":"Bench","invitation_id":"x","locale":"en"}', $3, 'QUEUED', $4, $4, $4)`),
				fmt.Sprint("out_rawr", i), fmt.Sprintf("raw%d@example.com", i), make([]byte, 220), now)
			bt.Queue(r.q(`INSERT INTO %s.events (id, org_id, type, user_id, data, create_time) VALUES ($1, 'org_bench', 'invitation.resent', $2, '{"email":"x"}', $3)`),
				fmt.Sprint("evt_rawr", i), p.user, now)
			return r.pool.SendBatch(ctx, bt).Close()
		})
	})
	b.Run("revoke", func(b *testing.B) {
		run(b, func(svc *invite.Service, p person) error {
			return svc.RevokeInvitation(ctx, "org_bench", p.user, "")
		}, func(r *benchRaw, i int, p person) error {
			bt := &pgx.Batch{}
			bt.Queue(r.q(`UPDATE %s.invitations SET revoke_time = $2 WHERE org_id = 'org_bench' AND user_id = $1 AND spend_time IS NULL AND revoke_time IS NULL`), p.user, r.now)
			bt.Queue(r.q(`DELETE FROM %s.memberships WHERE org_id = 'org_bench' AND user_id = $1`), p.user)
			bt.Queue(r.q(`INSERT INTO %s.events (id, org_id, type, user_id, data, create_time) VALUES ($1, 'org_bench', 'membership.revoked', $2, '{"email":"x"}', $3)`),
				fmt.Sprint("evt_rawv", i), p.user, r.now)
			return r.pool.SendBatch(ctx, bt).Close()
		})
	})
}
