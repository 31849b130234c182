// Package memstore is an in-memory store.Store (and store.BatchCreator) for
// tests, examples and single-process demos.
//
// Everything lives in maps guarded by one mutex, so a Store is safe for
// concurrent use and every method is atomic: on error nothing is written.
// Maps, slices and pointers are deep-copied on the way in and out, so a
// caller can never change stored data through a value it passed or got
// back. Data is lost when the process exits; use store/sqlitestore or
// store/pgstore to keep it.
//
// The zero value is not usable; call New.
package memstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Store is an in-memory store.Store. It is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	st     state
	notify notifier // Subscribe's subscriptions (notify.go)
}

// state is everything a Store holds; the Store's mutex guards it.
type state struct {
	seq      int64 // last insertion number (memberships, invitations, outbox)
	eventSeq int64 // last event Seq

	orgs        map[string]store.Organization
	users       map[string]store.User
	byEmail     map[string]string // email → user id
	byExternal  map[string]string // User.ExternalID (app-scoped) → user id
	identities  map[string]store.Identity
	memberships map[string]store.Membership // memberKey(org, user) →
	// memberExternal indexes Membership.ExternalID: memberKey(org,
	// external id) → user id (empty external ids are not indexed).
	memberExternal map[string]string
	invitations    map[string]invitation
	outbox         map[string]outboxRow
	events         []store.Event // in Seq order
	dir            dirState      // directory sync (directory.go)
	wh             whState       // webhook endpoints and deliveries (webhooks.go)
	join           joinState     // join requests and email domains (join.go)
	sso            ssoState      // SSO connections and trust (sso.go)
	appr           apprState     // approval rules and held invites (approvals.go)

	// pending are the changes the running method made, published by
	// locked once it succeeds (notify.go).
	pending []store.Change
}

type invitation struct {
	inv store.Invitation
	seq int64
}

type outboxRow struct {
	msg store.OutboxMessage
	seq int64
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.BatchCreator = (*Store)(nil)

	_ store.OrganizationMemberCreator = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{st: state{
		orgs:           map[string]store.Organization{},
		users:          map[string]store.User{},
		byEmail:        map[string]string{},
		byExternal:     map[string]string{},
		identities:     map[string]store.Identity{},
		memberships:    map[string]store.Membership{},
		memberExternal: map[string]string{},
		invitations:    map[string]invitation{},
		outbox:         map[string]outboxRow{},
	}}
}

// locked runs fn on s's state with s.mu held, after checking that ctx is
// not done: every method's preamble. fn's result is the method's. When fn
// succeeds, the changes it recorded (state.changed) are published after
// s.mu is released; when it fails, they are dropped.
func locked[T any](ctx context.Context, s *Store, fn func(st *state) (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	res, pending, err := lockedFn(s, fn)
	if err == nil {
		s.notify.Publish(pending)
	}
	return res, err
}

func lockedFn[T any](s *Store, fn func(st *state) (T, error)) (T, []store.Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.pending = nil
	res, err := fn(&s.st)
	pending := s.st.pending
	s.st.pending = nil
	return res, pending, err
}

// update is locked for a method that returns only an error.
func update(ctx context.Context, s *Store, fn func(st *state) error) error {
	_, err := locked(ctx, s, func(st *state) (struct{}, error) { return struct{}{}, fn(st) })
	return err
}

func memberKey(orgID, userID string) string     { return orgID + "\x00" + userID }
func identityKey(issuer, subject string) string { return issuer + "\x00" + subject }

func (s *state) next() int64 {
	s.seq++
	return s.seq
}

// appendEvent assigns ev an id (if empty) and the next Seq and appends it.
func (s *state) appendEvent(ev store.Event) {
	ev = copyEvent(ev)
	if ev.ID == "" {
		ev.ID = store.NewID("evt")
	}
	s.eventSeq++
	ev.Seq = s.eventSeq
	s.events = append(s.events, ev)
	s.wh.onEvent(ev) // its webhook deliveries, under the same lock
}

// CreateOrganization implements store.Organizations.
func (s *Store) CreateOrganization(ctx context.Context, org store.Organization, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		return st.createOrganization(org, ev)
	})
}

