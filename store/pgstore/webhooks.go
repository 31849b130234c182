package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

var _ store.WebhookStore = (*Store)(nil)

// Webhook endpoints and deliveries (migration 0005_webhooks). The
// deliveries of an event are written by the trigger
// webhook_deliveries_of_event, in the transaction that appends the event
// (which holds the organization's event lock: an organization's deliveries
// get their seq in commit order).

const (
	endpointCols = `e.id, e.url, e.org_id, e.description, e.secret, e.prev_secret, e.prev_secret_until, e.created_by,
	e.create_time, e.update_time, e.disabled_time, e.disabled_reason, e.failing_since, e.revision,
	(SELECT coalesce(string_agg(t.type, ' ' ORDER BY t.type), '') FROM {s}.webhook_endpoint_types t WHERE t.endpoint_id = e.id)`
	deliveryCols = `d.seq, d.endpoint_id, d.message_id, d.org_id, d.type, d.status, d.attempts, d.next_attempt_time,
	d.lease_until, d.last_error, d.create_time, d.delivered_time,
	ev.id, ev.seq, ev.org_id, ev.type, ev.user_id, ev.actor_id, ev.data, ev.create_time`
	deliveryFrom = ` FROM {s}.webhook_deliveries d JOIN {s}.events ev ON ev.seq = d.event_seq`

	// qClaimDeliveries leases due deliveries in one statement, as
	// qClaimOutbox does: FOR UPDATE SKIP LOCKED never hands out the same
	// delivery twice while its lease runs. It claims in order per endpoint
	// and organization: a delivery behind an earlier PENDING one of the
	// same endpoint and organization that waits for its next attempt, or
	// is leased, is not claimable: blk is, per endpoint and organization,
	// the first such one (one pass over the PENDING ones; a NOT EXISTS per
	// candidate measured quadratic, 2.4 s for 2,000 of one organization).
	// Claims run one at a time under the claim lock
	// (ClaimWebhookDeliveries), so the statement's snapshot sees every
	// earlier claim's leases.
	qClaimDeliveries = `WITH blk AS (
	SELECT endpoint_id, org_id, min(seq) AS seq FROM {s}.webhook_deliveries
	WHERE status = 'PENDING' AND (next_attempt_time > $1 OR lease_until > $1)
	GROUP BY endpoint_id, org_id),
c AS (
	SELECT d.seq FROM {s}.webhook_deliveries d
	LEFT JOIN blk ON blk.endpoint_id = d.endpoint_id AND blk.org_id = d.org_id
	WHERE d.status = 'PENDING' AND d.next_attempt_time <= $1 AND d.lease_until <= $1 AND (blk.seq IS NULL OR d.seq < blk.seq)
	ORDER BY d.seq LIMIT $3
	FOR UPDATE OF d SKIP LOCKED)
UPDATE {s}.webhook_deliveries d SET lease_until = $2 FROM c, {s}.events ev
WHERE d.seq = c.seq AND ev.seq = d.event_seq
RETURNING ` + deliveryCols
)

func scanEndpoint(row pgx.Row) (store.WebhookEndpoint, error) {
	var ep store.WebhookEndpoint
	var types string
	err := row.Scan(&ep.ID, &ep.URL, &ep.OrganizationID, &ep.Description, &ep.SealedSecret, &ep.SealedPreviousSecret,
		&ep.PreviousSecretUntil, &ep.CreatedBy, &ep.CreateTime, &ep.UpdateTime, &ep.DisabledTime, &ep.DisabledReason, &ep.FailingSince, &ep.Revision, &types)
	if err != nil {
		return ep, err
	}
	ep.PreviousSecretUntil, ep.CreateTime, ep.UpdateTime = utc(ep.PreviousSecretUntil), utc(ep.CreateTime), utc(ep.UpdateTime)
	for _, p := range []**time.Time{&ep.DisabledTime, &ep.FailingSince} {
		if *p != nil {
			t := utc(**p)
			*p = &t
		}
	}
	if types != "" {
		ep.EventTypes = strings.Fields(types)
	}
	return ep, nil
}

