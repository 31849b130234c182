package invite

import (
	"context"
	"errors"
	"strings"

	"github.com/invitekit/invitekit/store"
)

// UpdateRequest changes a membership. A nil field is left unchanged; a
// non-nil empty one clears it.
type UpdateRequest struct {
	Roles    *[]string         `json:"roles"`
	Metadata map[string]string `json:"metadata"`
}

// UserRef names a user by exactly one of its id, email or external id.
type UserRef struct {
	ID         string
	Email      string
	ExternalID string
}

// maxQueryLen bounds ListOptions.Query.
const maxQueryLen = 256

// ResendInvitation sends the pending invitation again. While it is valid
// this is a reminder: a new token (the old link stops working), the same
// expiry, a MailReminder mail. Once expired it is a renewal: a new token, a
// new expiry (now + InviteTTL), a MailRenewed mail. Errors: ErrNotFound,
// ErrWrongStatus (not pending).
func (s *Service) ResendInvitation(ctx context.Context, orgID, userID, actorID string) (store.Membership, error) {
	m, _, err := s.reissue(ctx, orgID, userID, actorID, true)
	return m, err
}

// InviteLink is "copy invite link": it rotates the pending invitation's
// token (the expiry is kept while valid, renewed once expired), queues no
// mail and returns the new accept link. The previous link stops working.
func (s *Service) InviteLink(ctx context.Context, orgID, userID, actorID string) (string, error) {
	_, link, err := s.reissue(ctx, orgID, userID, actorID, false)
	return link, err
}

func (s *Service) reissue(ctx context.Context, orgID, userID, actorID string, withMail bool) (store.Membership, string, error) {
	if err := checkIDs("orgID", orgID, "userID", userID, "actorID", actorID); err != nil {
		return store.Membership{}, "", err
	}
	org, _, err := s.organizationRules(ctx, orgID)
	if err != nil {
		return store.Membership{}, "", err
	}
	m, user, inv, inviterName, uerr, err := s.invitationMember(ctx, orgID, userID, actorID, withMail)
	if err != nil {
		return store.Membership{}, "", err
	}
	switch {
	case inv.RevokeTime != nil:
		return store.Membership{}, "", ErrInviteRevoked
	case inv.SpendTime != nil:
		return store.Membership{}, "", ErrInviteUsed
	}
	if uerr != nil {
		return store.Membership{}, "", uerr
	}
	now := s.now()
	expire, kind, evType := inv.ExpireTime, store.MailReminder, store.EventInvitationResent
	if !now.Before(inv.ExpireTime) {
		expire, kind, evType = now.Add(s.cfg.InviteTTL), store.MailRenewed, store.EventInvitationRenewed
	}
	verifier, hash := newVerifier()
	link := s.acceptLink(formatToken(inv.ID, verifier))
	data := map[string]string{
		"invitation_id": inv.ID,
		"email":         user.Email,
		"expire_time":   formatTime(expire),
		"delivery":      "link",
	}
	var msg *store.OutboxMessage
	if withMail {
		data["delivery"] = "email"
		if msg, err = s.mail(kind, org, recipientOf(user, m), inviterName(), expire, link, now); err != nil {
			return store.Membership{}, "", err
		}
	}
	p := store.ReissueParams{
		InvitationID:    inv.ID,
		Now:             now,
		NewVerifierHash: hash,
		NewExpireTime:   expire,
		Outbox:          msg,
		Event:           s.event(orgID, evType, userID, actorID, now, data),
	}
	var fresh *store.Membership
	if rm, ok := s.st.(store.ReissueMemberer); ok {
		_, after, err := rm.ReissueInvitationMember(ctx, p)
		if err != nil {
			return store.Membership{}, "", err
		}
		fresh = &after
	} else if _, err := s.st.ReissueInvitation(ctx, p); err != nil {
		return store.Membership{}, "", err
	}
	s.changed(orgID, userID)
	s.log.InfoContext(ctx, "invite: invitation reissued", "org_id", orgID, "user_id", userID, "event", evType, "delivery", data["delivery"])
	if fresh == nil {
		if after, err := s.st.GetMembership(ctx, orgID, userID); err == nil {
			fresh = &after
		}
	}
	if fresh != nil {
		m = *fresh
	} else {
		m.InviteExpireTime = expire
	}
	return m, link, nil
}

