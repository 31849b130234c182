package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// Approval before invitation (store.ApprovalStore), on the tables of
// 0006_approvals.
//
// Locks: SetApprovalRules takes the organization's row FOR NO KEY UPDATE;
// a guarded create takes it FOR SHARE (and the inviter's membership FOR
// SHARE) before it reads the rules' revision and the inviter's roles, so a
// rules change waits for the creates that read the old rules, and a create
// that starts after it reads the new ones. (FOR NO KEY UPDATE leaves the
// foreign-key checks of other writes alone.) DecideHeld takes the request
// FOR UPDATE: of two approvers on two connections, the second waits, then
// reads the request decided (ErrAlreadyDecided).

var (
	_ store.ApprovalStore           = (*Store)(nil)
	_ store.OrganizationRulesGetter = (*Store)(nil)
)

const (
	apprRulesCols = `all_invites, roles, inviter_roles, outside_domains, domains, revision, update_time, updated_by`
	apprReqCols   = `id, org_id, user_id, email, roles, invited_by, surface, hold_reason, status,
		create_time, expire_time, decided_by, reason, decide_time`
)

func scanApprovalRules(row pgx.Row) (store.ApprovalRules, error) {
	var r store.ApprovalRules
	var roles, inviter, domains []byte
	if err := row.Scan(&r.All, &roles, &inviter, &r.OutsideDomains, &domains, &r.Revision, &r.UpdateTime, &r.UpdatedBy); err != nil {
		return store.ApprovalRules{}, err
	}
	var err error
	if r.Roles, err = decodeList(roles); err != nil {
		return store.ApprovalRules{}, err
	}
	if r.InviterRoles, err = decodeList(inviter); err != nil {
		return store.ApprovalRules{}, err
	}
	if r.Domains, err = decodeList(domains); err != nil {
		return store.ApprovalRules{}, err
	}
	r.UpdateTime = utc(r.UpdateTime)
	return r, nil
}

func scanApprovalRequest(row pgx.Row) (store.ApprovalRequest, error) {
	var r store.ApprovalRequest
	var roles []byte
	var status string
	if err := row.Scan(&r.ID, &r.OrganizationID, &r.UserID, &r.Email, &roles, &r.InvitedBy, &r.Surface, &r.HoldReason,
		&status, &r.CreateTime, &r.ExpireTime, &r.DecidedBy, &r.Reason, &r.DecideTime); err != nil {
		return store.ApprovalRequest{}, err
	}
	var err error
	if r.Roles, err = decodeList(roles); err != nil {
		return store.ApprovalRequest{}, err
	}
	r.Status = store.ApprovalStatus(status)
	r.CreateTime, r.ExpireTime, r.DecideTime = utc(r.CreateTime), utc(r.ExpireTime), utcPtr(r.DecideTime)
	return r, nil
}

const qGetApprovalRules = `SELECT ` + apprRulesCols + ` FROM {s}.approval_rules WHERE org_id = $1`

// GetOrganizationRules implements store.OrganizationRulesGetter: both
// reads in one pipelined round trip.
func (s *Store) GetOrganizationRules(ctx context.Context, orgID string) (store.Organization, store.ApprovalRules, error) {
	b := &pgx.Batch{}
	b.Queue(s.sql(qGetOrganization), orgID)
	b.Queue(s.sql(qGetApprovalRules), orgID)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	org, err := scanOrganization(br.QueryRow())
	if err != nil {
		return store.Organization{}, store.ApprovalRules{}, notFound(err, "organization %q", orgID)
	}
	r, err := scanApprovalRules(br.QueryRow())
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		r = store.ApprovalRules{}
	case err != nil:
		return store.Organization{}, store.ApprovalRules{}, fmt.Errorf("pgstore: approval rules: %w", err)
	}
	if err := br.Close(); err != nil {
		return store.Organization{}, store.ApprovalRules{}, fmt.Errorf("pgstore: approval rules: %w", err)
	}
	return org, r, nil
}

// GetApprovalRules implements store.ApprovalStore.
func (s *Store) GetApprovalRules(ctx context.Context, orgID string) (store.ApprovalRules, error) {
	r, err := scanApprovalRules(s.pool.QueryRow(ctx, s.sql(qGetApprovalRules), orgID))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.GetOrganization(ctx, orgID); err != nil {
			return store.ApprovalRules{}, err
		}
		return store.ApprovalRules{}, nil
	}
	if err != nil {
		return store.ApprovalRules{}, fmt.Errorf("pgstore: approval rules: %w", err)
	}
	return r, nil
}

