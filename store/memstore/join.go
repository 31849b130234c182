package memstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/invitekit/invitekit/store"
)

var (
	_ store.JoinRequestStore = (*Store)(nil)
	_ store.DomainStore      = (*Store)(nil)
)

// joinState holds join requests and email domain claims; its maps are
// made on first write.
type joinState struct {
	seq      int64
	requests map[string]joinRow      // memberKey(org, id) →
	domains  map[string]store.Domain // memberKey(org, domain) →
}

type joinRow struct {
	r   store.JoinRequest
	seq int64
}

func (j *joinState) init() {
	if j.requests == nil {
		j.requests = map[string]joinRow{}
		j.domains = map[string]store.Domain{}
	}
}

// CreateJoinRequest implements store.JoinRequestStore.
func (s *Store) CreateJoinRequest(ctx context.Context, r store.JoinRequest, ev store.Event) error {
	return s.CreateJoinRequestWithOutbox(ctx, r, ev, nil)
}

// CreateJoinRequestWithOutbox implements store.JoinRequestNotifier.
func (s *Store) CreateJoinRequestWithOutbox(ctx context.Context, r store.JoinRequest, ev store.Event, msgs []store.OutboxMessage) error {
	return update(ctx, s, func(st *state) error {
		if _, ok := st.orgs[r.OrganizationID]; !ok {
			return fmt.Errorf("memstore: create join request: %w", store.ErrNotFound)
		}
		st.join.init()
		for _, row := range st.join.requests {
			if row.r.OrganizationID == r.OrganizationID && row.r.Email == r.Email && row.r.Status == store.JoinRequestPending {
				return fmt.Errorf("memstore: create join request: %w", store.ErrJoinRequestPending)
			}
		}
		k := memberKey(r.OrganizationID, r.ID)
		if _, dup := st.join.requests[k]; dup || r.ID == "" {
			return fmt.Errorf("memstore: create join request: id %q is empty or taken", r.ID)
		}
		for _, m := range msgs {
			if _, ok := st.outbox[m.ID]; ok {
				return fmt.Errorf("memstore: create join request: outbox id %q is taken", m.ID)
			}
		}
		for _, m := range msgs {
			st.queue(m, r.OrganizationID)
		}
		r = store.CopyJoinRequest(r)
		r.Status, r.Roles, r.UserID, r.DecidedBy, r.Reason, r.DecideTime = store.JoinRequestPending, nil, "", "", "", nil
		st.join.seq++
		st.join.requests[k] = joinRow{r: r, seq: st.join.seq}
		st.appendEvent(store.FillEvent(ev, r.OrganizationID, ""))
		return nil
	})
}

// GetJoinRequest implements store.JoinRequestStore.
func (s *Store) GetJoinRequest(ctx context.Context, orgID, id string) (store.JoinRequest, error) {
	return locked(ctx, s, func(st *state) (store.JoinRequest, error) {
		row, ok := st.join.requests[memberKey(orgID, id)]
		if !ok {
			return store.JoinRequest{}, fmt.Errorf("memstore: join request: %w", store.ErrNotFound)
		}
		return store.CopyJoinRequest(row.r), nil
	})
}

// LatestJoinRequest implements store.JoinRequestStore.
func (s *Store) LatestJoinRequest(ctx context.Context, orgID, email string) (store.JoinRequest, error) {
	return locked(ctx, s, func(st *state) (store.JoinRequest, error) {
		var best *joinRow
		for _, row := range st.join.requests {
			if row.r.OrganizationID == orgID && row.r.Email == email && (best == nil || row.seq > best.seq) {
				best = &row
			}
		}
		if best == nil {
			return store.JoinRequest{}, fmt.Errorf("memstore: join request: %w", store.ErrNotFound)
		}
		return store.CopyJoinRequest(best.r), nil
	})
}

