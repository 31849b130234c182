package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Approval before invitation (store.ApprovalStore), on the tables of
// 0006_approvals. Every write runs in one write transaction (BEGIN
// IMMEDIATE on the single writer), so a guarded create, a rules change and
// two decisions of one request are serialized: of two approvers, the
// second reads the request already decided.

var _ store.ApprovalStore = (*Store)(nil)

const (
	apprRulesColumns = `all_invites, roles, inviter_roles, outside_domains, domains, revision, update_time, updated_by`
	// qOrgApprRules is an organization's rules, the zero rules when never
	// set, and no row for an unknown organization: one read where
	// GetApprovalRules would otherwise need a second to tell the two apart.
	qOrgApprRules = `SELECT coalesce(r.all_invites, 0), r.roles, r.inviter_roles, coalesce(r.outside_domains, 0), r.domains,
coalesce(r.revision, 0), coalesce(r.update_time, 0), coalesce(r.updated_by, '')
FROM organizations o LEFT JOIN approval_rules r ON r.org_id = o.id WHERE o.id = ?`
	apprReqColumns = `id, org_id, user_id, email, roles, invited_by, surface, hold_reason, status,
create_time, expire_time, decided_by, reason, decide_time`
	qApprReq  = `SELECT ` + apprReqColumns + ` FROM approval_requests WHERE org_id = ? AND id = ?`
	qApprList = `SELECT ` + apprReqColumns + ` FROM approval_requests WHERE org_id = ? AND (? = '' OR status = ?) ORDER BY seq LIMIT ?`
	qApprDue  = `SELECT ` + apprReqColumns + ` FROM approval_requests WHERE status = 'PENDING' AND expire_time <= ? ORDER BY seq LIMIT ?`
	// qReserveSeqRevision is qReserveSeqs for one membership and the
	// read of the organization's approval rules' revision in one statement
	// (CreateMembershipGuarded): the reserved seq and the revision (NULL:
	// no rules).
	qReserveSeqRevision = `UPDATE counters SET value = value + 1 WHERE name = 'membership_seq'
RETURNING value, (SELECT revision FROM approval_rules WHERE org_id = ?)`
	qApprSet = `INSERT INTO approval_rules (org_id, ` + apprRulesColumns + `) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
ON CONFLICT (org_id) DO UPDATE SET all_invites = excluded.all_invites, roles = excluded.roles,
inviter_roles = excluded.inviter_roles, outside_domains = excluded.outside_domains, domains = excluded.domains,
revision = approval_rules.revision + 1, update_time = excluded.update_time, updated_by = excluded.updated_by
RETURNING revision`
	qApprInsert = `INSERT INTO approval_requests (seq, ` + apprReqColumns + `)
VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM approval_requests), ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', ?, ?, '', '', NULL)`
	qApprDecide = `UPDATE approval_requests SET status = ?, decided_by = ?, reason = ?, decide_time = ?, roles = ?
WHERE org_id = ? AND id = ? AND status = 'PENDING'`
)

// approvalWriteQueries are prepared by Open (writeQueries).
var approvalWriteQueries = []string{qApprReq, qReserveSeqRevision, qApprSet, qApprInsert, qApprDecide}

func scanApprovalRules(r *store.ApprovalRules) func(scanner) error {
	return func(sc scanner) error {
		var roles, inviter, domains sql.NullString
		var ut int64
		if err := sc.Scan(&r.All, &roles, &inviter, &r.OutsideDomains, &domains, &r.Revision, &ut, &r.UpdatedBy); err != nil {
			return err
		}
		var err error
		if r.Roles, err = listOf(roles); err != nil {
			return err
		}
		if r.InviterRoles, err = listOf(inviter); err != nil {
			return err
		}
		if r.Domains, err = listOf(domains); err != nil {
			return err
		}
		r.UpdateTime = timeOf(ut)
		return nil
	}
}