func scanDelivery(row pgx.Row) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var status string
	var data []byte
	err := row.Scan(&d.Seq, &d.EndpointID, &d.MessageID, &d.OrganizationID, &d.Type, &status, &d.Attempts, &d.NextAttemptTime,
		&d.LeaseUntil, &d.LastError, &d.CreateTime, &d.DeliveredTime, &d.Event.ID, &d.Event.Seq, &d.Event.OrganizationID,
		&d.Event.Type, &d.Event.UserID, &d.Event.ActorID, &data, &d.Event.CreateTime)
	if err != nil {
		return d, err
	}
	d.Status = store.WebhookDeliveryStatus(status)
	d.NextAttemptTime, d.CreateTime, d.Event.CreateTime = utc(d.NextAttemptTime), utc(d.CreateTime), utc(d.Event.CreateTime)
	if d.LeaseUntil = utc(d.LeaseUntil); d.LeaseUntil.Year() <= 1 {
		d.LeaseUntil = time.Time{}
	}
	if d.DeliveredTime != nil {
		t := utc(*d.DeliveredTime)
		d.DeliveredTime = &t
	}
	d.Event.Data, err = decodeMap(data)
	return d, err
}

func (s *Store) setEndpointTypes(ctx context.Context, tx pgx.Tx, id string, types []string) error {
	if _, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.webhook_endpoint_types WHERE endpoint_id = $1`), id); err != nil {
		return err
	}
	if len(types) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.webhook_endpoint_types (type, endpoint_id)
		SELECT DISTINCT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`), types, id)
	return err
}

// CreateWebhookEndpoint implements store.WebhookStore.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, ep store.WebhookEndpoint) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.webhook_endpoints (id, url, org_id, description, secret, prev_secret,
			prev_secret_until, created_by, create_time, update_time, disabled_time, disabled_reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`),
			ep.ID, ep.URL, ep.OrganizationID, ep.Description, ep.SealedSecret, ep.SealedPreviousSecret, ts(ep.PreviousSecretUntil),
			ep.CreatedBy, ts(ep.CreateTime), ts(ep.UpdateTime), tsPtr(ep.DisabledTime), ep.DisabledReason); err != nil {
			return err
		}
		return s.setEndpointTypes(ctx, tx, ep.ID, ep.EventTypes)
	})
	if err != nil {
		return fmt.Errorf("pgstore: create webhook endpoint: %w", err)
	}
	return nil
}

// GetWebhookEndpoint implements store.WebhookStore.
func (s *Store) GetWebhookEndpoint(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	ep, err := scanEndpoint(s.pool.QueryRow(ctx, s.sql(`SELECT `+endpointCols+` FROM {s}.webhook_endpoints e WHERE e.id = $1`), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return ep, fmt.Errorf("pgstore: webhook endpoint %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return ep, fmt.Errorf("pgstore: get webhook endpoint: %w", err)
	}
	return ep, nil
}

// ListWebhookEndpoints implements store.WebhookStore.
func (s *Store) ListWebhookEndpoints(ctx context.Context, orgID string, all bool) ([]store.WebhookEndpoint, error) {
	rows, err := s.pool.Query(ctx, s.sql(`SELECT `+endpointCols+` FROM {s}.webhook_endpoints e
		WHERE $2 OR e.org_id = $1 ORDER BY e.seq`), orgID, all)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookEndpoint
	for rows.Next() {
		ep, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list webhook endpoints: %w", err)
		}
		out = append(out, ep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list webhook endpoints: %w", err)
	}
	return out, nil
}

// UpdateWebhookEndpoint implements store.WebhookStore.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, ep store.WebhookEndpoint, ev *store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// The compare-and-swap: one UPDATE at revision $10 (under read
		// committed, a concurrent write's row lock makes this one wait and
		// then see its revision). No row: stale, or no such endpoint.
		var orgID string
		err := tx.QueryRow(ctx, s.sql(`UPDATE {s}.webhook_endpoints SET url = $2, description = $3, secret = $4, prev_secret = $5,
			prev_secret_until = $6, update_time = $7, disabled_time = $8, disabled_reason = $9, revision = revision + 1,
			failing_since = CASE WHEN $8::timestamptz IS NULL AND disabled_time IS NOT NULL THEN NULL ELSE failing_since END
			WHERE id = $1 AND revision = $10 RETURNING org_id`),
			ep.ID, ep.URL, ep.Description, ep.SealedSecret, ep.SealedPreviousSecret, ts(ep.PreviousSecretUntil), ts(ep.UpdateTime),
			tsPtr(ep.DisabledTime), ep.DisabledReason, ep.Revision).Scan(&orgID)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {s}.webhook_endpoints WHERE id = $1)`), ep.ID).Scan(&exists); err != nil {
				return fmt.Errorf("pgstore: update webhook endpoint: %w", err)
			}
			if exists {
				return fmt.Errorf("pgstore: webhook endpoint %q not at revision %d: %w", ep.ID, ep.Revision, store.ErrWebhookEndpointStale)
			}
			return fmt.Errorf("pgstore: webhook endpoint %q: %w", ep.ID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("pgstore: update webhook endpoint: %w", err)
		}
		if err := s.setEndpointTypes(ctx, tx, ep.ID, ep.EventTypes); err != nil {
			return fmt.Errorf("pgstore: update webhook endpoint: %w", err)
		}
		if ev != nil {
			if err := s.appendEvent(ctx, tx, store.FillEvent(*ev, orgID, "")); err != nil {
				return fmt.Errorf("pgstore: update webhook endpoint: %w", err)
			}
		}
		return nil
	})
}