// ListJoinRequests implements store.JoinRequestStore.
func (s *Store) ListJoinRequests(ctx context.Context, orgID string, status store.JoinRequestStatus, limit int) ([]store.JoinRequest, error) {
	return locked(ctx, s, func(st *state) ([]store.JoinRequest, error) {
		var rows []joinRow
		for _, row := range st.join.requests {
			if row.r.OrganizationID == orgID && (status == "" || row.r.Status == status) {
				rows = append(rows, row)
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
		if limit <= 0 {
			limit = 100
		}
		out := []store.JoinRequest{}
		for _, row := range rows {
			if len(out) == limit {
				break
			}
			out = append(out, store.CopyJoinRequest(row.r))
		}
		return out, nil
	})
}

// pendingJoin returns orgID's request id when it is PENDING.
func (st *state) pendingJoin(orgID, id string) (joinRow, error) {
	row, ok := st.join.requests[memberKey(orgID, id)]
	switch {
	case !ok:
		return joinRow{}, fmt.Errorf("memstore: join request: %w", store.ErrNotFound)
	case row.r.Status != store.JoinRequestPending:
		return joinRow{}, fmt.Errorf("memstore: join request: %w", store.ErrWrongStatus)
	}
	return row, nil
}

func decide(row joinRow, status store.JoinRequestStatus, d store.JoinDecision) joinRow {
	at := d.At
	row.r.Status, row.r.DecidedBy, row.r.DecideTime = status, d.By, &at
	return row
}

// ApproveJoinRequest implements store.JoinRequestStore.
func (s *Store) ApproveJoinRequest(ctx context.Context, orgID, id string, d store.JoinDecision, p store.CreateMembershipParams) (store.CreateMembershipResult, store.JoinRequest, error) {
	type out struct {
		res store.CreateMembershipResult
		r   store.JoinRequest
	}
	o, err := locked(ctx, s, func(st *state) (out, error) {
		row, err := st.pendingJoin(orgID, id)
		if err != nil {
			return out{}, err
		}
		p.Membership.OrganizationID = orgID
		res, err := st.createMembership(p) // writes nothing on error
		if err != nil {
			return out{}, err
		}
		row = decide(row, store.JoinRequestApproved, d)
		row.r.Roles, row.r.UserID = append([]string(nil), p.Membership.Roles...), res.User.ID
		st.join.requests[memberKey(orgID, id)] = row
		return out{res, store.CopyJoinRequest(row.r)}, nil
	})
	return o.res, o.r, err
}

// DeclineJoinRequest implements store.JoinRequestStore.
func (s *Store) DeclineJoinRequest(ctx context.Context, orgID, id string, d store.JoinDecision) (store.JoinRequest, error) {
	return locked(ctx, s, func(st *state) (store.JoinRequest, error) {
		row, err := st.pendingJoin(orgID, id)
		if err != nil {
			return store.JoinRequest{}, err
		}
		if d.Outbox != nil {
			if _, ok := st.outbox[d.Outbox.ID]; ok {
				return store.JoinRequest{}, fmt.Errorf("memstore: decline join request: outbox id %q is taken", d.Outbox.ID)
			}
		}
		row = decide(row, store.JoinRequestDeclined, d)
		row.r.Reason = d.Reason
		st.join.requests[memberKey(orgID, id)] = row
		if d.Outbox != nil {
			st.queue(*d.Outbox, orgID)
		}
		st.appendEvent(store.FillEvent(d.Event, orgID, ""))
		return store.CopyJoinRequest(row.r), nil
	})
}

// CreateDomain implements store.DomainStore.
func (s *Store) CreateDomain(ctx context.Context, d store.Domain, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		if _, ok := st.orgs[d.OrganizationID]; !ok {
			return fmt.Errorf("memstore: create domain: %w", store.ErrNotFound)
		}
		st.join.init()
		k := memberKey(d.OrganizationID, d.Domain)
		if _, dup := st.join.domains[k]; dup {
			return fmt.Errorf("memstore: create domain: %w", store.ErrDomainClaimed)
		}
		d = store.CopyDomain(d)
		d.VerifiedTime, d.CheckTime = nil, time.Time{}
		if d.Policy == "" {
			d.Policy = store.DomainPolicyNone
		}
		st.join.domains[k] = d
		st.appendEvent(store.FillEvent(ev, d.OrganizationID, ""))
		return nil
	})
}

// GetDomain implements store.DomainStore.
func (s *Store) GetDomain(ctx context.Context, orgID, domain string) (store.Domain, error) {
	return locked(ctx, s, func(st *state) (store.Domain, error) {
		d, ok := st.join.domains[memberKey(orgID, domain)]
		if !ok {
			return store.Domain{}, fmt.Errorf("memstore: domain: %w", store.ErrNotFound)
		}
		return store.CopyDomain(d), nil
	})
}