// CreateOrganizationWithMember implements store.OrganizationMemberCreator.
func (s *Store) CreateOrganizationWithMember(ctx context.Context, org store.Organization, ev store.Event, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	return locked(ctx, s, func(st *state) (store.CreateMembershipResult, error) {
		events, eventSeq := len(st.events), st.eventSeq
		if err := st.createOrganization(org, ev); err != nil {
			return store.CreateMembershipResult{}, err
		}
		res, err := st.createMembership(p) // writes nothing on error
		if err != nil {
			delete(st.orgs, org.ID)
			st.events, st.eventSeq = st.events[:events], eventSeq
			st.wh.dropAfter(eventSeq)
			return store.CreateMembershipResult{}, err
		}
		return res, nil
	})
}

func (s *state) createOrganization(org store.Organization, ev store.Event) error {
	if _, ok := s.orgs[org.ID]; ok {
		return fmt.Errorf("memstore: organization %q: %w", org.ID, store.ErrOrganizationExists)
	}
	org.Metadata = copyMap(org.Metadata)
	s.orgs[org.ID] = org
	s.appendEvent(store.FillEvent(ev, org.ID, ""))
	return nil
}

// GetOrganization implements store.Organizations.
func (s *Store) GetOrganization(ctx context.Context, orgID string) (store.Organization, error) {
	return locked(ctx, s, func(st *state) (store.Organization, error) {
		org, ok := st.orgs[orgID]
		if !ok {
			return store.Organization{}, fmt.Errorf("memstore: organization %q: %w", orgID, store.ErrNotFound)
		}
		org.Metadata = copyMap(org.Metadata)
		return org, nil
	})
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, userID string) (store.User, error) {
	return locked(ctx, s, func(st *state) (store.User, error) {
		u, ok := st.users[userID]
		if !ok {
			return store.User{}, fmt.Errorf("memstore: user %q: %w", userID, store.ErrNotFound)
		}
		return copyUser(u), nil
	})
}

// GetUserByEmail implements store.Users.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	return locked(ctx, s, func(st *state) (store.User, error) {
		id, ok := st.byEmail[email]
		if !ok {
			return store.User{}, fmt.Errorf("memstore: user by email: %w", store.ErrNotFound)
		}
		return copyUser(st.users[id]), nil
	})
}

// GetUserByExternalID implements store.Users. An empty external id is never found.
func (s *Store) GetUserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	return locked(ctx, s, func(st *state) (store.User, error) {
		id, ok := st.byExternal[externalID]
		if !ok || externalID == "" {
			return store.User{}, fmt.Errorf("memstore: user by external id: %w", store.ErrNotFound)
		}
		return copyUser(st.users[id]), nil
	})
}

// GetIdentity implements store.Users.
func (s *Store) GetIdentity(ctx context.Context, issuer, subject string) (store.Identity, error) {
	return locked(ctx, s, func(st *state) (store.Identity, error) {
		id, ok := st.identities[identityKey(issuer, subject)]
		if !ok {
			return store.Identity{}, fmt.Errorf("memstore: identity: %w", store.ErrNotFound)
		}
		return id, nil
	})
}

// LinkIdentity implements store.Users. It returns ErrNotFound when
// id.UserID is not a user.
func (s *Store) LinkIdentity(ctx context.Context, id store.Identity, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		if _, ok := st.users[id.UserID]; !ok {
			return fmt.Errorf("memstore: link identity: user %q: %w", id.UserID, store.ErrNotFound)
		}
		linked, err := st.linkIdentity(id)
		if err != nil || !linked {
			return err
		}
		st.appendEvent(store.FillEvent(ev, "", id.UserID))
		return nil
	})
}

// linkIdentity inserts id, reporting false when the same link exists already.
func (s *state) linkIdentity(id store.Identity) (bool, error) {
	k := identityKey(id.Issuer, id.Subject)
	if cur, ok := s.identities[k]; ok {
		if cur.UserID == id.UserID {
			return false, nil
		}
		return false, fmt.Errorf("memstore: identity: %w", store.ErrIdentityTaken)
	}
	s.identities[k] = id
	return true, nil
}

