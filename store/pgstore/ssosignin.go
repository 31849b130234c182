package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/invitekit/invitekit/store"
)

var _ store.SSOSignIner = (*Store)(nil)

const qLockMembership = `SELECT ` + membershipCols + ` FROM {s}.memberships WHERE org_id = $1 AND user_id = $2 FOR UPDATE`

const qSSOMembership = `UPDATE {s}.memberships SET primary_idp = $3, name = $4, update_time = $5
	WHERE org_id = $1 AND user_id = $2`

// SSOSignIn implements store.SSOSignIner in one transaction: the
// membership row is locked first (so the status it checks holds until
// commit), then the identity is linked, and one pipelined round trip
// writes the membership's change, the login (the memberships before the
// user row, as RecordLogin) and the events last (their advisory lock is
// always the last one taken).
func (s *Store) SSOSignIn(ctx context.Context, p store.SSOSignInParams) (store.Membership, error) {
	var m store.Membership
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanMembership(tx.QueryRow(ctx, s.sql(qLockMembership), p.OrganizationID, p.UserID))
		if err != nil {
			return notFound(err, "sso sign-in: membership")
		}
		if cur.Status != store.StatusActive {
			return fmt.Errorf("pgstore: sso sign-in: membership is %s: %w", cur.Status, store.ErrWrongStatus)
		}
		linked := false
		if p.Identity != nil {
			id := *p.Identity
			id.UserID = p.UserID
			if linked, err = s.linkIdentity(ctx, tx, id); err != nil {
				return err
			}
		}
		next, updated, changed := store.SSOSignInChange(cur, p)
		b := &pgx.Batch{}
		if changed {
			b.Queue(s.sql(qSSOMembership), p.OrganizationID, p.UserID, next.PrimaryIdentityProvider, next.Profile.Name, p.Now)
		}
		b.Queue(s.sql(`UPDATE {s}.memberships SET last_login = $2 WHERE user_id = $1 AND status = 'ACTIVE'`), p.UserID, p.Now)
		users := b.Len()
		b.Queue(s.sql(`UPDATE {s}.users SET last_login = $2 WHERE id = $1`), p.UserID, p.Now)
		if linked {
			s.queueEvent(b, store.FillEvent(p.LinkEvent, p.OrganizationID, p.UserID))
		}
		if changed {
			s.queueEventNotify(b, updated, store.Change{OrganizationID: p.OrganizationID, UserID: p.UserID})
		}
		s.queueEvent(b, store.FillEvent(p.Login, p.OrganizationID, p.UserID))
		b.Queue(s.sql(`SELECT `+membershipCols+` FROM {s}.memberships WHERE org_id = $1 AND user_id = $2`), p.OrganizationID, p.UserID)
		br := tx.SendBatch(ctx, b)
		var tag pgconn.CommandTag
		for i := 0; err == nil && i < b.Len()-1; i++ {
			var t pgconn.CommandTag
			if t, err = br.Exec(); i == users {
				tag = t
			}
		}
		if err == nil {
			m, err = scanMembership(br.QueryRow())
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("pgstore: sso sign-in: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("pgstore: sso sign-in: user %q: %w", p.UserID, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}
