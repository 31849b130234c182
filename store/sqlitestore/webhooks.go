package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/invitekit/invitekit/store"
)

var _ store.WebhookStore = (*Store)(nil)

// Webhook endpoints and deliveries (migration 0005_webhooks). The
// deliveries of an event are written by the trigger
// webhook_deliveries_of_event, in the transaction that appends the event.

const (
	endpointColumns = `e.id, e.url, e.org_id, e.description, e.secret, e.prev_secret, e.prev_secret_until, e.created_by,
e.create_time, e.update_time, e.disabled_time, e.disabled_reason, e.failing_since, e.revision,
(SELECT group_concat(t.type, ' ') FROM webhook_endpoint_types t WHERE t.endpoint_id = e.id)`
	deliveryColumns = `d.seq, d.endpoint_id, d.message_id, d.org_id, d.type, d.status, d.attempts, d.next_attempt_time,
d.lease_until, d.last_error, d.create_time, d.delivered_time,
ev.seq, ev.id, ev.org_id, ev.type, ev.user_id, ev.actor_id, ev.data, ev.create_time`
	deliveryFrom = ` FROM webhook_deliveries d JOIN events ev ON ev.seq = d.event_seq`

	qInsertEndpoint = `INSERT INTO webhook_endpoints (id, url, org_id, description, secret, prev_secret, prev_secret_until,
created_by, create_time, update_time, disabled_time, disabled_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertEndpointType  = `INSERT OR IGNORE INTO webhook_endpoint_types (type, endpoint_id) VALUES (?, ?)`
	qDeleteEndpointTypes = `DELETE FROM webhook_endpoint_types WHERE endpoint_id = ?`
	// qUpdateEndpoint is the compare-and-swap of UpdateWebhookEndpoint:
	// it writes only at revision ?10.
	qUpdateEndpoint = `UPDATE webhook_endpoints SET url = ?1, description = ?2, secret = ?3, prev_secret = ?4, prev_secret_until = ?5,
update_time = ?6, disabled_time = ?7, disabled_reason = ?8, revision = revision + 1,
failing_since = CASE WHEN ?7 IS NULL AND disabled_time IS NOT NULL THEN NULL ELSE failing_since END WHERE id = ?9 AND revision = ?10`
	qEndpointOrg          = `SELECT org_id FROM webhook_endpoints WHERE id = ?`
	qGetEndpoint          = `SELECT ` + endpointColumns + ` FROM webhook_endpoints e WHERE e.id = ?`
	qListEndpoints        = `SELECT ` + endpointColumns + ` FROM webhook_endpoints e WHERE e.org_id = ? ORDER BY e.seq`
	qListEndpointsAll     = `SELECT ` + endpointColumns + ` FROM webhook_endpoints e ORDER BY e.seq`
	qDeleteEndpoint       = `DELETE FROM webhook_endpoints WHERE id = ?`
	qDeleteEndpointAt     = `DELETE FROM webhook_endpoints WHERE id = ? AND revision = ?`
	qEndpointExists       = `SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?)`
	qDeleteDeliveriesOfEp = `DELETE FROM webhook_deliveries WHERE endpoint_id = ?`

	// qClaimDeliveries claims in order per endpoint and organization: a
	// delivery behind an earlier PENDING one of the same endpoint and
	// organization that waits for its next attempt, or is leased, is not
	// claimable (webhook_deliveries_group finds that one).
	qClaimDeliveries = `SELECT ` + deliveryColumns + deliveryFrom + `
WHERE ` + claimable + ` ORDER BY d.seq LIMIT ?2`
	claimable = `d.status = 'PENDING' AND d.next_attempt_time <= ?1 AND d.lease_until <= ?1
AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b WHERE b.endpoint_id = d.endpoint_id AND b.org_id = d.org_id
	AND b.status = 'PENDING' AND b.seq < d.seq AND (b.next_attempt_time > ?1 OR b.lease_until > ?1))`
	// qAnyClaimable is asked on a reader first, so an idle dispatcher
	// never takes the write lock.
	qAnyClaimable       = `SELECT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE ` + claimable + `)`
	qLeaseDelivery      = `UPDATE webhook_deliveries SET lease_until = ? WHERE seq = ?`
	qDeliveryStatus     = `SELECT status FROM webhook_deliveries WHERE endpoint_id = ? AND message_id = ?`
	qDelivered          = `UPDATE webhook_deliveries SET status = 'DELIVERED', attempts = ?, delivered_time = ?, last_error = '', lease_until = 0 WHERE endpoint_id = ? AND message_id = ?`
	qDeliveredIfPending = `UPDATE webhook_deliveries SET status = 'DELIVERED', attempts = ?, delivered_time = ?, last_error = '', lease_until = 0 WHERE endpoint_id = ? AND message_id = ? AND status = 'PENDING'`
	qDeliveryRetry      = `UPDATE webhook_deliveries SET attempts = ?, next_attempt_time = ?, last_error = ?, lease_until = 0 WHERE endpoint_id = ? AND message_id = ?`
	qDeliveryDead       = `UPDATE webhook_deliveries SET status = 'DEAD', attempts = ?, last_error = ?, lease_until = 0 WHERE endpoint_id = ? AND message_id = ?`
	qDeliveryReplay     = `UPDATE webhook_deliveries SET status = 'PENDING', attempts = 0, next_attempt_time = ?, lease_until = 0 WHERE endpoint_id = ? AND message_id = ? AND status <> 'PENDING'`
	qGetDelivery        = `SELECT ` + deliveryColumns + deliveryFrom + ` WHERE d.endpoint_id = ? AND d.message_id = ?`
	// qListDeliveries pages on webhook_deliveries_endpoint (endpoint_id,
	// seq).
	qListDeliveries = `SELECT ` + deliveryColumns + deliveryFrom + ` WHERE d.endpoint_id = ?1 AND d.seq > ?2 AND (?3 = '' OR d.status = ?3) ORDER BY d.seq LIMIT ?4`
	qExpiredInvites = `SELECT i.id, i.org_id, i.user_id, i.expire_time FROM invitations i
JOIN memberships m ON m.org_id = i.org_id AND m.user_id = i.user_id AND m.status = 'PENDING_INVITE'
WHERE i.spend_time IS NULL AND i.revoke_time IS NULL AND i.expire_time <= ?
AND NOT EXISTS (SELECT 1 FROM webhook_expiry_notices n WHERE n.invitation_id = i.id)
ORDER BY i.rowid LIMIT ?`
	qNoticeExpiry = `INSERT INTO webhook_expiry_notices (invitation_id) VALUES (?)`

	qNoteFailure    = `UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL`
	qNoteSuccess    = `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`
	qDisableFailing = `UPDATE webhook_endpoints SET disabled_time = ?1, update_time = ?1, disabled_reason = ?2, revision = revision + 1