// RecordLogin implements store.Users. It sets the LastLogin of the user
// and of the user's ACTIVE memberships, and leaves UpdateTime unchanged.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time, ev store.Event) error {
	return update(ctx, s, func(st *state) error { return st.recordLogin(userID, at, store.FillEvent(ev, "", userID)) })
}

func (st *state) recordLogin(userID string, at time.Time, ev store.Event) error {
	u, ok := st.users[userID]
	if !ok {
		return fmt.Errorf("memstore: record login: user %q: %w", userID, store.ErrNotFound)
	}
	u.LastLogin = copyTime(&at)
	st.users[userID] = u
	for k, m := range st.memberships {
		if m.UserID == userID && m.Status == store.StatusActive {
			m.LastLogin = copyTime(&at)
			st.memberships[k] = m
		}
	}
	st.appendEvent(ev)
	return nil
}

// CreateMembership implements store.Memberships.
func (s *Store) CreateMembership(ctx context.Context, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	return locked(ctx, s, func(st *state) (store.CreateMembershipResult, error) {
		return st.createMembership(p)
	})
}

// CreateMemberships implements store.BatchCreator.
func (s *Store) CreateMemberships(ctx context.Context, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	return locked(ctx, s, func(st *state) ([]store.BatchResult, error) {
		out := make([]store.BatchResult, len(ps))
		for i, p := range ps {
			res, err := st.createMembership(p)
			out[i] = store.BatchResult{CreateMembershipResult: res, Err: err}
		}
		return out, nil
	})
}

// createMembership checks everything before it writes anything.
func (s *state) createMembership(p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	orgID := p.Membership.OrganizationID
	if _, ok := s.orgs[orgID]; !ok {
		return store.CreateMembershipResult{}, fmt.Errorf("memstore: create membership: organization %q: %w", orgID, store.ErrNotFound)
	}
	user, exists := store.User{}, false
	if id, ok := s.byEmail[p.User.Email]; ok {
		user, exists = s.users[id], true
		if _, ok := s.memberships[memberKey(orgID, id)]; ok {
			return store.CreateMembershipResult{}, fmt.Errorf("memstore: create membership: %w", store.ErrAlreadyMember)
		}
	} else {
		user = copyUser(p.User)
		user.SessionGeneration = 0 // a new user's
		if user.ID == "" {
			user.ID = store.NewID("usr")
		}
		if _, ok := s.users[user.ID]; ok {
			return store.CreateMembershipResult{}, fmt.Errorf("memstore: create membership: user id %q is taken", user.ID)
		}
		if user.ExternalID != "" {
			if _, ok := s.byExternal[user.ExternalID]; ok {
				return store.CreateMembershipResult{}, fmt.Errorf("memstore: create membership: %w", store.ErrExternalIDTaken)
			}
		}
	}
	if ext := p.Membership.ExternalID; ext != "" {
		if _, ok := s.memberExternal[memberKey(orgID, ext)]; ok {
			return store.CreateMembershipResult{}, fmt.Errorf("memstore: create membership: membership external id %q: %w", ext, store.ErrExternalIDTaken)
		}
	}
	if p.Invitation != nil {
		if _, ok := s.invitations[p.Invitation.ID]; ok || p.Invitation.ID == "" {
			return store.CreateMembershipResult{}, fmt.Errorf("memstore: create membership: invitation id %q is empty or taken", p.Invitation.ID)
		}
	}
	if p.Outbox != nil && p.Outbox.ID != "" {
		if _, ok := s.outbox[p.Outbox.ID]; ok {
			return store.CreateMembershipResult{}, fmt.Errorf("memstore: create membership: outbox id %q is taken", p.Outbox.ID)
		}
	}

	// Write.
	if !exists {
		s.users[user.ID] = user
		s.byEmail[user.Email] = user.ID
		if user.ExternalID != "" {
			s.byExternal[user.ExternalID] = user.ID
		}
	}
	m := copyMembership(p.Membership)
	m.UserID = user.ID
	m.Seq = s.next()
	s.memberships[memberKey(orgID, user.ID)] = m
	if m.ExternalID != "" {
		s.memberExternal[memberKey(orgID, m.ExternalID)] = user.ID
	}
	if p.Invitation != nil {
		inv := copyInvitation(*p.Invitation)
		inv.UserID = user.ID
		if inv.OrganizationID == "" {
			inv.OrganizationID = orgID
		}
		s.invitations[inv.ID] = invitation{inv: inv, seq: s.next()}
	}
	if p.Outbox != nil {
		s.queue(*p.Outbox, orgID)
	}
	ev := p.Event
	ev.UserID = user.ID
	s.appendEvent(store.FillEvent(ev, orgID, user.ID))
	s.changed(orgID, user.ID)
	return store.CreateMembershipResult{
		User:        copyUser(user),
		Membership:  copyMembership(m),
		UserCreated: !exists,
	}, nil
}