// invitationMember reads what a reissue needs: userID's pending membership
// in orgID and its user (uerr), its newest invitation, and (withMail) the
// inviter's name, read when inviterName is called. With a
// store.InvitationMemberGetter it is one read; otherwise, and to report
// its failure exactly, memberWithUser, GetMembershipInvitation and
// inviterName. Errors, in this order: the membership's (ErrNotFound),
// ErrWrongStatus, the invitation's.
func (s *Service) invitationMember(ctx context.Context, orgID, userID, actorID string, withMail bool) (
	m store.Membership, u store.User, inv store.Invitation, inviterName func() string, uerr, err error,
) {
	if g, ok := s.st.(store.InvitationMemberGetter); ok {
		inviterID := actorID
		if !withMail {
			inviterID = ""
		}
		if im, err := g.GetInvitationMember(ctx, orgID, userID, inviterID); err == nil {
			if im.Membership.Status != store.StatusPendingInvite {
				return store.Membership{}, store.User{}, store.Invitation{}, nil, nil, ErrWrongStatus
			}
			name := ""
			if im.Inviter != nil {
				name = memberName(im.Inviter.Membership, im.Inviter.User)
			}
			return im.Membership, im.User, im.Invitation, func() string { return name }, nil, nil
		}
	}
	if m, u, uerr, err = s.memberWithUser(ctx, orgID, userID); err != nil {
		return store.Membership{}, store.User{}, store.Invitation{}, nil, nil, err
	}
	if m.Status != store.StatusPendingInvite {
		return store.Membership{}, store.User{}, store.Invitation{}, nil, nil, ErrWrongStatus
	}
	if inv, err = s.st.GetMembershipInvitation(ctx, orgID, userID); err != nil {
		return store.Membership{}, store.User{}, store.Invitation{}, nil, nil, err
	}
	inviterName = func() string {
		inviter := inv.InvitedBy
		if inviter == "" {
			inviter = actorID
		}
		return s.inviterName(ctx, orgID, inviter)
	}
	return m, u, inv, inviterName, uerr, nil
}

// memberWithUser reads userID's membership in orgID (err) and the user
// (uerr): in one read with a store.MemberGetter, else (and to report a
// failed read exactly) GetMembership, then GetUser.
func (s *Service) memberWithUser(ctx context.Context, orgID, userID string) (m store.Membership, u store.User, uerr, err error) {
	if g, ok := s.st.(store.MemberGetter); ok {
		if mu, err := g.GetMember(ctx, orgID, userID); err == nil {
			return mu.Membership, mu.User, nil, nil
		}
	}
	if m, err = s.st.GetMembership(ctx, orgID, userID); err != nil {
		return store.Membership{}, store.User{}, nil, err
	}
	u, uerr = s.st.GetUser(ctx, userID)
	return m, u, uerr, nil
}

// RevokeInvitation withdraws a pending (or expired) invitation: the
// membership is deleted and its invitations stop working. Errors:
// ErrNotFound, ErrWrongStatus (the membership is not pending; deactivate an
// active member instead).
func (s *Service) RevokeInvitation(ctx context.Context, orgID, userID, actorID string) error {
	if err := checkIDs("orgID", orgID, "userID", userID, "actorID", actorID); err != nil {
		return err
	}
	if g, ok := s.st.(store.GuardedRevoker); ok {
		// One write that checks the membership itself and puts its roles
		// and email in the event; a refusal is explained below.
		now := s.now()
		ev := s.event(orgID, store.EventMembershipRevoked, userID, actorID, now, nil)
		err := g.RevokeInvitationGuarded(ctx, orgID, userID, now, ev, store.RevokeData{RolesKey: "roles", EmailKey: "email"})
		if err == nil {
			s.revoked(ctx, orgID, userID)
			return nil
		}
		if !errors.Is(err, store.ErrRevokeRefused) {
			return err
		}
	}
	m, u, uerr, err := s.memberWithUser(ctx, orgID, userID)
	if err != nil {
		return err
	}
	if m.Status != store.StatusPendingInvite {
		return ErrWrongStatus
	}
	data := map[string]string{"roles": strings.Join(m.Roles, ",")}
	if uerr == nil {
		data["email"] = u.Email
	}
	now := s.now()
	ev := s.event(orgID, store.EventMembershipRevoked, userID, actorID, now, data)
	if err := s.st.RevokeInvitation(ctx, orgID, userID, now, ev); err != nil {
		return err
	}
	s.revoked(ctx, orgID, userID)
	return nil
}