func scanApprovalRequest(r *store.ApprovalRequest) func(scanner) error {
	return func(sc scanner) error {
		var roles sql.NullString
		var ct, et int64
		var dt sql.NullInt64
		var status string
		if err := sc.Scan(&r.ID, &r.OrganizationID, &r.UserID, &r.Email, &roles, &r.InvitedBy, &r.Surface,
			&r.HoldReason, &status, &ct, &et, &r.DecidedBy, &r.Reason, &dt); err != nil {
			return err
		}
		var err error
		if r.Roles, err = listOf(roles); err != nil {
			return err
		}
		r.Status, r.CreateTime, r.ExpireTime, r.DecideTime = store.ApprovalStatus(status), timeOf(ct), timeOf(et), timePtrOf(dt)
		return nil
	}
}

// GetApprovalRules implements store.ApprovalStore.
func (s *Store) GetApprovalRules(ctx context.Context, orgID string) (store.ApprovalRules, error) {
	var r store.ApprovalRules
	err := s.readRow(ctx, scanApprovalRules(&r), qOrgApprRules, orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ApprovalRules{}, fmt.Errorf("sqlitestore: organization %q: %w", orgID, store.ErrNotFound)
	}
	if err != nil {
		return store.ApprovalRules{}, err
	}
	return r, nil
}

// SetApprovalRules implements store.ApprovalStore.
func (s *Store) SetApprovalRules(ctx context.Context, orgID string, r store.ApprovalRules, ev store.Event) (store.ApprovalRules, error) {
	r = store.CopyApprovalRules(r)
	err := s.write(ctx, func(t *wtx) error {
		if ok, err := t.orgExists(orgID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("sqlitestore: set approval rules: %w", store.ErrNotFound)
		}
		roles, err := jsonList(r.Roles)
		if err != nil {
			return err
		}
		inviter, err := jsonList(r.InviterRoles)
		if err != nil {
			return err
		}
		domains, err := jsonList(r.Domains)
		if err != nil {
			return err
		}
		if err := t.row(func(sc scanner) error { return sc.Scan(&r.Revision) }, qApprSet,
			orgID, r.All, roles, inviter, r.OutsideDomains, domains, tsOf(r.UpdateTime), r.UpdatedBy); err != nil {
			return fmt.Errorf("sqlitestore: set approval rules: %w", err)
		}
		return t.appendEvent(store.FillEvent(ev, orgID, ""))
	})
	if err != nil {
		return store.ApprovalRules{}, err
	}
	return r, nil
}

// CreateMembershipGuarded implements store.ApprovalStore.
func (s *Store) CreateMembershipGuarded(ctx context.Context, p store.CreateMembershipParams, hold *store.ApprovalRequest, g store.DecisionGuard) (store.CreateMembershipResult, error) {
	orgID := p.Membership.OrganizationID
	if hold != nil {
		if err := store.CheckHold(p, *hold); err != nil {
			return store.CreateMembershipResult{}, fmt.Errorf("sqlitestore: %w", err)
		}
	}
	var res store.BatchResult
	err := s.writeOne(ctx, func(t *wtx, create createFunc) error {
		// The one membership's seq is reserved with the revision read (one
		// statement fewer); a refusal rolls the reservation back with the
		// rest.
		var seq int64
		var rev sql.NullInt64
		if err := t.row(func(sc scanner) error { return sc.Scan(&seq, &rev) }, qReserveSeqRevision, orgID); err != nil {
			return err
		}
		t.seqAhead = seq
		var inviter store.Membership
		ierr := store.ErrNotFound
		if g.InviterID != "" { // else Check looks at the revision only
			inviter, ierr = t.membership(orgID, g.InviterID)
			if ierr != nil && !errors.Is(ierr, store.ErrNotFound) {
				return ierr
			}
		}
		if err := g.Check(rev.Int64, inviter, ierr == nil); err != nil {
			return fmt.Errorf("sqlitestore: create membership: %w", err)
		}
		var err error
		if res, err = create(p); err != nil || hold == nil {
			return err
		}
		roles, err := jsonList(hold.Roles)
		if err != nil {
			return err
		}
		_, err = t.exec(qApprInsert, hold.ID, orgID, res.User.ID, hold.Email, roles, hold.InvitedBy, hold.Surface,
			hold.HoldReason, tsOf(hold.CreateTime), tsOf(hold.ExpireTime))
		return err
	})
	if err != nil {
		return store.CreateMembershipResult{}, err
	}
	return res.CreateMembershipResult, nil
}