// DeleteWebhookEndpoint implements store.WebhookStore.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return s.deleteWebhookEndpoint(ctx, id, nil)
}

// DeleteWebhookEndpointAt implements store.WebhookStore: one DELETE at
// the revision (under read committed, a concurrent write's row lock makes
// it wait and then see that write's revision).
func (s *Store) DeleteWebhookEndpointAt(ctx context.Context, id string, revision int64) error {
	return s.deleteWebhookEndpoint(ctx, id, &revision)
}

// deleteWebhookEndpoint deletes endpoint id, only at *revision when
// revision is not nil.
func (s *Store) deleteWebhookEndpoint(ctx context.Context, id string, revision *int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.webhook_endpoints WHERE id = $1 AND ($2::bigint IS NULL OR revision = $2)`), id, revision)
		if err != nil {
			return fmt.Errorf("pgstore: delete webhook endpoint: %w", err)
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if revision != nil {
				if err := tx.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {s}.webhook_endpoints WHERE id = $1)`), id).Scan(&exists); err != nil {
					return fmt.Errorf("pgstore: delete webhook endpoint: %w", err)
				}
			}
			if exists {
				return fmt.Errorf("pgstore: webhook endpoint %q not at revision %d: %w", id, *revision, store.ErrWebhookEndpointStale)
			}
			return fmt.Errorf("pgstore: webhook endpoint %q: %w", id, store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.webhook_endpoint_types WHERE endpoint_id = $1`), id); err != nil {
			return fmt.Errorf("pgstore: delete webhook endpoint: %w", err)
		}
		if _, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.webhook_deliveries WHERE endpoint_id = $1`), id); err != nil {
			return fmt.Errorf("pgstore: delete webhook endpoint: %w", err)
		}
		return nil
	})
}

// ClaimWebhookDeliveries implements store.WebhookStore (qClaimDeliveries).
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []store.WebhookDelivery
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("invitekit.webhook_claim", s.schema)); err != nil {
			return err
		}
		var err error
		out, err = collectDeliveries(ctx, tx, true, s.sql(qClaimDeliveries), ts(now), ts(leaseUntil), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim webhook deliveries: %w", err)
	}
	return out, nil
}

func (s *Store) deliveries(ctx context.Context, op string, sortBySeq bool, query string, args ...any) ([]store.WebhookDelivery, error) {
	out, err := collectDeliveries(ctx, s.pool, sortBySeq, query, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	return out, nil
}

func collectDeliveries(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sortBySeq bool, query string, args ...any) ([]store.WebhookDelivery, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if sortBySeq { // UPDATE … RETURNING has no order
		sortDeliveries(out)
	}
	return out, nil
}

func sortDeliveries(ds []store.WebhookDelivery) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Seq < ds[j].Seq })
}

// markDelivery runs a conditional update of a delivery; when it touches no
// row, it tells a missing delivery (ErrNotFound) from one in another state
// (a no-op).
func (s *Store) markDelivery(ctx context.Context, endpointID, messageID, set, cond string, args ...any) error {
	args = append([]any{endpointID, messageID}, args...)
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {s}.webhook_deliveries SET `+set+`
		WHERE endpoint_id = $1 AND message_id = $2 AND `+cond), args...)
	if err != nil {
		return fmt.Errorf("pgstore: webhook delivery %q: %w", messageID, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {s}.webhook_deliveries
		WHERE endpoint_id = $1 AND message_id = $2)`), endpointID, messageID).Scan(&exists); err != nil {
		return fmt.Errorf("pgstore: webhook delivery %q: %w", messageID, err)
	}
	if !exists {
		return fmt.Errorf("pgstore: webhook delivery %q of %q: %w", messageID, endpointID, store.ErrNotFound)
	}
	return nil
}

