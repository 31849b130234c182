package sqlitestore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/storetest"
)

// BenchmarkResendRevokeVsRaw: one resend and one revoke through
// invite.Service beside a raw floor of the same writes, in turns (see
// storetest.Pairs), each on b.N people invited through the Service before
// the timer (the floor gets its own b.N, and their ids), as pgstore's. The
// floor is one transaction on its own connection (see
// BenchmarkServiceVsRaw) with nothing read or computed: resend = the
// invitation's verifier and expiry, the membership's expiry, the reminder
// mail and the event; revoke = the invitations revoked, the membership
// deleted, the event.
//
//	go test -run '^$' -bench ResendRevokeVsRaw -benchtime 300x -count 3 ./store/sqlitestore/
func BenchmarkResendRevokeVsRaw(b *testing.B) {
	ctx := context.Background()
	type person struct{ user, inv string }
	run := func(b *testing.B, kit func(svc *invite.Service, p person) error, floor func(r *sqliteRaw, i int, p person) error) {
		svc, raw := benchSetup(ctx, b)
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
		kits, raws := invited("kit"), invited("raw")
		storetest.RunPairs(b, func(i int) error { return kit(svc, kits[i]) }, func(i int) error { return floor(raw, i, raws[i]) })
	}
	b.Run("resend", func(b *testing.B) {
		run(b, func(svc *invite.Service, p person) error {
			_, err := svc.ResendInvitation(ctx, "org_bench", p.user, "")
			return err
		}, func(r *sqliteRaw, i int, p person) error {
			now, exp := r.now.UnixMicro(), r.now.Add(15*24*time.Hour).UnixMicro()
			return r.tx(ctx,
				[]any{`UPDATE invitations SET verifier_hash = ?, expire_time = ? WHERE id = ?`, make([]byte, 32), exp, p.inv},
				[]any{`UPDATE memberships SET invite_expire_time = ?, update_time = ? WHERE org_id = 'org_bench' AND user_id = ?`, exp, now, p.user},
				[]any{`INSERT INTO outbox (id, org_id, kind, to_addr, data, sealed, status, next_attempt_time, lease_until, create_time)
					VALUES (?, 'org_bench', 'reminder', ?, '{"org_name":"Bench","invitation_id":"x","locale":"en"}', ?, 'QUEUED', ?, ?, ?)`,
					fmt.Sprint("out_rawr", i), fmt.Sprintf("raw%d@example.com", i), make([]byte, 220), now, now, now},
				[]any{`INSERT INTO events (id, org_id, type, user_id, data, create_time) VALUES (?, 'org_bench', 'invitation.resent', ?, '{"email":"x"}', ?)`,
					fmt.Sprint("evt_rawr", i), p.user, now},
			)
		})
	})
	b.Run("revoke", func(b *testing.B) {
		run(b, func(svc *invite.Service, p person) error {
			return svc.RevokeInvitation(ctx, "org_bench", p.user, "")
		}, func(r *sqliteRaw, i int, p person) error {
			now := r.now.UnixMicro()
			return r.tx(ctx,
				[]any{`UPDATE invitations SET revoke_time = ? WHERE org_id = 'org_bench' AND user_id = ? AND spend_time IS NULL AND revoke_time IS NULL`, now, p.user},
				[]any{`DELETE FROM memberships WHERE org_id = 'org_bench' AND user_id = ?`, p.user},
				[]any{`INSERT INTO events (id, org_id, type, user_id, data, create_time) VALUES (?, 'org_bench', 'membership.revoked', ?, '{"email":"x"}', ?)`,
					fmt.Sprint("evt_rawv", i), p.user, now},
			)
		})
	})
}
