package memstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/invitekit/invitekit/store"
)

var _ store.ApprovalStore = (*Store)(nil)

// apprState holds approval rules and held invites; its maps are made on
// first write.
type apprState struct {
	seq   int64
	rules map[string]store.ApprovalRules // org id →
	reqs  map[string]apprRow             // memberKey(org, id) →
}

type apprRow struct {
	r   store.ApprovalRequest
	seq int64
}

func (a *apprState) init() {
	if a.rules == nil {
		a.rules = map[string]store.ApprovalRules{}
		a.reqs = map[string]apprRow{}
	}
}

// GetApprovalRules implements store.ApprovalStore.
func (s *Store) GetApprovalRules(ctx context.Context, orgID string) (store.ApprovalRules, error) {
	return locked(ctx, s, func(st *state) (store.ApprovalRules, error) {
		if _, ok := st.orgs[orgID]; !ok {
			return store.ApprovalRules{}, fmt.Errorf("memstore: approval rules: %w", store.ErrNotFound)
		}
		return store.CopyApprovalRules(st.appr.rules[orgID]), nil
	})
}

// SetApprovalRules implements store.ApprovalStore.
func (s *Store) SetApprovalRules(ctx context.Context, orgID string, r store.ApprovalRules, ev store.Event) (store.ApprovalRules, error) {
	return locked(ctx, s, func(st *state) (store.ApprovalRules, error) {
		if _, ok := st.orgs[orgID]; !ok {
			return store.ApprovalRules{}, fmt.Errorf("memstore: set approval rules: %w", store.ErrNotFound)
		}
		st.appr.init()
		r = store.CopyApprovalRules(r)
		r.Revision = st.appr.rules[orgID].Revision + 1
		st.appr.rules[orgID] = r
		st.appendEvent(store.FillEvent(ev, orgID, ""))
		return store.CopyApprovalRules(r), nil
	})
}

// CreateMembershipGuarded implements store.ApprovalStore.
func (s *Store) CreateMembershipGuarded(ctx context.Context, p store.CreateMembershipParams, hold *store.ApprovalRequest, g store.DecisionGuard) (store.CreateMembershipResult, error) {
	return locked(ctx, s, func(st *state) (store.CreateMembershipResult, error) {
		orgID := p.Membership.OrganizationID
		inviter, found := st.memberships[memberKey(orgID, g.InviterID)]
		if err := g.Check(st.appr.rules[orgID].Revision, inviter, found); err != nil {
			return store.CreateMembershipResult{}, fmt.Errorf("memstore: create membership: %w", err)
		}
		if hold != nil {
			if err := store.CheckHold(p, *hold); err != nil {
				return store.CreateMembershipResult{}, fmt.Errorf("memstore: %w", err)
			}
			if _, dup := st.appr.reqs[memberKey(orgID, hold.ID)]; dup {
				return store.CreateMembershipResult{}, fmt.Errorf("memstore: create membership: approval request id %q is taken", hold.ID)
			}
		}
		res, err := st.createMembership(p) // writes nothing on error
		if err != nil || hold == nil {
			return res, err
		}
		st.appr.init()
		r := store.CopyApprovalRequest(*hold)
		r.OrganizationID, r.UserID, r.Status = orgID, res.User.ID, store.ApprovalPending
		r.DecidedBy, r.Reason, r.DecideTime = "", "", nil
		st.appr.seq++
		st.appr.reqs[memberKey(orgID, r.ID)] = apprRow{r: r, seq: st.appr.seq}
		return res, nil
	})
}

// GetApprovalRequest implements store.ApprovalStore.
func (s *Store) GetApprovalRequest(ctx context.Context, orgID, id string) (store.ApprovalRequest, error) {
	return locked(ctx, s, func(st *state) (store.ApprovalRequest, error) {
		row, ok := st.appr.reqs[memberKey(orgID, id)]
		if !ok {
			return store.ApprovalRequest{}, fmt.Errorf("memstore: approval request: %w", store.ErrNotFound)
		}
		return store.CopyApprovalRequest(row.r), nil
	})
}

