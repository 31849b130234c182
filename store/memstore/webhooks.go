package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/invitekit/invitekit/store"
)

var _ store.WebhookStore = (*Store)(nil)

// whState is the webhook part of state: endpoints, deliveries and the
// invitations whose expiry was noticed.
type whState struct {
	endpoints  map[string]store.WebhookEndpoint
	epSeq      map[string]int64
	deliveries []store.WebhookDelivery // in Seq order
	noticed    map[string]bool
	seq        int64
}

// onEvent writes the deliveries of ev (already assigned its Seq): one per
// enabled endpoint subscribed to one of its webhook types. state.appendEvent
// calls it, so the deliveries share the event's lock and fate.
func (w *whState) onEvent(ev store.Event) {
	if len(w.endpoints) == 0 {
		return
	}
	types := store.WebhookTypesOf(ev)
	if len(types) == 0 {
		return
	}
	ids := make([]string, 0, len(w.endpoints))
	for id := range w.endpoints {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return w.epSeq[ids[i]] < w.epSeq[ids[j]] })
	for _, typ := range types {
		for _, id := range ids {
			if !w.endpoints[id].Subscribes(ev.OrganizationID, typ) {
				continue
			}
			w.seq++
			w.deliveries = append(w.deliveries, store.WebhookDelivery{
				Seq: w.seq, EndpointID: id, MessageID: store.WebhookMessageID(ev.ID, typ),
				OrganizationID: ev.OrganizationID, Type: typ, Event: copyEvent(ev),
				Status: store.WebhookPending, NextAttemptTime: ev.CreateTime, CreateTime: ev.CreateTime,
			})
		}
	}
}

// dropAfter removes the deliveries of events with Seq > eventSeq (a
// rolled-back multi-step write).
func (w *whState) dropAfter(eventSeq int64) {
	w.deliveries = slices.DeleteFunc(w.deliveries, func(d store.WebhookDelivery) bool { return d.Event.Seq > eventSeq })
}

func copyEndpoint(e store.WebhookEndpoint) store.WebhookEndpoint {
	e.EventTypes = slices.Clone(e.EventTypes)
	e.SealedSecret = slices.Clone(e.SealedSecret)
	e.SealedPreviousSecret = slices.Clone(e.SealedPreviousSecret)
	e.DisabledTime = copyTime(e.DisabledTime)
	e.FailingSince = copyTime(e.FailingSince)
	return e
}

func copyDelivery(d store.WebhookDelivery) store.WebhookDelivery {
	d.Event = copyEvent(d.Event)
	d.DeliveredTime = copyTime(d.DeliveredTime)
	return d
}

// CreateWebhookEndpoint implements store.WebhookStore.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, ep store.WebhookEndpoint) error {
	return update(ctx, s, func(st *state) error {
		w := &st.wh
		if w.endpoints == nil {
			w.endpoints, w.epSeq = map[string]store.WebhookEndpoint{}, map[string]int64{}
		}
		if _, ok := w.endpoints[ep.ID]; ok {
			return fmt.Errorf("memstore: webhook endpoint %q exists", ep.ID)
		}
		w.seq++
		ep.Revision = 0
		w.endpoints[ep.ID], w.epSeq[ep.ID] = copyEndpoint(ep), w.seq
		return nil
	})
}

// GetWebhookEndpoint implements store.WebhookStore.
func (s *Store) GetWebhookEndpoint(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return locked(ctx, s, func(st *state) (store.WebhookEndpoint, error) {
		ep, ok := st.wh.endpoints[id]
		if !ok {
			return ep, fmt.Errorf("memstore: webhook endpoint %q: %w", id, store.ErrNotFound)
		}
		return copyEndpoint(ep), nil
	})
}

// ListWebhookEndpoints implements store.WebhookStore.
func (s *Store) ListWebhookEndpoints(ctx context.Context, orgID string, all bool) ([]store.WebhookEndpoint, error) {
	return locked(ctx, s, func(st *state) ([]store.WebhookEndpoint, error) {
		var out []store.WebhookEndpoint
		for _, ep := range st.wh.endpoints {
			if all || ep.OrganizationID == orgID {
				out = append(out, copyEndpoint(ep))
			}
		}
		sort.Slice(out, func(i, j int) bool { return st.wh.epSeq[out[i].ID] < st.wh.epSeq[out[j].ID] })
		return out, nil
	})
}