// queue inserts an outbox message (id and status filled when empty).
func (s *state) queue(msg store.OutboxMessage, orgID string) {
	msg = copyOutbox(msg)
	if msg.ID == "" {
		msg.ID = store.NewID("msg")
	}
	if msg.OrganizationID == "" {
		msg.OrganizationID = orgID
	}
	if msg.Status == "" {
		msg.Status = store.OutboxQueued
	}
	s.outbox[msg.ID] = outboxRow{msg: msg, seq: s.next()}
}

// GetMembership implements store.Memberships.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (store.Membership, error) {
	return locked(ctx, s, func(st *state) (store.Membership, error) {
		m, ok := st.memberships[memberKey(orgID, userID)]
		if !ok {
			return store.Membership{}, fmt.Errorf("memstore: membership: %w", store.ErrNotFound)
		}
		return copyMembership(m), nil
	})
}

// GetMembershipByExternalID implements store.Memberships. An empty
// external id is never found.
func (s *Store) GetMembershipByExternalID(ctx context.Context, orgID, externalID string) (store.Membership, error) {
	return locked(ctx, s, func(st *state) (store.Membership, error) {
		userID, ok := st.memberExternal[memberKey(orgID, externalID)]
		if !ok || externalID == "" {
			return store.Membership{}, fmt.Errorf("memstore: membership by external id: %w", store.ErrNotFound)
		}
		return copyMembership(st.memberships[memberKey(orgID, userID)]), nil
	})
}

// ListUserMemberships implements store.Memberships. A user with no
// memberships (or no such user) gets an empty list and no error.
func (s *Store) ListUserMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	return locked(ctx, s, func(st *state) ([]store.Membership, error) {
		var out []store.Membership
		for _, m := range st.memberships {
			if m.UserID == userID {
				out = append(out, copyMembership(m))
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
		return out, nil
	})
}

// ListMembers implements store.Memberships. The cursor is the decimal Seq of
// the last member of the previous page.
func (s *Store) ListMembers(ctx context.Context, orgID string, opts store.ListOptions) (store.Page, error) {
	return locked(ctx, s, func(st *state) (store.Page, error) {
		limit, after, err := store.NormalizeListOptions(opts)
		if err != nil {
			return store.Page{}, fmt.Errorf("memstore: list members: %w", err)
		}
		q := strings.ToLower(opts.Query)
		var ms []store.Membership
		for _, m := range st.memberships {
			if m.OrganizationID != orgID || m.Seq <= after {
				continue
			}
			if opts.Status != "" && m.EffectiveStatus(opts.Now) != opts.Status {
				continue
			}
			if q != "" && !matches(st.users[m.UserID].Email, m.Profile, q) {
				continue
			}
			ms = append(ms, m)
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].Seq < ms[j].Seq })
		var page store.Page
		if len(ms) > limit {
			ms = ms[:limit]
			page.Next = store.ListCursor(ms[limit-1].Seq)
		}
		page.Members = make([]store.Member, len(ms))
		for i, m := range ms {
			page.Members[i] = store.Member{User: copyUser(st.users[m.UserID]), Membership: copyMembership(m)}
		}
		return page, nil
	})
}