// GetApprovalRequest implements store.ApprovalStore.
func (s *Store) GetApprovalRequest(ctx context.Context, orgID, id string) (store.ApprovalRequest, error) {
	var r store.ApprovalRequest
	err := s.readRow(ctx, scanApprovalRequest(&r), qApprReq, orgID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ApprovalRequest{}, fmt.Errorf("sqlitestore: approval request: %w", store.ErrNotFound)
	}
	return r, err
}

// ListApprovalRequests implements store.ApprovalStore.
func (s *Store) ListApprovalRequests(ctx context.Context, orgID string, status store.ApprovalStatus, limit int) ([]store.ApprovalRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.approvalRows(ctx, qApprList, orgID, string(status), string(status), limit)
}

// DueApprovalRequests implements store.ApprovalStore.
func (s *Store) DueApprovalRequests(ctx context.Context, now time.Time, limit int) ([]store.ApprovalRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.approvalRows(ctx, qApprDue, tsOf(now), limit)
}

func (s *Store) approvalRows(ctx context.Context, query string, args ...any) ([]store.ApprovalRequest, error) {
	return readAll(ctx, s, scanApprovalRequest, query, args...)
}

// DecideHeld implements store.ApprovalStore.
func (s *Store) DecideHeld(ctx context.Context, orgID, id string, d store.HoldDecision) (store.ApprovalRequest, store.Membership, error) {
	var (
		r        store.ApprovalRequest
		approved store.Membership
	)
	err := s.write(ctx, func(t *wtx) error {
		if err := t.row(scanApprovalRequest(&r), qApprReq, orgID, id); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlitestore: decide held invite: %w", store.ErrNotFound)
		} else if err != nil {
			return err
		}
		m, merr := t.membership(orgID, r.UserID)
		if merr != nil && !errors.Is(merr, store.ErrNotFound) {
			return merr
		}
		held := merr == nil && m.Status == store.StatusPendingApproval
		if err := store.CheckHoldDecision(r, d, held); err != nil {
			return fmt.Errorf("sqlitestore: decide held invite: %w", err)
		}
		r = store.DecidedRequest(r, d)
		roles, err := jsonList(r.Roles)
		if err != nil {
			return err
		}
		if n, err := t.execN(qApprDecide, string(r.Status), r.DecidedBy, r.Reason, tsOf(d.At), roles, orgID, id); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("sqlitestore: decide held invite: %w", store.ErrAlreadyDecided)
		}
		switch {
		case d.Status == store.ApprovalApproved:
			m.Status = store.StatusPendingInvite
			if d.Roles != nil {
				m.Roles = append([]string{}, d.Roles...)
			}
			m.InviteExpireTime, m.UpdateTime = d.Invitation.ExpireTime, d.At
			if err := t.saveMembership(m); err != nil {
				return err
			}
			inv := *d.Invitation
			inv.UserID, inv.OrganizationID = r.UserID, orgID
			if err := t.insertRows(insertInvitationHead, invitationInsertCols, invitationArgs(nil, inv)); err != nil {
				return err
			}
			approved = m
		case held:
			if _, err := t.exec(qDeleteMembership, orgID, r.UserID); err != nil {
				return err
			}
		}
		if d.Outbox != nil {
			if err := t.insertOutbox(*d.Outbox, orgID); err != nil {
				return err
			}
		}
		t.changed(orgID, r.UserID)
		return t.appendEvent(store.FillEvent(d.Event, orgID, r.UserID))
	})
	if err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	return r, approved, nil
}