// MarkWebhookDelivered implements store.WebhookStore.
func (s *Store) MarkWebhookDelivered(ctx context.Context, endpointID, messageID string, attempts int, at time.Time) error {
	return s.markDelivery(ctx, endpointID, messageID,
		`status = 'DELIVERED', attempts = $3, delivered_time = $4, last_error = '', lease_until = '0001-01-01 00:00:00+00'`,
		`status = 'PENDING'`, attempts, ts(at))
}

// MarkWebhookRetry implements store.WebhookStore.
func (s *Store) MarkWebhookRetry(ctx context.Context, endpointID, messageID string, attempts int, next time.Time, lastErr string) error {
	return s.markDelivery(ctx, endpointID, messageID,
		`attempts = $3, next_attempt_time = $4, last_error = $5, lease_until = '0001-01-01 00:00:00+00'`,
		`status = 'PENDING'`, attempts, ts(next), lastErr)
}

// MarkWebhookDead implements store.WebhookStore.
func (s *Store) MarkWebhookDead(ctx context.Context, endpointID, messageID string, attempts int, lastErr string) error {
	return s.markDelivery(ctx, endpointID, messageID,
		`status = 'DEAD', attempts = $3, last_error = $4, lease_until = '0001-01-01 00:00:00+00'`,
		`status = 'PENDING'`, attempts, lastErr)
}

// ReplayWebhookDelivery implements store.WebhookStore.
func (s *Store) ReplayWebhookDelivery(ctx context.Context, endpointID, messageID string, now time.Time) error {
	return s.markDelivery(ctx, endpointID, messageID,
		`status = 'PENDING', attempts = 0, next_attempt_time = $3, lease_until = '0001-01-01 00:00:00+00'`,
		`status <> 'PENDING'`, ts(now))
}

// GetWebhookDelivery implements store.WebhookStore.
func (s *Store) GetWebhookDelivery(ctx context.Context, endpointID, messageID string) (store.WebhookDelivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, s.sql(`SELECT `+deliveryCols+deliveryFrom+`
		WHERE d.endpoint_id = $1 AND d.message_id = $2`), endpointID, messageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, fmt.Errorf("pgstore: webhook delivery %q of %q: %w", messageID, endpointID, store.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("pgstore: get webhook delivery: %w", err)
	}
	return d, nil
}

// ListWebhookDeliveries implements store.WebhookStore.
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID string, status store.WebhookDeliveryStatus, afterSeq int64, limit int) ([]store.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.deliveries(ctx, "list webhook deliveries", false, s.sql(qListDeliveries), endpointID, afterSeq, string(status), limit)
}

// qListDeliveries is a page of an endpoint's deliveries: a range of
// webhook_deliveries_endpoint (endpoint_id, seq), whatever the page
// (TestLookupsUseIndexes).
const qListDeliveries = `SELECT ` + deliveryCols + deliveryFrom + `
	WHERE d.endpoint_id = $1 AND d.seq > $2 AND ($3 = '' OR d.status = $3) ORDER BY d.seq LIMIT $4`