// revoked is what follows a revoke's write.
func (s *Service) revoked(ctx context.Context, orgID, userID string) {
	s.changed(orgID, userID)
	s.log.InfoContext(ctx, "invite: invitation revoked", "org_id", orgID, "user_id", userID)
}

// DeactivateMembership turns an ACTIVE membership INACTIVE (the member
// loses access on their next request). Errors: ErrNotFound, ErrWrongStatus,
// ErrLastAdmin (the organization's last active admin).
func (s *Service) DeactivateMembership(ctx context.Context, orgID, userID, actorID string) (store.Membership, error) {
	return s.setStatus(ctx, orgID, userID, actorID, store.StatusActive, store.StatusInactive, store.EventMembershipDeactivated)
}

// ReactivateMembership turns an INACTIVE membership ACTIVE again. Errors:
// ErrNotFound, ErrWrongStatus.
func (s *Service) ReactivateMembership(ctx context.Context, orgID, userID, actorID string) (store.Membership, error) {
	return s.setStatus(ctx, orgID, userID, actorID, store.StatusInactive, store.StatusActive, store.EventMembershipReactivated)
}

func (s *Service) setStatus(ctx context.Context, orgID, userID, actorID string, from, to store.MembershipStatus, evType string) (store.Membership, error) {
	if err := checkIDs("orgID", orgID, "userID", userID, "actorID", actorID); err != nil {
		return store.Membership{}, err
	}
	now := s.now()
	ev := s.event(orgID, evType, userID, actorID, now, map[string]string{"from": string(from), "to": string(to)})
	c := store.StatusChange{From: from, To: to, Now: now, Event: ev}
	if to != store.StatusActive {
		c.KeepRole = s.cfg.AdminRole // the last active admin stays
	}
	m, err := s.st.SetMembershipStatus(ctx, orgID, userID, c)
	if err != nil {
		return store.Membership{}, err
	}
	s.changed(orgID, userID)
	s.log.InfoContext(ctx, "invite: membership status changed", "org_id", orgID, "user_id", userID, "status", string(to))
	if to == store.StatusInactive {
		s.signOutAfter(ctx, orgID, userID, actorID)
	}
	return m, nil
}

// UpdateMembership changes a membership's roles and/or metadata (any
// status). Roles must be in Config.Roles; metadata has the same limits as
// in an invite. A request that changes nothing returns the membership
// unchanged and writes nothing. Errors: *FieldError, ErrNotFound,
// ErrLastAdmin (the roles would take Config.AdminRole from the
// organization's last active admin).
func (s *Service) UpdateMembership(ctx context.Context, orgID, userID string, req UpdateRequest, actorID string) (store.Membership, error) {
	in := updateInput{Metadata: req.Metadata}
	if req.Roles != nil {
		in.Roles = *req.Roles
	}
	if err := s.checkStruct(&in, ""); err != nil {
		return store.Membership{}, err
	}
	if err := checkIDs("orgID", orgID, "userID", userID, "actorID", actorID); err != nil {
		return store.Membership{}, err
	}
	if req.Roles == nil && req.Metadata == nil {
		m, err := s.st.GetMembership(ctx, orgID, userID)
		return m, err
	}
	var u store.MembershipUpdate
	data := map[string]string{}
	if req.Roles != nil {
		u.Roles = dedupe(*req.Roles)
		data["roles"] = strings.Join(u.Roles, ",")
		if !containsString(u.Roles, s.cfg.AdminRole) {
			u.KeepRole = s.cfg.AdminRole // the last active admin stays
		}
	}
	if req.Metadata != nil {
		u.Metadata = cloneMap(req.Metadata)
		data["metadata"] = "updated"
	}
	now := s.now()
	m, err := s.st.UpdateMembership(ctx, orgID, userID, u, now, s.event(orgID, store.EventMembershipUpdated, userID, actorID, now, data))
	if err != nil {
		return store.Membership{}, err
	}
	s.changed(orgID, userID)
	s.log.InfoContext(ctx, "invite: membership updated", "org_id", orgID, "user_id", userID)
	return m, nil
}

