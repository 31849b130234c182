package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Requests to join (store.JoinRequestStore) and email domains
// (store.DomainStore), on the tables of 0007_join_domains.

var (
	_ store.JoinRequestStore = (*Store)(nil)
	_ store.DomainStore      = (*Store)(nil)
)

const (
	joinColumns = `id, org_id, email, name, message, status, roles, user_id, decided_by, reason, create_time, decide_time`
	qGetJoin    = `SELECT ` + joinColumns + ` FROM join_requests WHERE org_id = ? AND id = ?`
	qLatestJoin = `SELECT ` + joinColumns + ` FROM join_requests WHERE org_id = ? AND email = ? ORDER BY seq DESC LIMIT 1`
	qListJoin   = `SELECT ` + joinColumns + ` FROM join_requests WHERE org_id = ? AND (? = '' OR status = ?) ORDER BY seq LIMIT ?`

	domainColumns   = `org_id, domain, token, policy, default_roles, verified_time, check_time, created_by, create_time, update_time`
	qGetDomain      = `SELECT ` + domainColumns + ` FROM domains WHERE org_id = ? AND domain = ?`
	qListDomains    = `SELECT ` + domainColumns + ` FROM domains WHERE org_id = ? ORDER BY domain`
	qVerifiedDomain = `SELECT ` + domainColumns + ` FROM domains WHERE domain = ? AND verified_time IS NOT NULL`
	qDomainsDue     = `SELECT ` + domainColumns + ` FROM domains WHERE verified_time IS NOT NULL AND check_time < ? ORDER BY check_time, domain LIMIT ?`

	// The writer statements (prepared by Open: writeQueries).
	qJoin0 = `INSERT INTO join_requests (id, org_id, email, name, message, status, create_time) VALUES (?, ?, ?, ?, ?, 'PENDING', ?)`
	qJoin1 = `SELECT status FROM join_requests WHERE org_id = ? AND id = ?`
	qJoin2 = `UPDATE join_requests SET status = ?, roles = ?, user_id = ?, decided_by = ?, reason = ?, decide_time = ? WHERE org_id = ? AND id = ?`
	qJoin3 = `INSERT INTO domains (org_id, domain, token, policy, default_roles, created_by, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qJoin4 = `SELECT 1 FROM domains WHERE domain = ? AND org_id <> ? AND verified_time IS NOT NULL`
	qJoin5 = `UPDATE domains SET verified_time = ?, check_time = ?, update_time = ? WHERE org_id = ? AND domain = ?`
	qJoin6 = `UPDATE domains SET policy = ?, default_roles = ?, update_time = ? WHERE org_id = ? AND domain = ?`
	qJoin7 = `DELETE FROM domains WHERE org_id = ? AND domain = ?`
	qJoin8 = `SELECT ` + joinColumns + ` FROM join_requests WHERE org_id = ? AND id = ?`
	qJoin9 = `SELECT ` + domainColumns + ` FROM domains WHERE org_id = ? AND domain = ?`
)

var joinWriteQueries = []string{qJoin0, qJoin1, qJoin2, qJoin3, qJoin4, qJoin5, qJoin6, qJoin7, qJoin8, qJoin9}

func scanJoin(r *store.JoinRequest) func(scanner) error {
	return func(sc scanner) error {
		var roles sql.NullString
		var ct int64
		var dt sql.NullInt64
		if err := sc.Scan(&r.ID, &r.OrganizationID, &r.Email, &r.Name, &r.Message, &r.Status, &roles,
			&r.UserID, &r.DecidedBy, &r.Reason, &ct, &dt); err != nil {
			return err
		}
		var err error
		if r.Roles, err = listOf(roles); err != nil {
			return err
		}
		r.CreateTime, r.DecideTime = timeOf(ct), timePtrOf(dt)
		return nil
	}
}

func scanDomain(d *store.Domain) func(scanner) error {
	return func(sc scanner) error {
		var roles sql.NullString
		var vt sql.NullInt64
		var chk, ct, ut int64
		if err := sc.Scan(&d.OrganizationID, &d.Domain, &d.Token, &d.Policy, &roles, &vt, &chk, &d.CreatedBy, &ct, &ut); err != nil {
			return err
		}
		var err error
		if d.DefaultRoles, err = listOf(roles); err != nil {
			return err
		}
		d.VerifiedTime, d.CheckTime, d.CreateTime, d.UpdateTime = timePtrOf(vt), timeOf(chk), timeOf(ct), timeOf(ut)
		return nil
	}
}

func joinNotFound(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s: %w", what, store.ErrNotFound)
	}
	return err
}

// CreateJoinRequest implements store.JoinRequestStore.
func (s *Store) CreateJoinRequest(ctx context.Context, r store.JoinRequest, ev store.Event) error {
	return s.CreateJoinRequestWithOutbox(ctx, r, ev, nil)
}

// CreateJoinRequestWithOutbox implements store.JoinRequestNotifier.
func (s *Store) CreateJoinRequestWithOutbox(ctx context.Context, r store.JoinRequest, ev store.Event, msgs []store.OutboxMessage) error {
	return s.write(ctx, func(t *wtx) error {
		if ok, err := t.orgExists(r.OrganizationID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("sqlitestore: create join request: %w", store.ErrNotFound)
		}
		if _, err := t.exec(qJoin0, r.ID, r.OrganizationID, r.Email, r.Name, r.Message, tsOf(r.CreateTime)); err != nil {
			if isConstraint(err) {
				return fmt.Errorf("sqlitestore: create join request: %w", store.ErrJoinRequestPending)
			}
			return err
		}
		for _, m := range msgs {
			if err := t.insertOutbox(m, r.OrganizationID); err != nil {
				return err
			}
		}
		return t.appendEvent(store.FillEvent(ev, r.OrganizationID, ""))
	})
}

// GetJoinRequest implements store.JoinRequestStore.
func (s *Store) GetJoinRequest(ctx context.Context, orgID, id string) (store.JoinRequest, error) {
	var r store.JoinRequest
	err := s.readRow(ctx, scanJoin(&r), qGetJoin, orgID, id)
	return r, joinNotFound("join request", err)
}

// LatestJoinRequest implements store.JoinRequestStore.
func (s *Store) LatestJoinRequest(ctx context.Context, orgID, email string) (store.JoinRequest, error) {
	var r store.JoinRequest
	err := s.readRow(ctx, scanJoin(&r), qLatestJoin, orgID, email)
	return r, joinNotFound("join request", err)
}

// ListJoinRequests implements store.JoinRequestStore.
func (s *Store) ListJoinRequests(ctx context.Context, orgID string, status store.JoinRequestStatus, limit int) ([]store.JoinRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	return readAll(ctx, s, scanJoin, qListJoin, orgID, string(status), string(status), limit)
}

// decideJoin marks orgID's PENDING request id as status (ErrNotFound,
// ErrWrongStatus) and returns it as written.
func (t *wtx) decideJoin(orgID, id string, status store.JoinRequestStatus, roles []string, userID string, d store.JoinDecision) (store.JoinRequest, error) {
	var cur string
	if err := t.row(func(sc scanner) error { return sc.Scan(&cur) }, qJoin1, orgID, id); err != nil {
		return store.JoinRequest{}, joinNotFound("join request", err)
	}
	if cur != string(store.JoinRequestPending) {
		return store.JoinRequest{}, fmt.Errorf("sqlitestore: join request: %w", store.ErrWrongStatus)
	}
	rl, err := jsonList(roles)
	if err != nil {
		return store.JoinRequest{}, err
	}
	if _, err := t.exec(qJoin2, string(status), textArg(rl), userID, d.By, d.Reason, tsOf(d.At), orgID, id); err != nil {
		return store.JoinRequest{}, err
	}
	var r store.JoinRequest
	if err := t.row(scanJoin(&r), qJoin8, orgID, id); err != nil {
		return store.JoinRequest{}, err
	}
	return r, nil
}

// ApproveJoinRequest implements store.JoinRequestStore.
func (s *Store) ApproveJoinRequest(ctx context.Context, orgID, id string, d store.JoinDecision, p store.CreateMembershipParams) (store.CreateMembershipResult, store.JoinRequest, error) {
	var res store.BatchResult
	var r store.JoinRequest
	err := s.writeOne(ctx, func(t *wtx, create createFunc) error {
		var cur string
		if err := t.row(func(sc scanner) error { return sc.Scan(&cur) }, qJoin1, orgID, id); err != nil {
			return joinNotFound("join request", err)
		}
		if cur != string(store.JoinRequestPending) {
			return fmt.Errorf("sqlitestore: join request: %w", store.ErrWrongStatus)
		}
		p.Membership.OrganizationID = orgID
		var err error
		if res, err = create(p); err != nil {
			return err
		}
		r, err = t.decideJoin(orgID, id, store.JoinRequestApproved, p.Membership.Roles, res.User.ID, d)
		return err
	})
	if err != nil {
		return store.CreateMembershipResult{}, store.JoinRequest{}, err
	}
	return res.CreateMembershipResult, r, nil
}

// DeclineJoinRequest implements store.JoinRequestStore.
func (s *Store) DeclineJoinRequest(ctx context.Context, orgID, id string, d store.JoinDecision) (store.JoinRequest, error) {
	var r store.JoinRequest
	err := s.write(ctx, func(t *wtx) error {
		var err error
		if r, err = t.decideJoin(orgID, id, store.JoinRequestDeclined, nil, "", d); err != nil {
			return err
		}
		if d.Outbox != nil {
			if err := t.insertOutbox(*d.Outbox, orgID); err != nil {
				return err
			}
		}
		return t.appendEvent(store.FillEvent(d.Event, orgID, ""))
	})
	return r, err
}

// CreateDomain implements store.DomainStore.
func (s *Store) CreateDomain(ctx context.Context, d store.Domain, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		if ok, err := t.orgExists(d.OrganizationID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("sqlitestore: create domain: %w", store.ErrNotFound)
		}
		rl, err := jsonList(d.DefaultRoles)
		if err != nil {
			return err
		}
		policy := d.Policy
		if policy == "" {
			policy = store.DomainPolicyNone
		}
		if _, err := t.exec(qJoin3, d.OrganizationID, d.Domain, d.Token, string(policy), textArg(rl), d.CreatedBy,
			tsOf(d.CreateTime), tsOf(d.UpdateTime)); err != nil {
			if isConstraint(err) {
				return fmt.Errorf("sqlitestore: create domain: %w", store.ErrDomainClaimed)
			}
			return err
		}
		return t.appendEvent(store.FillEvent(ev, d.OrganizationID, ""))
	})
}

// GetDomain implements store.DomainStore.
func (s *Store) GetDomain(ctx context.Context, orgID, domain string) (store.Domain, error) {
	var d store.Domain
	err := s.readRow(ctx, scanDomain(&d), qGetDomain, orgID, domain)
	return d, joinNotFound("domain", err)
}

func (s *Store) domainRows(ctx context.Context, query string, args ...any) ([]store.Domain, error) {
	return readAll(ctx, s, scanDomain, query, args...)
}

// ListDomains implements store.DomainStore.
func (s *Store) ListDomains(ctx context.Context, orgID string) ([]store.Domain, error) {
	return s.domainRows(ctx, qListDomains, orgID)
}

// RecordDomainCheck implements store.DomainStore.
func (s *Store) RecordDomainCheck(ctx context.Context, orgID, domain string, c store.DomainCheck) (store.Domain, error) {
	var d store.Domain
	err := s.write(ctx, func(t *wtx) error {
		if err := t.row(scanDomain(&d), qJoin9, orgID, domain); err != nil {
			return joinNotFound("domain", err)
		}
		vt, chk, ut := d.VerifiedTime, d.CheckTime, d.UpdateTime
		switch {
		case c.Found && vt == nil:
			taken, err := t.exists(qJoin4, domain, orgID)
			if err != nil {
				return err
			}
			if taken {
				return fmt.Errorf("sqlitestore: domain: %w", store.ErrDomainUnavailable)
			}
			at := c.At
			vt, chk, ut = &at, c.At, c.At
		case c.Found:
			chk = c.At
		case vt != nil:
			vt, ut = nil, c.At
		}
		if _, err := t.exec(qJoin5, nullTsArg(vt), tsOf(chk), tsOf(ut), orgID, domain); err != nil {
			if isConstraint(err) {
				return fmt.Errorf("sqlitestore: domain: %w", store.ErrDomainUnavailable)
			}
			return err
		}
		d.VerifiedTime, d.CheckTime, d.UpdateTime = vt, chk, ut
		if c.Event != nil {
			return t.appendEvent(store.FillEvent(*c.Event, orgID, ""))
		}
		return nil
	})
	return d, err
}

// SetDomainPolicy implements store.DomainStore.
func (s *Store) SetDomainPolicy(ctx context.Context, orgID, domain string, p store.DomainPolicy, roles []string, at time.Time, ev store.Event) (store.Domain, error) {
	var d store.Domain
	err := s.write(ctx, func(t *wtx) error {
		rl, err := jsonList(roles)
		if err != nil {
			return err
		}
		n, err := t.execN(qJoin6, string(p), textArg(rl), tsOf(at), orgID, domain)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("sqlitestore: domain: %w", store.ErrNotFound)
		}
		if err := t.row(scanDomain(&d), qJoin9, orgID, domain); err != nil {
			return err
		}
		return t.appendEvent(store.FillEvent(ev, orgID, ""))
	})
	return d, err
}

// DeleteDomain implements store.DomainStore.
func (s *Store) DeleteDomain(ctx context.Context, orgID, domain string, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		n, err := t.execN(qJoin7, orgID, domain)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("sqlitestore: domain: %w", store.ErrNotFound)
		}
		return t.appendEvent(store.FillEvent(ev, orgID, ""))
	})
}

// VerifiedDomain implements store.DomainStore.
func (s *Store) VerifiedDomain(ctx context.Context, domain string) (store.Domain, error) {
	var d store.Domain
	err := s.readRow(ctx, scanDomain(&d), qVerifiedDomain, domain)
	return d, joinNotFound("verified domain", err)
}

// DomainsDue implements store.DomainStore.
func (s *Store) DomainsDue(ctx context.Context, before time.Time, limit int) ([]store.Domain, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.domainRows(ctx, qDomainsDue, tsOf(before), limit)
}