// SetApprovalRules implements store.ApprovalStore.
func (s *Store) SetApprovalRules(ctx context.Context, orgID string, r store.ApprovalRules, ev store.Event) (store.ApprovalRules, error) {
	r = store.CopyApprovalRules(r)
	ev = store.FillEvent(ev, orgID, "")
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.sql(`SELECT 1 FROM {s}.organizations WHERE id = $1 FOR NO KEY UPDATE`), orgID)
		if err != nil {
			return fmt.Errorf("pgstore: set approval rules: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("pgstore: set approval rules: %w", store.ErrNotFound)
		}
		err = tx.QueryRow(ctx, s.sql(`INSERT INTO {s}.approval_rules (org_id, `+apprRulesCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)
			ON CONFLICT (org_id) DO UPDATE SET all_invites = excluded.all_invites, roles = excluded.roles,
				inviter_roles = excluded.inviter_roles, outside_domains = excluded.outside_domains,
				domains = excluded.domains, revision = approval_rules.revision + 1,
				update_time = excluded.update_time, updated_by = excluded.updated_by
			RETURNING revision`),
			orgID, r.All, jsonList(r.Roles), jsonList(r.InviterRoles), r.OutsideDomains, jsonList(r.Domains),
			r.UpdateTime, r.UpdatedBy).Scan(&r.Revision)
		if err != nil {
			return fmt.Errorf("pgstore: set approval rules: %w", err)
		}
		return s.appendEvent(ctx, tx, ev)
	})
	if err != nil {
		return store.ApprovalRules{}, err
	}
	r.UpdateTime = utc(ts(r.UpdateTime))
	return r, nil
}

// CreateMembershipGuarded implements store.ApprovalStore.
func (s *Store) CreateMembershipGuarded(ctx context.Context, p store.CreateMembershipParams, hold *store.ApprovalRequest, g store.DecisionGuard) (store.CreateMembershipResult, error) {
	orgID := p.Membership.OrganizationID
	if hold != nil {
		if err := store.CheckHold(p, *hold); err != nil {
			return store.CreateMembershipResult{}, fmt.Errorf("pgstore: %w", err)
		}
	}
	if p.Invitation != nil && p.Invitation.ID == "" {
		return store.CreateMembershipResult{}, errors.New("pgstore: create membership: invitation id is empty")
	}
	if hold == nil {
		if res, err := s.createMembershipOneTrip(ctx, p, &g); !errors.Is(err, errOneTripFallback) {
			return res, err
		}
	}
	var res store.CreateMembershipResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.checkGuard(ctx, tx, orgID, g); err != nil {
			return err
		}
		var err error
		if res, err = s.createMembership(ctx, tx, p); err != nil || hold == nil {
			return err
		}
		_, err = tx.Exec(ctx, s.sql(`INSERT INTO {s}.approval_requests (`+apprReqCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', $9, $10, '', '', NULL)`),
			hold.ID, orgID, res.User.ID, hold.Email, jsonList(hold.Roles), hold.InvitedBy, hold.Surface, hold.HoldReason,
			hold.CreateTime, hold.ExpireTime)
		if err != nil {
			return fmt.Errorf("pgstore: hold invite: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.CreateMembershipResult{}, err
	}
	return res, nil
}

// checkGuard locks the organization's row and the inviter's membership FOR
// SHARE and checks g against them (see the locks above). An unknown
// organization passes: the create reports it.
func (s *Store) checkGuard(ctx context.Context, tx pgx.Tx, orgID string, g store.DecisionGuard) error {
	// The lock first, then the read in a statement of its own: READ
	// COMMITTED takes that statement's snapshot after the lock was
	// granted, so it sees a rules change that committed while it waited.
	tag, err := tx.Exec(ctx, s.sql(`SELECT 1 FROM {s}.organizations WHERE id = $1 FOR SHARE`), orgID)
	if err != nil {
		return fmt.Errorf("pgstore: decision guard: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	var rev int64
	err = tx.QueryRow(ctx, s.sql(`SELECT coalesce((SELECT revision FROM {s}.approval_rules WHERE org_id = $1), 0)`), orgID).Scan(&rev)
	if err != nil {
		return fmt.Errorf("pgstore: decision guard: %w", err)
	}
	var inviter store.Membership
	found := false
	if g.InviterID != "" {
		var status string
		var roles []byte
		err := tx.QueryRow(ctx, s.sql(`SELECT status, roles FROM {s}.memberships WHERE org_id = $1 AND user_id = $2 FOR SHARE`),
			orgID, g.InviterID).Scan(&status, &roles)
		switch {
		case err == nil:
			found = true
			inviter.Status = store.MembershipStatus(status)
			if inviter.Roles, err = decodeList(roles); err != nil {
				return err
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("pgstore: decision guard: %w", err)
		}
	}
	if err := g.Check(rev, inviter, found); err != nil {
		return fmt.Errorf("pgstore: create membership: %w", err)
	}
	return nil
}

// GetApprovalRequest implements store.ApprovalStore.
func (s *Store) GetApprovalRequest(ctx context.Context, orgID, id string) (store.ApprovalRequest, error) {
	r, err := scanApprovalRequest(s.pool.QueryRow(ctx, s.sql(`SELECT `+apprReqCols+` FROM {s}.approval_requests WHERE org_id = $1 AND id = $2`), orgID, id))
	if err != nil {
		return store.ApprovalRequest{}, notFound(err, "approval request")
	}
	return r, nil
}

// ListApprovalRequests implements store.ApprovalStore.
func (s *Store) ListApprovalRequests(ctx context.Context, orgID string, status store.ApprovalStatus, limit int) ([]store.ApprovalRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.approvalRows(ctx, `SELECT `+apprReqCols+` FROM {s}.approval_requests
		WHERE org_id = $1 AND ($2 = '' OR status = $2) ORDER BY seq LIMIT $3`, orgID, string(status), limit)
}

// DueApprovalRequests implements store.ApprovalStore.
func (s *Store) DueApprovalRequests(ctx context.Context, now time.Time, limit int) ([]store.ApprovalRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.approvalRows(ctx, `SELECT `+apprReqCols+` FROM {s}.approval_requests
		WHERE status = 'PENDING' AND expire_time <= $1 ORDER BY seq LIMIT $2`, now, limit)
}

func (s *Store) approvalRows(ctx context.Context, query string, args ...any) ([]store.ApprovalRequest, error) {
	rows, err := s.pool.Query(ctx, s.sql(query), args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: approval requests: %w", err)
	}
	defer rows.Close()
	out := []store.ApprovalRequest{}
	for rows.Next() {
		r, err := scanApprovalRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: approval requests: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: approval requests: %w", err)
	}
	return out, nil
}

// DecideHeld implements store.ApprovalStore.
func (s *Store) DecideHeld(ctx context.Context, orgID, id string, d store.HoldDecision) (store.ApprovalRequest, store.Membership, error) {
	var (
		r        store.ApprovalRequest
		approved store.Membership
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		approved = store.Membership{}
		var err error
		r, err = scanApprovalRequest(tx.QueryRow(ctx, s.sql(`SELECT `+apprReqCols+` FROM {s}.approval_requests
			WHERE org_id = $1 AND id = $2 FOR UPDATE`), orgID, id))
		if err != nil {
			return notFound(err, "decide held invite")
		}
		var status string
		err = tx.QueryRow(ctx, s.sql(`SELECT status FROM {s}.memberships WHERE org_id = $1 AND user_id = $2 FOR UPDATE`),
			orgID, r.UserID).Scan(&status)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("pgstore: decide held invite: %w", err)
		}
		held := err == nil && status == string(store.StatusPendingApproval)
		if err := store.CheckHoldDecision(r, d, held); err != nil {
			return fmt.Errorf("pgstore: decide held invite: %w", err)
		}
		r = store.DecidedRequest(r, d)
		if d.Status == store.ApprovalApproved {
			approved, err = scanMembership(tx.QueryRow(ctx, s.sql(`UPDATE {s}.memberships
				SET status = 'PENDING_INVITE', roles = coalesce($3, roles), invite_expire_time = $4, update_time = $5
				WHERE org_id = $1 AND user_id = $2 RETURNING `+membershipCols),
				orgID, r.UserID, jsonList(d.Roles), d.Invitation.ExpireTime, d.At))
			if err != nil {
				return fmt.Errorf("pgstore: approve held invite: %w", err)
			}
		}
		b := &pgx.Batch{}
		b.Queue(s.sql(`UPDATE {s}.approval_requests SET status = $3, decided_by = $4, reason = $5, decide_time = $6, roles = $7
			WHERE org_id = $1 AND id = $2`), orgID, id, string(r.Status), r.DecidedBy, r.Reason, d.At, jsonList(r.Roles))
		switch {
		case d.Status == store.ApprovalApproved:
			inv := *d.Invitation
			inv.UserID, inv.OrganizationID = r.UserID, orgID
			b.Queue(s.sql(qInsertInvitation), invitationArgs(inv)...)
		case held:
			b.Queue(s.sql(`DELETE FROM {s}.memberships WHERE org_id = $1 AND user_id = $2 AND status = 'PENDING_APPROVAL'`), orgID, r.UserID)
		}
		if d.Outbox != nil {
			b.Queue(s.sql(qInsertOutbox), outboxArgs(fillOutbox(*d.Outbox, orgID))...)
		}
		s.queueEventNotify(b, store.FillEvent(d.Event, orgID, r.UserID), store.Change{OrganizationID: orgID, UserID: r.UserID})
		br := tx.SendBatch(ctx, b)
		for i := 0; err == nil && i < b.Len(); i++ {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("pgstore: decide held invite: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	r.DecideTime = utcPtr(tsPtr(r.DecideTime))
	return r, approved, nil
}