// UpdateWebhookEndpoint implements store.WebhookStore.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, ep store.WebhookEndpoint, ev *store.Event) error {
	return update(ctx, s, func(st *state) error {
		old, ok := st.wh.endpoints[ep.ID]
		if !ok {
			return fmt.Errorf("memstore: webhook endpoint %q: %w", ep.ID, store.ErrNotFound)
		}
		if ep.Revision != old.Revision {
			return fmt.Errorf("memstore: webhook endpoint %q at revision %d, not %d: %w", ep.ID, old.Revision, ep.Revision, store.ErrWebhookEndpointStale)
		}
		ep.Revision++
		ep.OrganizationID, ep.CreateTime, ep.CreatedBy, ep.FailingSince = old.OrganizationID, old.CreateTime, old.CreatedBy, old.FailingSince
		if ep.DisabledTime == nil && old.DisabledTime != nil {
			ep.FailingSince = nil // re-enabled
		}
		st.wh.endpoints[ep.ID] = copyEndpoint(ep)
		if ev != nil {
			st.appendEvent(store.FillEvent(*ev, ep.OrganizationID, ""))
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
	return update(ctx, s, func(st *state) error {
		ep, ok := st.wh.endpoints[id]
		if !ok {
			return fmt.Errorf("memstore: webhook endpoint %q: %w", id, store.ErrNotFound)
		}
		if revision != nil && ep.Revision != *revision {
			return fmt.Errorf("memstore: webhook endpoint %q at revision %d, not %d: %w", id, ep.Revision, *revision, store.ErrWebhookEndpointStale)
		}
		delete(st.wh.endpoints, id)
		st.wh.deliveries = slices.DeleteFunc(st.wh.deliveries, func(d store.WebhookDelivery) bool { return d.EndpointID == id })
		return nil
	})
}

// ClaimWebhookDeliveries implements store.WebhookStore.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	return locked(ctx, s, func(st *state) ([]store.WebhookDelivery, error) {
		var out []store.WebhookDelivery
		// blocked holds the endpoint and organization pairs with a PENDING
		// delivery that waits or is leased: later ones wait behind it.
		blocked := map[[2]string]bool{}
		for i := range st.wh.deliveries {
			d := &st.wh.deliveries[i]
			if len(out) == limit {
				break
			}
			if d.Status != store.WebhookPending {
				continue
			}
			k := [2]string{d.EndpointID, d.OrganizationID}
			if blocked[k] {
				continue
			}
			if d.NextAttemptTime.After(now) || d.LeaseUntil.After(now) {
				blocked[k] = true
				continue
			}
			d.LeaseUntil = leaseUntil
			out = append(out, copyDelivery(*d))
		}
		return out, nil
	})
}

func (st *state) delivery(endpointID, messageID string) (*store.WebhookDelivery, error) {
	for i := range st.wh.deliveries {
		if d := &st.wh.deliveries[i]; d.EndpointID == endpointID && d.MessageID == messageID {
			return d, nil
		}
	}
	return nil, fmt.Errorf("memstore: webhook delivery %q of %q: %w", messageID, endpointID, store.ErrNotFound)
}

func (s *Store) markDelivery(ctx context.Context, endpointID, messageID string, fn func(d *store.WebhookDelivery)) error {
	return update(ctx, s, func(st *state) error {
		d, err := st.delivery(endpointID, messageID)
		if err != nil || d.Status != store.WebhookPending {
			return err
		}
		fn(d)
		d.LeaseUntil = time.Time{}
		return nil
	})
}

// MarkWebhookDelivered implements store.WebhookStore.
func (s *Store) MarkWebhookDelivered(ctx context.Context, endpointID, messageID string, attempts int, at time.Time) error {
	return s.markDelivery(ctx, endpointID, messageID, func(d *store.WebhookDelivery) {
		d.Status, d.Attempts, d.DeliveredTime, d.LastError = store.WebhookDelivered, attempts, &at, ""
	})
}

// MarkWebhookRetry implements store.WebhookStore.
func (s *Store) MarkWebhookRetry(ctx context.Context, endpointID, messageID string, attempts int, next time.Time, lastErr string) error {
	return s.markDelivery(ctx, endpointID, messageID, func(d *store.WebhookDelivery) {
		d.Attempts, d.NextAttemptTime, d.LastError = attempts, next, lastErr
	})
}

// MarkWebhookDead implements store.WebhookStore.
func (s *Store) MarkWebhookDead(ctx context.Context, endpointID, messageID string, attempts int, lastErr string) error {
	return s.markDelivery(ctx, endpointID, messageID, func(d *store.WebhookDelivery) {
		d.Status, d.Attempts, d.LastError = store.WebhookDead, attempts, lastErr
	})
}

// ReplayWebhookDelivery implements store.WebhookStore.
func (s *Store) ReplayWebhookDelivery(ctx context.Context, endpointID, messageID string, now time.Time) error {
	return update(ctx, s, func(st *state) error {
		d, err := st.delivery(endpointID, messageID)
		if err != nil {
			return err
		}
		if d.Status != store.WebhookPending {
			d.Status, d.Attempts, d.NextAttemptTime, d.LeaseUntil = store.WebhookPending, 0, now, time.Time{}
		}
		return nil
	})
}

