package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/storetest"
)

// BenchmarkServiceVsRaw: one invite and one accept through invite.Service
// beside a raw floor of the same rows, interleaved in one loop (so that
// both see the same machine), reporting the medians and the median of the
// per-pair ratio. The floor writes the rows the Service writes, as one
// pipelined batch (one round trip, one implicit transaction) with nothing
// computed: invite = user, membership, invitation, outbox, event; accept =
// spend, activate, identity, user (verified, last login), two events.
//
//	INVITEKIT_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench ServiceVsRaw -benchtime 2000x -count 3 ./store/pgstore/
func BenchmarkServiceVsRaw(b *testing.B) {
	ctx := context.Background()
	storetest.BenchKitVsRaw(b, func(b *testing.B) storetest.KitVsRaw {
		svc, pool, schema := benchService(ctx, b)
		raw := &benchRaw{pool: pool, s: schema, now: time.Now().UTC()}
		return kitVsRaw(ctx, svc, raw.invite, raw.accept)
	})
}

// benchService returns a Service on a pgstore in a fresh schema with the
// organization "org_bench", and the pool and schema beneath it (for the
// raw floors written beside it).
func benchService(ctx context.Context, b *testing.B) (*invite.Service, *pgxpool.Pool, string) {
	schema := freshSchema(b)
	pool := newPool(b)
	st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := invite.New(st, invite.Config{
		Roles: []string{"admin", "member"}, SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		AcceptURL: "https://app.example.com/invite/accept",
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_bench", Name: "Bench"}); err != nil {
		b.Fatal(err)
	}
	return svc, pool, schema
}

// benchRaw writes the floor's rows straight into the store's tables.
type benchRaw struct {
	pool *pgxpool.Pool
	s    string
	now  time.Time
}

func (r *benchRaw) q(sql string) string { return fmt.Sprintf(sql, r.s) }

func (r *benchRaw) ids(i int) (user, inv string) {
	return fmt.Sprintf("usr_raw%d", i), fmt.Sprintf("inv_raw%d", i)
}

func (r *benchRaw) invite(ctx context.Context, i int) error {
	user, inv := r.ids(i)
	email := fmt.Sprintf("raw%d@example.com", i)
	now, exp := r.now, r.now.Add(15*24*time.Hour)
	sealed := make([]byte, 220) // a sealed accept link's size
	b := &pgx.Batch{}
	b.Queue(r.q(`INSERT INTO %s.users (id, email, first_name, last_name, create_time, update_time) VALUES ($1, $2, 'Ann', 'Lee', $3, $3)`), user, email, now)
	b.Queue(r.q(`INSERT INTO %s.memberships (org_id, user_id, status, roles, metadata, invite_expire_time, join_time, update_time, first_name, last_name)
		VALUES ('org_bench', $1, 'PENDING_INVITE', '["member"]', '{"plan":"free"}', $2, $3, $3, 'Ann', 'Lee')`), user, exp, now)
	b.Queue(r.q(`INSERT INTO %s.invitations (id, org_id, user_id, email, verifier_hash, create_time, expire_time) VALUES ($1, 'org_bench', $2, $3, $4, $5, $6)`),
		inv, user, email, make([]byte, 32), now, exp)
	b.Queue(r.q(`INSERT INTO %s.outbox (id, org_id, kind, to_addr, data, sealed, status, next_attempt_time, lease_until, create_time)
		VALUES ($1, 'org_bench', 'invitation', $2, '{"org_name":"Bench","invitation_id":"x","locale":"en"}', $3, 'QUEUED', $4, $4, $4)`),
		"out_raw"+fmt.Sprint(i), email, sealed, now)
	b.Queue(r.q(`INSERT INTO %s.events (id, org_id, type, user_id, data, create_time) VALUES ($1, 'org_bench', 'membership.invited', $2, '{"email":"x"}', $3)`),
		"evt_rawi"+fmt.Sprint(i), user, now)
	return r.pool.SendBatch(ctx, b).Close()
}

func (r *benchRaw) accept(ctx context.Context, i int) error {
	user, inv := r.ids(i)
	now := r.now.Add(time.Minute)
	b := &pgx.Batch{}
	b.Queue(r.q(`UPDATE %s.invitations SET spend_time = $2 WHERE id = $1 AND spend_time IS NULL`), inv, now)
	b.Queue(r.q(`UPDATE %s.memberships SET status = 'ACTIVE', update_time = $2, last_login = $2 WHERE org_id = 'org_bench' AND user_id = $1 AND status = 'PENDING_INVITE'`), user, now)
	b.Queue(r.q(`INSERT INTO %s.identities (issuer, subject, user_id, email, create_time) VALUES ('https://idp.example.com', $1, $2, '', $3)`), "raw-"+user, user, now)
	b.Queue(r.q(`UPDATE %s.users SET email_verified = true, last_login = $2 WHERE id = $1`), user, now)
	b.Queue(r.q(`INSERT INTO %s.events (id, org_id, type, user_id, data, create_time) VALUES ($1, 'org_bench', 'membership.accepted', $2, '{}', $3), ($4, 'org_bench', 'user.logged_in', $2, '{}', $3)`),
		"evt_rawa"+fmt.Sprint(i), user, now, "evt_rawl"+fmt.Sprint(i))
	return r.pool.SendBatch(ctx, b).Close()
}

// kitVsRaw is person i's invite and accept through svc, beside the floor.
func kitVsRaw(ctx context.Context, svc *invite.Service, rawInvite, rawAccept func(context.Context, int) error) storetest.KitVsRaw {
	return storetest.KitVsRaw{
		Invite: func(i int) (string, error) {
			res, err := svc.CreateUserAndMembership(ctx, "org_bench", invite.InviteRequest{
				Email: fmt.Sprintf("svc%d@example.com", i), Roles: []string{"member"}, ReturnAcceptLink: true,
				UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee"}, Metadata: map[string]string{"plan": "free"},
			})
			if err != nil {
				return "", err
			}
			return invite.TokenFromLink(res.AcceptLink), nil
		},
		Accept: func(i int, token string) error {
			_, err := svc.AcceptInvitation(ctx, token, invite.AcceptIdentity{Issuer: "https://idp.example.com",
				Subject: fmt.Sprintf("sub-%d", i), Email: fmt.Sprintf("svc%d@example.com", i), EmailVerified: true})
			return err
		},
		RawInvite: func(i int) error { return rawInvite(ctx, i) },
		RawAccept: func(i int) error { return rawAccept(ctx, i) },
	}
}
