package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// Requests to join (store.JoinRequestStore) and email domains
// (store.DomainStore), on the tables of 0007_join_domains: the same tables
// and semantics as sqlitestore's. A decision locks the request's row (FOR
// UPDATE), so of two concurrent decisions the second sees it decided; the
// partial unique indexes join_requests_pending and domains_verified refuse
// a second pending request of one email and a second organization
// verifying one domain, whatever runs at once.

var (
	_ store.JoinRequestStore = (*Store)(nil)
	_ store.DomainStore      = (*Store)(nil)
)

// Constraints of 0007_join_domains that map to store errors.
const (
	joinPendingKey    = "join_requests_pending"
	domainsPKey       = "domains_pkey"
	domainVerifiedKey = "domains_verified"
)

const (
	joinCols   = `id, org_id, email, name, message, status, coalesce(roles, 'null'::jsonb), user_id, decided_by, reason, create_time, decide_time`
	domainCols = `org_id, domain, token, policy, coalesce(default_roles, 'null'::jsonb), verified_time, check_time, created_by, create_time, update_time`
)

func scanJoinRequest(row pgx.Row) (store.JoinRequest, error) {
	var r store.JoinRequest
	var status string
	if err := row.Scan(&r.ID, &r.OrganizationID, &r.Email, &r.Name, &r.Message, &status, &r.Roles,
		&r.UserID, &r.DecidedBy, &r.Reason, &r.CreateTime, &r.DecideTime); err != nil {
		return store.JoinRequest{}, err
	}
	r.Status = store.JoinRequestStatus(status)
	r.CreateTime, r.DecideTime = utc(r.CreateTime), utcPtr(r.DecideTime)
	return r, nil
}

func scanDomain(row pgx.Row) (store.Domain, error) {
	var d store.Domain
	var policy string
	var check *time.Time
	if err := row.Scan(&d.OrganizationID, &d.Domain, &d.Token, &policy, &d.DefaultRoles, &d.VerifiedTime, &check,
		&d.CreatedBy, &d.CreateTime, &d.UpdateTime); err != nil {
		return store.Domain{}, err
	}
	d.Policy = store.DomainPolicy(policy)
	if check != nil {
		d.CheckTime = utc(*check)
	}
	d.VerifiedTime, d.CreateTime, d.UpdateTime = utcPtr(d.VerifiedTime), utc(d.CreateTime), utc(d.UpdateTime)
	return d, nil
}

// nullTime is t, or NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CreateJoinRequest implements store.JoinRequestStore.
func (s *Store) CreateJoinRequest(ctx context.Context, r store.JoinRequest, ev store.Event) error {
	return s.CreateJoinRequestWithOutbox(ctx, r, ev, nil)
}