// GetWebhookDelivery implements store.WebhookStore.
func (s *Store) GetWebhookDelivery(ctx context.Context, endpointID, messageID string) (store.WebhookDelivery, error) {
	return locked(ctx, s, func(st *state) (store.WebhookDelivery, error) {
		d, err := st.delivery(endpointID, messageID)
		if err != nil {
			return store.WebhookDelivery{}, err
		}
		return copyDelivery(*d), nil
	})
}

// ListWebhookDeliveries implements store.WebhookStore.
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID string, status store.WebhookDeliveryStatus, afterSeq int64, limit int) ([]store.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	return locked(ctx, s, func(st *state) ([]store.WebhookDelivery, error) {
		var out []store.WebhookDelivery
		for _, d := range st.wh.deliveries { // in Seq order
			if len(out) == limit {
				break
			}
			if d.EndpointID == endpointID && d.Seq > afterSeq && (status == "" || d.Status == status) {
				out = append(out, copyDelivery(d))
			}
		}
		return out, nil
	})
}

// NoticeExpiredInvitations implements store.WebhookStore.
func (s *Store) NoticeExpiredInvitations(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	return locked(ctx, s, func(st *state) (int, error) {
		var due []invitation
		for _, r := range st.invitations {
			inv := r.inv
			if inv.SpendTime != nil || inv.RevokeTime != nil || inv.ExpireTime.After(now) || st.wh.noticed[inv.ID] {
				continue
			}
			if m, ok := st.memberships[memberKey(inv.OrganizationID, inv.UserID)]; !ok || m.Status != store.StatusPendingInvite {
				continue
			}
			due = append(due, r)
		}
		sort.Slice(due, func(i, j int) bool { return due[i].seq < due[j].seq })
		if len(due) > limit {
			due = due[:limit]
		}
		if st.wh.noticed == nil {
			st.wh.noticed = map[string]bool{}
		}
		for _, r := range due {
			st.wh.noticed[r.inv.ID] = true
			st.appendEvent(store.Event{
				ID: store.NewID("evt"), OrganizationID: r.inv.OrganizationID, Type: store.EventInvitationExpired,
				UserID: r.inv.UserID, Data: map[string]string{"invitation_id": r.inv.ID, "expire_time": r.inv.ExpireTime.UTC().Format(time.RFC3339)},
				CreateTime: now,
			})
		}
		return len(due), nil
	})
}

var _ store.WebhookEndpointHealth = (*Store)(nil)

func (s *Store) endpointHealth(ctx context.Context, id string, fn func(ep *store.WebhookEndpoint)) error {
	return update(ctx, s, func(st *state) error {
		if ep, ok := st.wh.endpoints[id]; ok {
			fn(&ep)
			st.wh.endpoints[id] = ep
		}
		return nil
	})
}

// NoteWebhookFailure implements store.WebhookEndpointHealth.
func (s *Store) NoteWebhookFailure(ctx context.Context, endpointID string, at time.Time) error {
	return s.endpointHealth(ctx, endpointID, func(ep *store.WebhookEndpoint) {
		if ep.FailingSince == nil {
			ep.FailingSince = &at
		}
	})
}

// NoteWebhookSuccess implements store.WebhookEndpointHealth.
func (s *Store) NoteWebhookSuccess(ctx context.Context, endpointID string) error {
	return s.endpointHealth(ctx, endpointID, func(ep *store.WebhookEndpoint) { ep.FailingSince = nil })
}

// DisableFailingWebhookEndpoint implements store.WebhookEndpointHealth.
func (s *Store) DisableFailingWebhookEndpoint(ctx context.Context, endpointID string, failingSince, at time.Time, reason string, ev store.Event) (bool, error) {
	done := false
	err := update(ctx, s, func(st *state) error {
		ep, ok := st.wh.endpoints[endpointID]
		if !ok || ep.DisabledTime != nil || ep.FailingSince == nil || ep.FailingSince.After(failingSince) {
			return nil
		}
		ep.DisabledTime, ep.DisabledReason, ep.UpdateTime = &at, reason, at
		ep.Revision++
		st.wh.endpoints[endpointID] = ep
		st.appendEvent(store.FillEvent(ev, ep.OrganizationID, ""))
		done = true
		return nil
	})
	return done, err
}

var _ store.WebhookDeliveredMarker = (*Store)(nil)

// MarkWebhooksDelivered implements store.WebhookDeliveredMarker.
func (s *Store) MarkWebhooksDelivered(ctx context.Context, marks []store.WebhookMark) error {
	return update(ctx, s, func(st *state) error {
		for _, m := range marks {
			if d, err := st.delivery(m.EndpointID, m.MessageID); err == nil && d.Status == store.WebhookPending {
				at := m.At
				d.Status, d.Attempts, d.DeliveredTime, d.LastError, d.LeaseUntil = store.WebhookDelivered, m.Attempts, &at, "", time.Time{}
			}
		}
		return nil
	})
}