// matches reports whether the user's email or a name of the
// organization's view of the member contains the lowercase q.
func matches(email string, p store.MemberProfile, q string) bool {
	for _, f := range []string{email, p.Name, p.FirstName, p.LastName} {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// UpdateMembership implements store.Memberships. A non-nil Metadata,
// Profile or UserMetadata replaces the whole value.
func (s *Store) UpdateMembership(ctx context.Context, orgID, userID string, u store.MembershipUpdate, now time.Time, ev store.Event) (store.Membership, error) {
	return locked(ctx, s, func(st *state) (store.Membership, error) {
		k := memberKey(orgID, userID)
		m, ok := st.memberships[k]
		if !ok {
			return store.Membership{}, fmt.Errorf("memstore: update membership: %w", store.ErrNotFound)
		}
		if m.LosesRole(u.KeepRole, m.Status, u.Roles) && !st.otherActiveHolder(orgID, userID, u.KeepRole) {
			return store.Membership{}, fmt.Errorf("memstore: update membership: role %q: %w", u.KeepRole, store.ErrLastRoleHolder)
		}
		if u.ExternalID != nil && *u.ExternalID != "" {
			if owner, ok := st.memberExternal[memberKey(orgID, *u.ExternalID)]; ok && owner != userID {
				return store.Membership{}, fmt.Errorf("memstore: update membership: external id %q: %w", *u.ExternalID, store.ErrExternalIDTaken)
			}
		}

		// Write.
		if u.Roles != nil {
			m.Roles = append([]string{}, u.Roles...)
		}
		if u.Metadata != nil {
			m.Metadata = copyMap(u.Metadata)
		}
		if u.ExternalID != nil && *u.ExternalID != m.ExternalID {
			if m.ExternalID != "" {
				delete(st.memberExternal, memberKey(orgID, m.ExternalID))
			}
			m.ExternalID = *u.ExternalID
			if m.ExternalID != "" {
				st.memberExternal[memberKey(orgID, m.ExternalID)] = userID
			}
		}
		if u.Profile != nil {
			m.Profile = copyMemberProfile(*u.Profile)
		}
		if u.UserMetadata != nil {
			m.UserMetadata = copyMap(u.UserMetadata)
		}
		m.UpdateTime = now
		st.memberships[k] = m
		st.appendEvent(store.FillEvent(ev, orgID, userID))
		st.changed(orgID, userID)
		return copyMembership(m), nil
	})
}

// SetMembershipStatus implements store.Memberships.
func (s *Store) SetMembershipStatus(ctx context.Context, orgID, userID string, c store.StatusChange) (store.Membership, error) {
	return locked(ctx, s, func(st *state) (store.Membership, error) {
		k := memberKey(orgID, userID)
		m, ok := st.memberships[k]
		if !ok {
			return store.Membership{}, fmt.Errorf("memstore: set membership status: %w", store.ErrNotFound)
		}
		if m.Status != c.From {
			return store.Membership{}, fmt.Errorf("memstore: set membership status: is %s, not %s: %w", m.Status, c.From, store.ErrWrongStatus)
		}
		if m.LosesRole(c.KeepRole, c.To, nil) && !st.otherActiveHolder(orgID, userID, c.KeepRole) {
			return store.Membership{}, fmt.Errorf("memstore: set membership status: role %q: %w", c.KeepRole, store.ErrLastRoleHolder)
		}
		m.Status = c.To
		m.UpdateTime = c.Now
		st.memberships[k] = m
		st.appendEvent(store.FillEvent(c.Event, orgID, userID))
		st.changed(orgID, userID)
		return copyMembership(m), nil
	})
}

// otherActiveHolder reports whether an ACTIVE membership of orgID other
// than userID's holds role.
func (s *state) otherActiveHolder(orgID, userID, role string) bool {
	for _, m := range s.memberships {
		if m.OrganizationID == orgID && m.UserID != userID && m.Status == store.StatusActive && m.HasRole(role) {
			return true
		}
	}
	return false
}

// GetInvitation implements store.Memberships.
func (s *Store) GetInvitation(ctx context.Context, invitationID string) (store.Invitation, error) {
	return locked(ctx, s, func(st *state) (store.Invitation, error) {
		inv, ok := st.invitations[invitationID]
		if !ok {
			return store.Invitation{}, fmt.Errorf("memstore: invitation: %w", store.ErrNotFound)
		}
		return copyInvitation(inv.inv), nil
	})
}

// GetMembershipInvitation implements store.Memberships. "Newest" is the
// last inserted; revoked and spent invitations count.
func (s *Store) GetMembershipInvitation(ctx context.Context, orgID, userID string) (store.Invitation, error) {
	return locked(ctx, s, func(st *state) (store.Invitation, error) {
		inv, ok := st.newestInvitation(orgID, userID)
		if !ok {
			return store.Invitation{}, fmt.Errorf("memstore: membership invitation: %w", store.ErrNotFound)
		}
		return copyInvitation(inv), nil
	})
}

// newestInvitation returns the last inserted invitation of (orgID,
// userID), not copied.
func (st *state) newestInvitation(orgID, userID string) (store.Invitation, bool) {
	var best invitation
	for _, inv := range st.invitations {
		if inv.inv.OrganizationID == orgID && inv.inv.UserID == userID && inv.seq > best.seq {
			best = inv
		}
	}
	return best.inv, best.seq != 0
}

// AcceptInvitation implements store.Memberships. Checks run in this order:
// ErrNotFound, ErrInviteUsed, ErrInviteRevoked, ErrInviteExpired,
// ErrNotFound (membership), ErrWrongStatus, ErrIdentityTaken.
func (s *Store) AcceptInvitation(ctx context.Context, p store.AcceptParams) (store.Membership, error) {
	return locked(ctx, s, func(st *state) (store.Membership, error) { return st.accept(p) })
}

func (st *state) accept(p store.AcceptParams) (store.Membership, error) {
	row, m, err := st.pendingInvitation("accept", p.InvitationID, p.Now)
	if err != nil {
		return store.Membership{}, err
	}
	inv := row.inv
	k := memberKey(inv.OrganizationID, inv.UserID)
	id := p.Identity
	id.UserID = inv.UserID
	if cur, ok := st.identities[identityKey(id.Issuer, id.Subject)]; ok && cur.UserID != id.UserID {
		return store.Membership{}, fmt.Errorf("memstore: accept: %w", store.ErrIdentityTaken)
	}

	// Write.
	if _, err := st.linkIdentity(id); err != nil {
		return store.Membership{}, err // unreachable: checked above
	}
	spent := p.Now
	inv.SpendTime = &spent
	row.inv = inv
	st.invitations[inv.ID] = row
	if p.EmailVerified {
		u := st.users[inv.UserID]
		if !u.Profile.EmailVerified {
			u.Profile.EmailVerified = true
			u.UpdateTime = p.Now
			st.users[u.ID] = u
		}
	}
	m.Status = store.StatusActive
	m.InviteExpireTime = time.Time{}
	if p.IdentityProvider != "" {
		m.PrimaryIdentityProvider = p.IdentityProvider
	}
	if p.ProfileName != "" && m.Profile.Name == "" {
		m.Profile.Name = p.ProfileName
	}
	m.UpdateTime = p.Now
	m.LastLogin = copyTime(&p.Now)
	st.memberships[k] = m
	st.appendEvent(store.FillEvent(p.Event, inv.OrganizationID, inv.UserID))
	st.changed(inv.OrganizationID, inv.UserID)
	return copyMembership(m), nil
}

// pendingInvitation returns an unspent, unrevoked invitation and its
// PENDING_INVITE membership, or the error op (e.g. "accept") reports:
// ErrNotFound, ErrInviteUsed, ErrInviteRevoked, then — when expiredAt is
// not zero and the invitation expired by then — ErrInviteExpired, then
// ErrNotFound (membership) or ErrWrongStatus.
func (s *state) pendingInvitation(op, invitationID string, expiredAt time.Time) (invitation, store.Membership, error) {
	row, ok := s.invitations[invitationID]
	if !ok {
		return row, store.Membership{}, fmt.Errorf("memstore: %s: %w", op, store.ErrNotFound)
	}
	inv := row.inv
	switch {
	case inv.SpendTime != nil:
		return row, store.Membership{}, fmt.Errorf("memstore: %s: %w", op, store.ErrInviteUsed)
	case inv.RevokeTime != nil:
		return row, store.Membership{}, fmt.Errorf("memstore: %s: %w", op, store.ErrInviteRevoked)
	case !expiredAt.IsZero() && !expiredAt.Before(inv.ExpireTime):
		return row, store.Membership{}, fmt.Errorf("memstore: %s: %w", op, store.ErrInviteExpired)
	}
	m, ok := s.memberships[memberKey(inv.OrganizationID, inv.UserID)]
	if !ok {
		return row, store.Membership{}, fmt.Errorf("memstore: %s: membership: %w", op, store.ErrNotFound)
	}
	if m.Status != store.StatusPendingInvite {
		return row, store.Membership{}, fmt.Errorf("memstore: %s: membership is %s: %w", op, m.Status, store.ErrWrongStatus)
	}
	return row, m, nil
}

// ReissueInvitation implements store.Memberships. An expired invitation
// may be reissued; a spent or revoked one may not (ErrInviteUsed,
// ErrInviteRevoked).
func (s *Store) ReissueInvitation(ctx context.Context, p store.ReissueParams) (store.Invitation, error) {
	inv, _, err := s.ReissueInvitationMember(ctx, p)
	return inv, err
}

// ReissueInvitationMember implements store.ReissueMemberer.
func (s *Store) ReissueInvitationMember(ctx context.Context, p store.ReissueParams) (store.Invitation, store.Membership, error) {
	type result struct {
		inv store.Invitation
		m   store.Membership
	}
	r, err := locked(ctx, s, func(st *state) (result, error) {
		row, m, err := st.pendingInvitation("reissue", p.InvitationID, time.Time{}) // an expired invitation may be reissued
		if err != nil {
			return result{}, err
		}
		inv := row.inv
		k := memberKey(inv.OrganizationID, inv.UserID)
		if p.Outbox != nil && p.Outbox.ID != "" {
			if _, ok := st.outbox[p.Outbox.ID]; ok {
				return result{}, fmt.Errorf("memstore: reissue: outbox id %q is taken", p.Outbox.ID)
			}
		}

		// Write.
		inv.VerifierHash = append([]byte(nil), p.NewVerifierHash...)
		inv.ExpireTime = p.NewExpireTime
		row.inv = inv
		st.invitations[inv.ID] = row
		m.InviteExpireTime = p.NewExpireTime
		m.UpdateTime = p.Now
		st.memberships[k] = m
		if p.Outbox != nil {
			st.queue(*p.Outbox, inv.OrganizationID)
		}
		st.appendEvent(store.FillEvent(p.Event, inv.OrganizationID, inv.UserID))
		st.changed(inv.OrganizationID, inv.UserID)
		return result{copyInvitation(inv), copyMembership(m)}, nil
	})
	return r.inv, r.m, err
}

// RevokeInvitation implements store.Memberships. It marks every unspent,
// unrevoked invitation of (orgID, userID) revoked at now.
func (s *Store) RevokeInvitation(ctx context.Context, orgID, userID string, now time.Time, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		k := memberKey(orgID, userID)
		m, ok := st.memberships[k]
		if !ok {
			return fmt.Errorf("memstore: revoke: %w", store.ErrNotFound)
		}
		if m.Status != store.StatusPendingInvite {
			return fmt.Errorf("memstore: revoke: membership is %s: %w", m.Status, store.ErrWrongStatus)
		}
		st.revoke(m, now, ev)
		return nil
	})
}