// ListMembers returns a page of orgID's members, filtered by effective
// status (opts.Status) and a case-insensitive substring of email or name
// (opts.Query). opts.Now is filled in; opts.Limit 0 means 50, at most 1000.
// Errors: *FieldError (fields "status", "pageSize", "q"), ErrNotFound.
func (s *Service) ListMembers(ctx context.Context, orgID string, opts store.ListOptions) (store.Page, error) {
	if opts.Status != "" && !opts.Status.Valid() {
		return store.Page{}, invalid("status", "status must be one of PENDING_INVITE, ACTIVE, INACTIVE, INVITE_EXPIRED")
	}
	if opts.Limit < 0 || opts.Limit > MaxListLimit {
		return store.Page{}, invalid("pageSize", "pageSize must be between 1 and %d", MaxListLimit)
	}
	if err := store.CheckText("q", opts.Query, maxQueryLen, store.TextLine); err != nil {
		return store.Page{}, err
	}
	if store.TextProblem(opts.After, 256, store.TextLine) != "" {
		return store.Page{}, invalid("pageToken", "pageToken is not valid")
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return store.Page{}, err
	}
	opts.Now = s.now()
	page, err := s.st.ListMembers(ctx, orgID, opts)
	if err != nil {
		if errors.Is(err, store.ErrInvalidCursor) {
			return store.Page{}, invalid("pageToken", "pageToken is not valid")
		}
		return store.Page{}, err
	}
	return page, nil
}

// GetMember returns a user and their membership in orgID, looked up by
// exactly one of ref's fields. A user who exists but is not a member of
// orgID is ErrNotFound (tenant isolation).
func (s *Service) GetMember(ctx context.Context, orgID string, ref UserRef) (store.Member, error) {
	n := 0
	for _, v := range []string{ref.ID, ref.Email, ref.ExternalID} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return store.Member{}, invalid("", "exactly one of id, email or externalId is required")
	}
	if err := checkIDs("orgID", orgID, "userID", ref.ID); err != nil {
		return store.Member{}, err
	}
	if err := store.CheckText("email", ref.Email, 0, store.TextLine); err != nil {
		return store.Member{}, err
	}
	if err := store.CheckText("externalId", ref.ExternalID, MaxExternalIDLen, store.TextLine); err != nil {
		return store.Member{}, err
	}
	if ref.ExternalID != "" {
		// orgID's own external id: another organization's are never consulted.
		m, err := s.st.GetMembershipByExternalID(ctx, orgID, ref.ExternalID)
		if err != nil {
			return store.Member{}, err
		}
		u, err := s.st.GetUser(ctx, m.UserID)
		if err != nil {
			return store.Member{}, err
		}
		return store.Member{User: u, Membership: m}, nil
	}
	var u store.User
	var err error
	if ref.ID != "" {
		u, err = s.st.GetUser(ctx, ref.ID)
	} else {
		email, nerr := NormalizeEmail(ref.Email)
		if nerr != nil {
			return store.Member{}, nerr
		}
		u, err = s.st.GetUserByEmail(ctx, email)
	}
	if err != nil {
		return store.Member{}, err
	}
	m, err := s.st.GetMembership(ctx, orgID, u.ID)
	if err != nil {
		return store.Member{}, err
	}
	return store.Member{User: u, Membership: m}, nil
}