// ListApprovalRequests implements store.ApprovalStore.
func (s *Store) ListApprovalRequests(ctx context.Context, orgID string, status store.ApprovalStatus, limit int) ([]store.ApprovalRequest, error) {
	return locked(ctx, s, func(st *state) ([]store.ApprovalRequest, error) {
		return st.appr.list(limit, func(r store.ApprovalRequest) bool {
			return r.OrganizationID == orgID && (status == "" || r.Status == status)
		}), nil
	})
}

// DueApprovalRequests implements store.ApprovalStore.
func (s *Store) DueApprovalRequests(ctx context.Context, now time.Time, limit int) ([]store.ApprovalRequest, error) {
	return locked(ctx, s, func(st *state) ([]store.ApprovalRequest, error) {
		return st.appr.list(limit, func(r store.ApprovalRequest) bool {
			return r.Status == store.ApprovalPending && !r.ExpireTime.After(now)
		}), nil
	})
}

func (a *apprState) list(limit int, keep func(store.ApprovalRequest) bool) []store.ApprovalRequest {
	var rows []apprRow
	for _, row := range a.reqs {
		if keep(row.r) {
			rows = append(rows, row)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
	if limit <= 0 {
		limit = 100
	}
	out := []store.ApprovalRequest{}
	for _, row := range rows {
		if len(out) == limit {
			break
		}
		out = append(out, store.CopyApprovalRequest(row.r))
	}
	return out
}

// DecideHeld implements store.ApprovalStore.
func (s *Store) DecideHeld(ctx context.Context, orgID, id string, d store.HoldDecision) (store.ApprovalRequest, store.Membership, error) {
	type out struct {
		r store.ApprovalRequest
		m store.Membership
	}
	o, err := locked(ctx, s, func(st *state) (out, error) {
		k := memberKey(orgID, id)
		row, ok := st.appr.reqs[k]
		if !ok {
			return out{}, fmt.Errorf("memstore: decide held invite: %w", store.ErrNotFound)
		}
		mk := memberKey(orgID, row.r.UserID)
		m, held := st.memberships[mk]
		held = held && m.Status == store.StatusPendingApproval
		if err := store.CheckHoldDecision(row.r, d, held); err != nil {
			return out{}, fmt.Errorf("memstore: decide held invite: %w", err)
		}
		if d.Status == store.ApprovalApproved {
			if _, dup := st.invitations[d.Invitation.ID]; dup {
				return out{}, fmt.Errorf("memstore: decide held invite: invitation id %q is taken", d.Invitation.ID)
			}
		}

		// Write.
		row.r = store.DecidedRequest(row.r, d)
		st.appr.reqs[k] = row
		var approved store.Membership
		switch {
		case d.Status == store.ApprovalApproved:
			m.Status = store.StatusPendingInvite
			if d.Roles != nil {
				m.Roles = append([]string{}, d.Roles...)
			}
			m.InviteExpireTime = d.Invitation.ExpireTime
			m.UpdateTime = d.At
			st.memberships[mk] = m
			inv := copyInvitation(*d.Invitation)
			inv.UserID, inv.OrganizationID = row.r.UserID, orgID
			st.invitations[inv.ID] = invitation{inv: inv, seq: st.next()}
			approved = copyMembership(m)
		case held:
			delete(st.memberships, mk)
			if m.ExternalID != "" {
				delete(st.memberExternal, memberKey(orgID, m.ExternalID))
			}
		}
		if d.Outbox != nil {
			st.queue(*d.Outbox, orgID)
		}
		st.appendEvent(store.FillEvent(d.Event, orgID, row.r.UserID))
		st.changed(orgID, row.r.UserID)
		return out{r: store.CopyApprovalRequest(row.r), m: approved}, nil
	})
	return o.r, o.m, err
}