// NoticeExpiredInvitations implements store.WebhookStore: the notices and
// their events are one transaction; an invitation another sweeper noticed
// meanwhile is skipped (ON CONFLICT DO NOTHING, SKIP LOCKED).
func (s *Store) NoticeExpiredInvitations(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, s.sql(`SELECT i.id, i.org_id, i.user_id, i.expire_time FROM {s}.invitations i
			JOIN {s}.memberships m ON m.org_id = i.org_id AND m.user_id = i.user_id AND m.status = 'PENDING_INVITE'
			WHERE i.spend_time IS NULL AND i.revoke_time IS NULL AND i.expire_time <= $1
			AND NOT EXISTS (SELECT 1 FROM {s}.webhook_expiry_notices x WHERE x.invitation_id = i.id)
			ORDER BY i.seq LIMIT $2 FOR UPDATE OF i SKIP LOCKED`), ts(now), limit)
		if err != nil {
			return err
		}
		var evs []store.Event
		for rows.Next() {
			var invID, orgID, userID string
			var exp time.Time
			if err := rows.Scan(&invID, &orgID, &userID, &exp); err != nil {
				rows.Close()
				return err
			}
			evs = append(evs, store.Event{ID: store.NewID("evt"), OrganizationID: orgID, Type: store.EventInvitationExpired, UserID: userID,
				Data: map[string]string{"invitation_id": invID, "expire_time": utc(exp).Format(time.RFC3339)}, CreateTime: ts(now)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Events are appended in organization order: each takes its
		// organization's event lock, always in the same order.
		sortEventsByOrg(evs)
		for _, ev := range evs {
			tag, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.webhook_expiry_notices (invitation_id) VALUES ($1) ON CONFLICT DO NOTHING`),
				ev.Data["invitation_id"])
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			if err := s.appendEvent(ctx, tx, ev); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: notice expired invitations: %w", err)
	}
	return n, nil
}

func sortEventsByOrg(evs []store.Event) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].OrganizationID < evs[j].OrganizationID })
}

var _ store.WebhookEndpointHealth = (*Store)(nil)

// NoteWebhookFailure implements store.WebhookEndpointHealth.
func (s *Store) NoteWebhookFailure(ctx context.Context, endpointID string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, s.sql(`UPDATE {s}.webhook_endpoints SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL`),
		endpointID, ts(at)); err != nil {
		return fmt.Errorf("pgstore: note webhook failure: %w", err)
	}
	return nil
}

// NoteWebhookSuccess implements store.WebhookEndpointHealth.
func (s *Store) NoteWebhookSuccess(ctx context.Context, endpointID string) error {
	if _, err := s.pool.Exec(ctx, s.sql(`UPDATE {s}.webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`),
		endpointID); err != nil {
		return fmt.Errorf("pgstore: note webhook success: %w", err)
	}
	return nil
}

// DisableFailingWebhookEndpoint implements store.WebhookEndpointHealth:
// the conditional UPDATE takes the endpoint's row lock, so of two callers
// at once the second finds it disabled.
func (s *Store) DisableFailingWebhookEndpoint(ctx context.Context, endpointID string, failingSince, at time.Time, reason string, ev store.Event) (bool, error) {
	done := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		done = false
		var orgID string
		err := tx.QueryRow(ctx, s.sql(`UPDATE {s}.webhook_endpoints SET disabled_time = $2, update_time = $2, disabled_reason = $3,
			revision = revision + 1 WHERE id = $1 AND disabled_time IS NULL AND failing_since IS NOT NULL AND failing_since <= $4 RETURNING org_id`),
			endpointID, ts(at), reason, ts(failingSince)).Scan(&orgID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		done = true
		return s.appendEvent(ctx, tx, store.FillEvent(ev, orgID, ""))
	})
	if err != nil {
		return false, fmt.Errorf("pgstore: disable failing webhook endpoint: %w", err)
	}
	return done, nil
}

var _ store.WebhookDeliveredMarker = (*Store)(nil)

// MarkWebhooksDelivered implements store.WebhookDeliveredMarker: one
// UPDATE over the marks.
func (s *Store) MarkWebhooksDelivered(ctx context.Context, marks []store.WebhookMark) error {
	if len(marks) == 0 {
		return nil
	}
	eps, ids, attempts, ats := make([]string, len(marks)), make([]string, len(marks)), make([]int32, len(marks)), make([]time.Time, len(marks))
	for i, m := range marks {
		eps[i], ids[i], attempts[i], ats[i] = m.EndpointID, m.MessageID, int32(m.Attempts), ts(m.At)
	}
	if _, err := s.pool.Exec(ctx, s.sql(`UPDATE {s}.webhook_deliveries d SET status = 'DELIVERED', attempts = m.attempts,
		delivered_time = m.at, last_error = '', lease_until = '0001-01-01 00:00:00+00'
		FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[]) AS m(endpoint_id, message_id, attempts, at)
		WHERE d.endpoint_id = m.endpoint_id AND d.message_id = m.message_id AND d.status = 'PENDING'`),
		eps, ids, attempts, ats); err != nil {
		return fmt.Errorf("pgstore: mark webhooks delivered: %w", err)
	}
	return nil
}