WHERE id = ?3 AND disabled_time IS NULL AND failing_since IS NOT NULL AND failing_since <= ?4`
)

// webhookWriteQueries are prepared on the writer by Open.
var webhookWriteQueries = []string{
	qInsertEndpoint, qInsertEndpointType, qDeleteEndpointTypes, qUpdateEndpoint, qEndpointOrg, qDeleteEndpoint, qDeleteEndpointAt, qEndpointExists,
	qDeleteDeliveriesOfEp, qClaimDeliveries, qLeaseDelivery, qDeliveryStatus, qDelivered, qDeliveryRetry,
	qDeliveryDead, qDeliveryReplay, qExpiredInvites, qNoticeExpiry, qNoteFailure, qNoteSuccess, qDisableFailing, qDeliveredIfPending,
}

func scanEndpoint(sc scanner) (store.WebhookEndpoint, error) {
	var ep store.WebhookEndpoint
	var prevUntil, ct, ut int64
	var dt, fs sql.NullInt64
	var types sql.NullString
	err := sc.Scan(&ep.ID, &ep.URL, &ep.OrganizationID, &ep.Description, &ep.SealedSecret, &ep.SealedPreviousSecret,
		&prevUntil, &ep.CreatedBy, &ct, &ut, &dt, &ep.DisabledReason, &fs, &ep.Revision, &types)
	if err != nil {
		return ep, err
	}
	ep.SealedSecret, ep.SealedPreviousSecret = bytesOf(ep.SealedSecret), bytesOf(ep.SealedPreviousSecret)
	ep.PreviousSecretUntil, ep.CreateTime, ep.UpdateTime = timeOf(prevUntil), timeOf(ct), timeOf(ut)
	ep.DisabledTime, ep.FailingSince = timePtrOf(dt), timePtrOf(fs)
	if types.String != "" {
		ep.EventTypes = strings.Fields(types.String)
	}
	return ep, nil
}

func scanDelivery(sc scanner) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var status string
	var nat, lu, ct, ect int64
	var dt sql.NullInt64
	var data sql.NullString
	err := sc.Scan(&d.Seq, &d.EndpointID, &d.MessageID, &d.OrganizationID, &d.Type, &status, &d.Attempts, &nat, &lu,
		&d.LastError, &ct, &dt, &d.Event.Seq, &d.Event.ID, &d.Event.OrganizationID, &d.Event.Type, &d.Event.UserID,
		&d.Event.ActorID, &data, &ect)
	if err != nil {
		return d, err
	}
	d.Status = store.WebhookDeliveryStatus(status)
	d.NextAttemptTime, d.LeaseUntil, d.CreateTime, d.Event.CreateTime = timeOf(nat), timeOf(lu), timeOf(ct), timeOf(ect)
	d.DeliveredTime = timePtrOf(dt)
	if d.Event.Data, err = mapOf(data); err != nil {
		return d, err
	}
	return d, nil
}

func (t *wtx) setEndpointTypes(id string, types []string) error {
	if _, err := t.exec(qDeleteEndpointTypes, id); err != nil {
		return err
	}
	for _, typ := range types {
		if _, err := t.exec(qInsertEndpointType, typ, id); err != nil {
			return err
		}
	}
	return nil
}

// CreateWebhookEndpoint implements store.WebhookStore.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, ep store.WebhookEndpoint) error {
	return s.write(ctx, func(t *wtx) error {
		if _, err := t.exec(qInsertEndpoint, ep.ID, ep.URL, ep.OrganizationID, ep.Description, blobArg(ep.SealedSecret),
			blobArg(ep.SealedPreviousSecret), tsOf(ep.PreviousSecretUntil), ep.CreatedBy, tsOf(ep.CreateTime),
			tsOf(ep.UpdateTime), nullTsArg(ep.DisabledTime), ep.DisabledReason); err != nil {
			return err
		}
		return t.setEndpointTypes(ep.ID, ep.EventTypes)
	})
}

// GetWebhookEndpoint implements store.WebhookStore.
func (s *Store) GetWebhookEndpoint(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	var ep store.WebhookEndpoint
	err := s.readRow(ctx, func(sc scanner) (err error) { ep, err = scanEndpoint(sc); return err }, qGetEndpoint, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ep, fmt.Errorf("sqlitestore: webhook endpoint %q: %w", id, store.ErrNotFound)
	}
	return ep, err
}

// ListWebhookEndpoints implements store.WebhookStore.
func (s *Store) ListWebhookEndpoints(ctx context.Context, orgID string, all bool) ([]store.WebhookEndpoint, error) {
	query, args := qListEndpoints, []any{orgID}
	if all {
		query, args = qListEndpointsAll, nil
	}
	rows, err := s.readRows(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.WebhookEndpoint
	for rows.Next() {
		ep, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		out = append(out, ep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return out, nil
}

// UpdateWebhookEndpoint implements store.WebhookStore.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, ep store.WebhookEndpoint, ev *store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		var orgID string
		err := t.row(func(sc scanner) error { return sc.Scan(&orgID) }, qEndpointOrg, ep.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlitestore: webhook endpoint %q: %w", ep.ID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		n, err := t.execN(qUpdateEndpoint, ep.URL, ep.Description, blobArg(ep.SealedSecret), blobArg(ep.SealedPreviousSecret),
			tsOf(ep.PreviousSecretUntil), tsOf(ep.UpdateTime), nullTsArg(ep.DisabledTime), ep.DisabledReason, ep.ID, ep.Revision)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("sqlitestore: webhook endpoint %q not at revision %d: %w", ep.ID, ep.Revision, store.ErrWebhookEndpointStale)
		}
		if err := t.setEndpointTypes(ep.ID, ep.EventTypes); err != nil {
			return err
		}
		if ev != nil {
			return t.appendEvent(store.FillEvent(*ev, orgID, ""))
		}
		return nil
	})
}

// DeleteWebhookEndpoint implements store.WebhookStore.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return s.deleteWebhookEndpoint(ctx, id, nil)
}

// DeleteWebhookEndpointAt implements store.WebhookStore.
func (s *Store) DeleteWebhookEndpointAt(ctx context.Context, id string, revision int64) error {
	return s.deleteWebhookEndpoint(ctx, id, &revision)
}

// deleteWebhookEndpoint deletes endpoint id, only at *revision when
// revision is not nil.
func (s *Store) deleteWebhookEndpoint(ctx context.Context, id string, revision *int64) error {
	return s.write(ctx, func(t *wtx) error {
		var n int64
		var err error
		if revision == nil {
			n, err = t.execN(qDeleteEndpoint, id)
		} else {
			n, err = t.execN(qDeleteEndpointAt, id, *revision)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			var exists bool
			if revision != nil {
				if err := t.row(func(sc scanner) error { return sc.Scan(&exists) }, qEndpointExists, id); err != nil {
					return err
				}
			}
			if exists {
				return fmt.Errorf("sqlitestore: webhook endpoint %q not at revision %d: %w", id, *revision, store.ErrWebhookEndpointStale)
			}
			return fmt.Errorf("sqlitestore: webhook endpoint %q: %w", id, store.ErrNotFound)
		}
		if _, err := t.exec(qDeleteEndpointTypes, id); err != nil {
			return err
		}
		_, err = t.exec(qDeleteDeliveriesOfEp, id)
		return err
	})
}

// ClaimWebhookDeliveries implements store.WebhookStore. The select and the
// lease are one write transaction (SQLite's write lock), so no other
// claimer sees the same deliveries as claimable. When a reader sees none,
// it takes no write lock at all.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	var due bool
	if err := s.readRow(ctx, func(sc scanner) error { return sc.Scan(&due) }, qAnyClaimable, tsOf(now)); err != nil || !due {
		return nil, err
	}
	var out []store.WebhookDelivery
	err := s.write(ctx, func(t *wtx) error {
		out = nil
		rows, err := t.query(qClaimDeliveries, tsOf(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("sqlitestore: %w", err)
			}
			d.LeaseUntil = timeOf(tsOf(leaseUntil))
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitestore: %w", err)
		}
		rows.Close()
		for _, d := range out {
			if _, err := t.exec(qLeaseDelivery, tsOf(leaseUntil), d.Seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// markDelivery runs a transition of a PENDING delivery (a no-op otherwise).
func (s *Store) markDelivery(ctx context.Context, endpointID, messageID, query string, args ...any) error {
	return s.write(ctx, func(t *wtx) error {
		var status string
		err := t.row(func(sc scanner) error { return sc.Scan(&status) }, qDeliveryStatus, endpointID, messageID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlitestore: webhook delivery %q of %q: %w", messageID, endpointID, store.ErrNotFound)
		}
		if err != nil || (query != qDeliveryReplay && status != string(store.WebhookPending)) {
			return err
		}
		_, err = t.exec(query, append(args, endpointID, messageID)...)
		return err
	})
}

// MarkWebhookDelivered implements store.WebhookStore.
func (s *Store) MarkWebhookDelivered(ctx context.Context, endpointID, messageID string, attempts int, at time.Time) error {
	return s.markDelivery(ctx, endpointID, messageID, qDelivered, attempts, tsOf(at))
}

// MarkWebhookRetry implements store.WebhookStore.
func (s *Store) MarkWebhookRetry(ctx context.Context, endpointID, messageID string, attempts int, next time.Time, lastErr string) error {
	return s.markDelivery(ctx, endpointID, messageID, qDeliveryRetry, attempts, tsOf(next), lastErr)
}

// MarkWebhookDead implements store.WebhookStore.
func (s *Store) MarkWebhookDead(ctx context.Context, endpointID, messageID string, attempts int, lastErr string) error {
	return s.markDelivery(ctx, endpointID, messageID, qDeliveryDead, attempts, lastErr)
}

// ReplayWebhookDelivery implements store.WebhookStore.
func (s *Store) ReplayWebhookDelivery(ctx context.Context, endpointID, messageID string, now time.Time) error {
	return s.markDelivery(ctx, endpointID, messageID, qDeliveryReplay, tsOf(now))
}

// GetWebhookDelivery implements store.WebhookStore.
func (s *Store) GetWebhookDelivery(ctx context.Context, endpointID, messageID string) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	err := s.readRow(ctx, func(sc scanner) (err error) { d, err = scanDelivery(sc); return err }, qGetDelivery, endpointID, messageID)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("sqlitestore: webhook delivery %q of %q: %w", messageID, endpointID, store.ErrNotFound)
	}
	return d, err
}

// ListWebhookDeliveries implements store.WebhookStore.
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID string, status store.WebhookDeliveryStatus, afterSeq int64, limit int) ([]store.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.readRows(ctx, qListDeliveries, endpointID, afterSeq, string(status), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return out, nil
}

// NoticeExpiredInvitations implements store.WebhookStore: the notices and
// their events are one transaction.
func (s *Store) NoticeExpiredInvitations(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	n := 0
	err := s.write(ctx, func(t *wtx) error {
		n = 0
		rows, err := t.query(qExpiredInvites, tsOf(now), limit)
		if err != nil {
			return err
		}
		var evs []store.Event
		for rows.Next() {
			var invID, orgID, userID string
			var exp int64
			if err := rows.Scan(&invID, &orgID, &userID, &exp); err != nil {
				rows.Close()
				return fmt.Errorf("sqlitestore: %w", err)
			}
			evs = append(evs, store.Event{ID: store.NewID("evt"), OrganizationID: orgID, Type: store.EventInvitationExpired, UserID: userID,
				Data: map[string]string{"invitation_id": invID, "expire_time": timeOf(exp).Format(time.RFC3339)}, CreateTime: now})
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitestore: %w", err)
		}
		rows.Close()
		for _, ev := range evs {
			if _, err := t.exec(qNoticeExpiry, ev.Data["invitation_id"]); err != nil {
				return err
			}
			if err := t.appendEvent(ev); err != nil {
				return err
			}
		}
		n = len(evs)
		return nil
	})
	return n, err
}

var _ store.WebhookEndpointHealth = (*Store)(nil)

// NoteWebhookFailure implements store.WebhookEndpointHealth.
func (s *Store) NoteWebhookFailure(ctx context.Context, endpointID string, at time.Time) error {
	return s.write(ctx, func(t *wtx) error { _, err := t.exec(qNoteFailure, tsOf(at), endpointID); return err })
}

// NoteWebhookSuccess implements store.WebhookEndpointHealth.
func (s *Store) NoteWebhookSuccess(ctx context.Context, endpointID string) error {
	return s.write(ctx, func(t *wtx) error { _, err := t.exec(qNoteSuccess, endpointID); return err })
}

// DisableFailingWebhookEndpoint implements store.WebhookEndpointHealth.
func (s *Store) DisableFailingWebhookEndpoint(ctx context.Context, endpointID string, failingSince, at time.Time, reason string, ev store.Event) (bool, error) {
	done := false
	err := s.write(ctx, func(t *wtx) error {
		done = false
		n, err := t.execN(qDisableFailing, tsOf(at), reason, endpointID, tsOf(failingSince))
		if err != nil || n == 0 {
			return err
		}
		var orgID string
		if err := t.row(func(sc scanner) error { return sc.Scan(&orgID) }, qEndpointOrg, endpointID); err != nil {
			return err
		}
		done = true
		return t.appendEvent(store.FillEvent(ev, orgID, ""))
	})
	return done, err
}

var _ store.WebhookDeliveredMarker = (*Store)(nil)

// MarkWebhooksDelivered implements store.WebhookDeliveredMarker: the marks
// in one write transaction (one commit).
func (s *Store) MarkWebhooksDelivered(ctx context.Context, marks []store.WebhookMark) error {
	if len(marks) == 0 {
		return nil
	}
	return s.write(ctx, func(t *wtx) error {
		for _, m := range marks {
			if _, err := t.exec(qDeliveredIfPending, m.Attempts, tsOf(m.At), m.EndpointID, m.MessageID); err != nil {
				return err
			}
		}
		return nil
	})
}
