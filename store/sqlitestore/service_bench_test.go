package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/sqlitestore"
	"github.com/invitekit/invitekit/store/storetest"
)

// BenchmarkServiceVsRaw: one invite and one accept through invite.Service
// beside a raw floor of the same rows, interleaved in one loop (paired
// medians; see storetest.Pairs). The floor is one transaction on its own
// connection to the same database file (WAL, synchronous NORMAL, like the
// store's writer) with statements prepared once and nothing computed: invite =
// user, membership, invitation, outbox, event; accept = spend, activate,
// identity, user (verified, last login), two events.
//
//	go test -run '^$' -bench ServiceVsRaw -benchtime 2000x -count 3 ./store/sqlitestore/
func BenchmarkServiceVsRaw(b *testing.B) {
	ctx := context.Background()
	storetest.BenchKitVsRaw(b, func(b *testing.B) storetest.KitVsRaw {
		svc, raw := benchSetup(ctx, b)
		return kitVsRaw(ctx, svc, raw.invite, raw.accept)
	})
}

// benchSetup opens a store on a new file with a Service on it and the
// organization org_bench, and the floor's own connection to the file.
func benchSetup(ctx context.Context, b *testing.B) (*invite.Service, *sqliteRaw) {
	path := filepath.Join(b.TempDir(), "invitekit.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
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
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	return svc, &sqliteRaw{db: db, now: time.Now().UTC(), stmts: map[string]*sql.Stmt{}}
}

// sqliteRaw writes the floor's rows straight into the store's tables.
type sqliteRaw struct {
	db    *sql.DB
	now   time.Time
	stmts map[string]*sql.Stmt // prepared once, as the store's are
}

// tx runs the statements in one transaction.
func (r *sqliteRaw) tx(ctx context.Context, stmts ...[]any) error {
	for _, s := range stmts { // prepare first: the transaction holds the one connection
		if q := s[0].(string); r.stmts[q] == nil {
			st, err := r.db.PrepareContext(ctx, q)
			if err != nil {
				return err
			}
			r.stmts[q] = st
		}
	}
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := tx.StmtContext(ctx, r.stmts[s[0].(string)]).ExecContext(ctx, s[1:]...); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

func (r *sqliteRaw) invite(ctx context.Context, i int) error {
	user, inv, email := fmt.Sprintf("usr_raw%d", i), fmt.Sprintf("inv_raw%d", i), fmt.Sprintf("raw%d@example.com", i)
	now, exp := r.now.UnixMicro(), r.now.Add(15*24*time.Hour).UnixMicro()
	return r.tx(ctx,
		[]any{`INSERT INTO users (id, email, first_name, last_name, create_time, update_time) VALUES (?, ?, 'Ann', 'Lee', ?, ?)`, user, email, now, now},
		[]any{`INSERT INTO memberships (org_id, user_id, seq, status, roles, metadata, invite_expire_time, join_time, update_time, first_name, last_name)
			VALUES ('org_bench', ?, ?, 'PENDING_INVITE', '["member"]', '{"plan":"free"}', ?, ?, ?, 'Ann', 'Lee')`, user, 1_000_000_000 + i, exp, now, now},
		[]any{`INSERT INTO invitations (id, org_id, user_id, email, verifier_hash, create_time, expire_time) VALUES (?, 'org_bench', ?, ?, ?, ?, ?)`,
			inv, user, email, make([]byte, 32), now, exp},
		[]any{`INSERT INTO outbox (id, org_id, kind, to_addr, data, sealed, status, next_attempt_time, lease_until, create_time)
			VALUES (?, 'org_bench', 'invitation', ?, '{"org_name":"Bench","invitation_id":"x","locale":"en"}', ?, 'QUEUED', ?, ?, ?)`,
			"out_raw" + fmt.Sprint(i), email, make([]byte, 220), now, now, now},
		[]any{`INSERT INTO events (id, org_id, type, user_id, data, create_time) VALUES (?, 'org_bench', 'membership.invited', ?, '{"email":"x"}', ?)`,
			"evt_rawi" + fmt.Sprint(i), user, now},
	)
}

func (r *sqliteRaw) accept(ctx context.Context, i int) error {
	user, inv := fmt.Sprintf("usr_raw%d", i), fmt.Sprintf("inv_raw%d", i)
	now := r.now.Add(time.Minute).UnixMicro()
	return r.tx(ctx,
		[]any{`UPDATE invitations SET spend_time = ? WHERE id = ? AND spend_time IS NULL`, now, inv},
		[]any{`UPDATE memberships SET status = 'ACTIVE', update_time = ?, last_login = ? WHERE org_id = 'org_bench' AND user_id = ? AND status = 'PENDING_INVITE'`, now, now, user},
		[]any{`INSERT INTO identities (issuer, subject, user_id, email, create_time) VALUES ('https://idp.example.com', ?, ?, '', ?)`, "raw-" + user, user, now},
		[]any{`UPDATE users SET email_verified = 1, last_login = ? WHERE id = ?`, now, user},
		[]any{`INSERT INTO events (id, org_id, type, user_id, data, create_time) VALUES (?, 'org_bench', 'membership.accepted', ?, '{}', ?), (?, 'org_bench', 'user.logged_in', ?, '{}', ?)`,
			"evt_rawa" + fmt.Sprint(i), user, now, "evt_rawl" + fmt.Sprint(i), user, now},
	)
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