// CreateJoinRequestWithOutbox implements store.JoinRequestNotifier.
func (s *Store) CreateJoinRequestWithOutbox(ctx context.Context, r store.JoinRequest, ev store.Event, msgs []store.OutboxMessage) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if ok, err := s.orgExists(ctx, tx, r.OrganizationID); err != nil {
			return fmt.Errorf("pgstore: create join request: %w", err)
		} else if !ok {
			return fmt.Errorf("pgstore: create join request: %w", store.ErrNotFound)
		}
		_, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.join_requests (id, org_id, email, name, message, status, create_time)
			VALUES ($1, $2, $3, $4, $5, 'PENDING', $6)`), r.ID, r.OrganizationID, r.Email, r.Name, r.Message, r.CreateTime)
		switch {
		case isConstraint(err, codeUniqueViolation, joinPendingKey):
			return fmt.Errorf("pgstore: create join request: %w", store.ErrJoinRequestPending)
		case err != nil:
			return fmt.Errorf("pgstore: create join request: %w", err)
		}
		for _, m := range msgs {
			if _, err := tx.Exec(ctx, s.sql(qInsertOutbox), outboxArgs(fillOutbox(m, r.OrganizationID))...); err != nil {
				return fmt.Errorf("pgstore: create join request: outbox: %w", err)
			}
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, r.OrganizationID, ""))
	})
}

// GetJoinRequest implements store.JoinRequestStore.
func (s *Store) GetJoinRequest(ctx context.Context, orgID, id string) (store.JoinRequest, error) {
	r, err := scanJoinRequest(s.pool.QueryRow(ctx, s.sql(`SELECT `+joinCols+` FROM {s}.join_requests WHERE org_id = $1 AND id = $2`), orgID, id))
	if err != nil {
		return store.JoinRequest{}, notFound(err, "join request")
	}
	return r, nil
}

// LatestJoinRequest implements store.JoinRequestStore.
func (s *Store) LatestJoinRequest(ctx context.Context, orgID, email string) (store.JoinRequest, error) {
	r, err := scanJoinRequest(s.pool.QueryRow(ctx, s.sql(`SELECT `+joinCols+` FROM {s}.join_requests
		WHERE org_id = $1 AND email = $2 ORDER BY seq DESC LIMIT 1`), orgID, email))
	if err != nil {
		return store.JoinRequest{}, notFound(err, "join request")
	}
	return r, nil
}

// ListJoinRequests implements store.JoinRequestStore.
func (s *Store) ListJoinRequests(ctx context.Context, orgID string, status store.JoinRequestStatus, limit int) ([]store.JoinRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, s.sql(`SELECT `+joinCols+` FROM {s}.join_requests
		WHERE org_id = $1 AND ($2 = '' OR status = $2) ORDER BY seq LIMIT $3`), orgID, string(status), limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list join requests: %w", err)
	}
	defer rows.Close()
	out := []store.JoinRequest{}
	for rows.Next() {
		r, err := scanJoinRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list join requests: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list join requests: %w", err)
	}
	return out, nil
}

// lockPendingJoin locks orgID's request id, which must be PENDING.
func (s *Store) lockPendingJoin(ctx context.Context, tx pgx.Tx, orgID, id string) error {
	var status string
	err := tx.QueryRow(ctx, s.sql(`SELECT status FROM {s}.join_requests WHERE org_id = $1 AND id = $2 FOR UPDATE`), orgID, id).Scan(&status)
	if err != nil {
		return notFound(err, "join request")
	}
	if status != string(store.JoinRequestPending) {
		return fmt.Errorf("pgstore: join request: %w", store.ErrWrongStatus)
	}
	return nil
}

// decideJoin writes a decision of a locked PENDING request.
func (s *Store) decideJoin(ctx context.Context, tx pgx.Tx, orgID, id string, status store.JoinRequestStatus, roles []string, userID string, d store.JoinDecision) (store.JoinRequest, error) {
	var rl any
	if roles != nil {
		rl = roles
	}
	r, err := scanJoinRequest(tx.QueryRow(ctx, s.sql(`UPDATE {s}.join_requests
		SET status = $3, roles = $4::jsonb, user_id = $5, decided_by = $6, reason = $7, decide_time = $8
		WHERE org_id = $1 AND id = $2 RETURNING `+joinCols), orgID, id, string(status), rl, userID, d.By, d.Reason, d.At))
	if err != nil {
		return store.JoinRequest{}, fmt.Errorf("pgstore: decide join request: %w", err)
	}
	return r, nil
}

// ApproveJoinRequest implements store.JoinRequestStore.
func (s *Store) ApproveJoinRequest(ctx context.Context, orgID, id string, d store.JoinDecision, p store.CreateMembershipParams) (store.CreateMembershipResult, store.JoinRequest, error) {
	var res store.CreateMembershipResult
	var r store.JoinRequest
	p.Membership.OrganizationID = orgID
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.lockPendingJoin(ctx, tx, orgID, id); err != nil {
			return err
		}
		var err error
		if res, err = s.createMembership(ctx, tx, p); err != nil {
			return err
		}
		r, err = s.decideJoin(ctx, tx, orgID, id, store.JoinRequestApproved, p.Membership.Roles, res.User.ID, d)
		return err
	})
	if err != nil {
		return store.CreateMembershipResult{}, store.JoinRequest{}, err
	}
	return res, r, nil
}

// DeclineJoinRequest implements store.JoinRequestStore.
func (s *Store) DeclineJoinRequest(ctx context.Context, orgID, id string, d store.JoinDecision) (store.JoinRequest, error) {
	var r store.JoinRequest
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.lockPendingJoin(ctx, tx, orgID, id); err != nil {
			return err
		}
		var err error
		if r, err = s.decideJoin(ctx, tx, orgID, id, store.JoinRequestDeclined, nil, "", d); err != nil {
			return err
		}
		if d.Outbox != nil {
			if _, err := tx.Exec(ctx, s.sql(qInsertOutbox), outboxArgs(fillOutbox(*d.Outbox, orgID))...); err != nil {
				return fmt.Errorf("pgstore: decline join request: %w", err)
			}
		}
		return s.appendEvent(ctx, tx, store.FillEvent(d.Event, orgID, ""))
	})
	return r, err
}

// CreateDomain implements store.DomainStore.
func (s *Store) CreateDomain(ctx context.Context, d store.Domain, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if ok, err := s.orgExists(ctx, tx, d.OrganizationID); err != nil {
			return fmt.Errorf("pgstore: create domain: %w", err)
		} else if !ok {
			return fmt.Errorf("pgstore: create domain: %w", store.ErrNotFound)
		}
		policy := d.Policy
		if policy == "" {
			policy = store.DomainPolicyNone
		}
		var roles any
		if d.DefaultRoles != nil {
			roles = d.DefaultRoles
		}
		_, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.domains (org_id, domain, token, policy, default_roles, created_by, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)`),
			d.OrganizationID, d.Domain, d.Token, string(policy), roles, d.CreatedBy, d.CreateTime, d.UpdateTime)
		switch {
		case isConstraint(err, codeUniqueViolation, domainsPKey):
			return fmt.Errorf("pgstore: create domain: %w", store.ErrDomainClaimed)
		case err != nil:
			return fmt.Errorf("pgstore: create domain: %w", err)
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, d.OrganizationID, ""))
	})
}