// revoke deletes the pending membership m and revokes its invitations.
func (st *state) revoke(m store.Membership, now time.Time, ev store.Event) {
	orgID, userID := m.OrganizationID, m.UserID
	delete(st.memberships, memberKey(orgID, userID))
	if m.ExternalID != "" {
		delete(st.memberExternal, memberKey(orgID, m.ExternalID))
	}
	for id, row := range st.invitations {
		inv := row.inv
		if inv.OrganizationID == orgID && inv.UserID == userID && inv.SpendTime == nil && inv.RevokeTime == nil {
			t := now
			row.inv.RevokeTime = &t
			st.invitations[id] = row
		}
	}
	st.appendEvent(store.FillEvent(ev, orgID, userID))
	st.changed(orgID, userID)
}

// AppendEvent implements store.Events.
func (s *Store) AppendEvent(ctx context.Context, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		st.appendEvent(ev)
		return nil
	})
}

// ListEvents implements store.Events.
func (s *Store) ListEvents(ctx context.Context, orgID string, afterSeq int64, limit int) ([]store.Event, error) {
	return s.listEvents(ctx, afterSeq, limit, func(ev store.Event) bool { return ev.OrganizationID == orgID })
}

// ClaimOutbox implements store.Outbox. A limit of 0 or less means 100.
func (s *Store) ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	return locked(ctx, s, func(st *state) ([]store.OutboxMessage, error) {
		rows := st.oldestOutbox(limit, func(m store.OutboxMessage) bool {
			return m.Status == store.OutboxQueued && !m.NextAttemptTime.After(now) && !m.LeaseUntil.After(now)
		})
		out := make([]store.OutboxMessage, len(rows))
		for i, r := range rows {
			r.msg.LeaseUntil = leaseUntil
			st.outbox[r.msg.ID] = r
			out[i] = copyOutbox(r.msg)
		}
		return out, nil
	})
}