// ListDomains implements store.DomainStore.
func (s *Store) ListDomains(ctx context.Context, orgID string) ([]store.Domain, error) {
	return locked(ctx, s, func(st *state) ([]store.Domain, error) {
		out := []store.Domain{}
		for _, d := range st.join.domains {
			if d.OrganizationID == orgID {
				out = append(out, store.CopyDomain(d))
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
		return out, nil
	})
}

// RecordDomainCheck implements store.DomainStore.
func (s *Store) RecordDomainCheck(ctx context.Context, orgID, domain string, c store.DomainCheck) (store.Domain, error) {
	return locked(ctx, s, func(st *state) (store.Domain, error) {
		k := memberKey(orgID, domain)
		d, ok := st.join.domains[k]
		if !ok {
			return store.Domain{}, fmt.Errorf("memstore: domain: %w", store.ErrNotFound)
		}
		switch {
		case c.Found && d.VerifiedTime == nil:
			for _, o := range st.join.domains {
				if o.Domain == domain && o.OrganizationID != orgID && o.VerifiedTime != nil {
					return store.Domain{}, fmt.Errorf("memstore: domain: %w", store.ErrDomainUnavailable)
				}
			}
			at := c.At
			d.VerifiedTime = &at
			d.CheckTime, d.UpdateTime = c.At, c.At
		case c.Found:
			d.CheckTime = c.At
		case d.VerifiedTime != nil:
			d.VerifiedTime, d.UpdateTime = nil, c.At
		}
		st.join.domains[k] = d
		if c.Event != nil {
			st.appendEvent(store.FillEvent(*c.Event, orgID, ""))
		}
		return store.CopyDomain(d), nil
	})
}

// SetDomainPolicy implements store.DomainStore.
func (s *Store) SetDomainPolicy(ctx context.Context, orgID, domain string, p store.DomainPolicy, roles []string, at time.Time, ev store.Event) (store.Domain, error) {
	return locked(ctx, s, func(st *state) (store.Domain, error) {
		k := memberKey(orgID, domain)
		d, ok := st.join.domains[k]
		if !ok {
			return store.Domain{}, fmt.Errorf("memstore: domain: %w", store.ErrNotFound)
		}
		d.Policy, d.DefaultRoles, d.UpdateTime = p, append([]string(nil), roles...), at
		st.join.domains[k] = d
		st.appendEvent(store.FillEvent(ev, orgID, ""))
		return store.CopyDomain(d), nil
	})
}

// DeleteDomain implements store.DomainStore.
func (s *Store) DeleteDomain(ctx context.Context, orgID, domain string, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		k := memberKey(orgID, domain)
		if _, ok := st.join.domains[k]; !ok {
			return fmt.Errorf("memstore: domain: %w", store.ErrNotFound)
		}
		delete(st.join.domains, k)
		st.appendEvent(store.FillEvent(ev, orgID, ""))
		return nil
	})
}

// VerifiedDomain implements store.DomainStore.
func (s *Store) VerifiedDomain(ctx context.Context, domain string) (store.Domain, error) {
	return locked(ctx, s, func(st *state) (store.Domain, error) {
		for _, d := range st.join.domains {
			if d.Domain == domain && d.VerifiedTime != nil {
				return store.CopyDomain(d), nil
			}
		}
		return store.Domain{}, fmt.Errorf("memstore: verified domain: %w", store.ErrNotFound)
	})
}

// DomainsDue implements store.DomainStore.
func (s *Store) DomainsDue(ctx context.Context, before time.Time, limit int) ([]store.Domain, error) {
	return locked(ctx, s, func(st *state) ([]store.Domain, error) {
		out := []store.Domain{}
		for _, d := range st.join.domains {
			if d.VerifiedTime != nil && d.CheckTime.Before(before) {
				out = append(out, store.CopyDomain(d))
			}
		}
		sort.Slice(out, func(i, j int) bool {
			if !out[i].CheckTime.Equal(out[j].CheckTime) {
				return out[i].CheckTime.Before(out[j].CheckTime)
			}
			return out[i].Domain < out[j].Domain
		})
		if limit > 0 && len(out) > limit {
			out = out[:limit]
		}
		return out, nil
	})
}