// GetDomain implements store.DomainStore.
func (s *Store) GetDomain(ctx context.Context, orgID, domain string) (store.Domain, error) {
	d, err := scanDomain(s.pool.QueryRow(ctx, s.sql(`SELECT `+domainCols+` FROM {s}.domains WHERE org_id = $1 AND domain = $2`), orgID, domain))
	if err != nil {
		return store.Domain{}, notFound(err, "domain")
	}
	return d, nil
}

func (s *Store) domainRows(ctx context.Context, query string, args ...any) ([]store.Domain, error) {
	rows, err := s.pool.Query(ctx, s.sql(query), args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list domains: %w", err)
	}
	defer rows.Close()
	out := []store.Domain{}
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list domains: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list domains: %w", err)
	}
	return out, nil
}

// ListDomains implements store.DomainStore.
func (s *Store) ListDomains(ctx context.Context, orgID string) ([]store.Domain, error) {
	return s.domainRows(ctx, `SELECT `+domainCols+` FROM {s}.domains WHERE org_id = $1 ORDER BY domain COLLATE "C"`, orgID)
}

// RecordDomainCheck implements store.DomainStore.
func (s *Store) RecordDomainCheck(ctx context.Context, orgID, domain string, c store.DomainCheck) (store.Domain, error) {
	var d store.Domain
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		d, err = scanDomain(tx.QueryRow(ctx, s.sql(`SELECT `+domainCols+` FROM {s}.domains WHERE org_id = $1 AND domain = $2 FOR UPDATE`), orgID, domain))
		if err != nil {
			return notFound(err, "domain")
		}
		vt, chk, ut := d.VerifiedTime, d.CheckTime, d.UpdateTime
		switch {
		case c.Found && vt == nil:
			at := c.At
			vt, chk, ut = &at, c.At, c.At
		case c.Found:
			chk = c.At
		case vt != nil:
			vt, ut = nil, c.At
		}
		_, err = tx.Exec(ctx, s.sql(`UPDATE {s}.domains SET verified_time = $3, check_time = $4, update_time = $5
			WHERE org_id = $1 AND domain = $2`), orgID, domain, vt, nullTime(chk), ut)
		switch {
		case isConstraint(err, codeUniqueViolation, domainVerifiedKey):
			return fmt.Errorf("pgstore: domain: %w", store.ErrDomainUnavailable)
		case err != nil:
			return fmt.Errorf("pgstore: domain: %w", err)
		}
		d.VerifiedTime, d.CheckTime, d.UpdateTime = utcPtr(vt), utc(chk), utc(ut)
		if c.Event != nil {
			return s.appendEvent(ctx, tx, store.FillEvent(*c.Event, orgID, ""))
		}
		return nil
	})
	if err != nil {
		return store.Domain{}, err
	}
	return d, nil
}

// SetDomainPolicy implements store.DomainStore.
func (s *Store) SetDomainPolicy(ctx context.Context, orgID, domain string, p store.DomainPolicy, roles []string, at time.Time, ev store.Event) (store.Domain, error) {
	var d store.Domain
	var rl any
	if roles != nil {
		rl = roles
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		d, err = scanDomain(tx.QueryRow(ctx, s.sql(`UPDATE {s}.domains SET policy = $3, default_roles = $4::jsonb, update_time = $5
			WHERE org_id = $1 AND domain = $2 RETURNING `+domainCols), orgID, domain, string(p), rl, at))
		if err != nil {
			return notFound(err, "domain")
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, orgID, ""))
	})
	if err != nil {
		return store.Domain{}, err
	}
	return d, nil
}

// DeleteDomain implements store.DomainStore.
func (s *Store) DeleteDomain(ctx context.Context, orgID, domain string, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.domains WHERE org_id = $1 AND domain = $2`), orgID, domain)
		if err != nil {
			return fmt.Errorf("pgstore: delete domain: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("pgstore: delete domain: %w", store.ErrNotFound)
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, orgID, ""))
	})
}

// VerifiedDomain implements store.DomainStore.
func (s *Store) VerifiedDomain(ctx context.Context, domain string) (store.Domain, error) {
	d, err := scanDomain(s.pool.QueryRow(ctx, s.sql(`SELECT `+domainCols+` FROM {s}.domains WHERE domain = $1 AND verified_time IS NOT NULL`), domain))
	if err != nil {
		return store.Domain{}, notFound(err, "verified domain")
	}
	return d, nil
}

// DomainsDue implements store.DomainStore.
func (s *Store) DomainsDue(ctx context.Context, before time.Time, limit int) ([]store.Domain, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.domainRows(ctx, `SELECT `+domainCols+` FROM {s}.domains WHERE verified_time IS NOT NULL AND check_time < $1
		ORDER BY check_time, domain COLLATE "C" LIMIT $2`, before, limit)
}