// oldestOutbox returns the first limit messages that keep accepts, oldest
// first.
func (s *state) oldestOutbox(limit int, keep func(store.OutboxMessage) bool) []outboxRow {
	var rows []outboxRow
	for _, r := range s.outbox {
		if keep(r.msg) {
			rows = append(rows, r)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return rows
}

// outboxQueued returns the QUEUED message id, ok=false (and nil error) when
// it exists but is no longer QUEUED: a transition on a sent or dead message
// is a no-op.
func (s *state) outboxQueued(id string) (outboxRow, bool, error) {
	r, ok := s.outbox[id]
	if !ok {
		return r, false, fmt.Errorf("memstore: outbox message %q: %w", id, store.ErrNotFound)
	}
	return r, r.msg.Status == store.OutboxQueued, nil
}

// MarkOutboxSent implements store.Outbox. It is a no-op for a message that
// is already SENT or DEAD.
func (s *Store) MarkOutboxSent(ctx context.Context, id string, at time.Time) error {
	return update(ctx, s, func(st *state) error {
		r, ok, err := st.outboxQueued(id)
		if err != nil || !ok {
			return err
		}
		r.msg.Status = store.OutboxSent
		r.msg.SentTime = &at
		r.msg.Sealed = nil
		r.msg.LeaseUntil = time.Time{}
		st.outbox[id] = r
		return nil
	})
}

// MarkOutboxRetry implements store.Outbox. It is a no-op for a message that
// is already SENT or DEAD.
func (s *Store) MarkOutboxRetry(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error {
	return update(ctx, s, func(st *state) error {
		r, ok, err := st.outboxQueued(id)
		if err != nil || !ok {
			return err
		}
		r.msg.Attempts = attempts
		r.msg.LastError = lastErr
		r.msg.NextAttemptTime = next
		r.msg.LeaseUntil = time.Time{}
		st.outbox[id] = r
		return nil
	})
}

// MarkOutboxDead implements store.Outbox. It is a no-op (no event) for a
// message that is already SENT or DEAD.
func (s *Store) MarkOutboxDead(ctx context.Context, id string, attempts int, lastErr string, at time.Time, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		r, ok, err := st.outboxQueued(id)
		if err != nil || !ok {
			return err
		}
		r.msg.Status = store.OutboxDead
		r.msg.Attempts = attempts
		r.msg.LastError = lastErr
		r.msg.Sealed = nil
		r.msg.LeaseUntil = time.Time{}
		st.outbox[id] = r
		st.appendEvent(store.FillEvent(ev, r.msg.OrganizationID, ""))
		return nil
	})
}

// ListOutbox implements store.Outbox. An empty status means any status.
func (s *Store) ListOutbox(ctx context.Context, orgID string, status store.OutboxStatus, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	return locked(ctx, s, func(st *state) ([]store.OutboxMessage, error) {
		rows := st.oldestOutbox(limit, func(m store.OutboxMessage) bool {
			return m.OrganizationID == orgID && (status == "" || m.Status == status)
		})
		out := make([]store.OutboxMessage, len(rows))
		for i, r := range rows {
			out[i] = copyOutbox(r.msg)
		}
		return out, nil
	})
}

// CountOutbox implements store.Outbox. An empty status means any status.
func (s *Store) CountOutbox(ctx context.Context, status store.OutboxStatus) (int, error) {
	return locked(ctx, s, func(st *state) (int, error) {
		n := 0
		for _, r := range st.outbox {
			if status == "" || r.msg.Status == status {
				n++
			}
		}
		return n, nil
	})
}
