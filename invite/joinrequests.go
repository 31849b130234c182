package invite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

// Requests to join. A person signed in at the identity provider with a
// verified email, without a membership, asks to join an organization
// (RequestToJoin: from authflow's join page). The organization's admins
// list the requests (JoinRequests) and approve them (ApproveJoinRequest:
// the person becomes an ACTIVE member with the roles chosen, no mail round
// trip — the email was verified when they asked) or decline them
// (DeclineJoinRequest, with a reason the person is told). Either way the
// person gets a mail through the outbox. After a decline the person may
// ask the same organization again only after Config.JoinRequests.Cooldown.
// Auto-join through a verified domain is JoinByDomain.

// Errors of join requests.
var (
	ErrJoinRequestsUnsupported = store.ErrJoinRequestsUnsupported
	ErrJoinRequestPending      = store.ErrJoinRequestPending
	// ErrJoinCooldown: the organization declined the person's last
	// request less than Config.JoinRequests.Cooldown ago. It comes as a
	// *JoinCooldownError that says until when.
	ErrJoinCooldown = store.ErrJoinCooldown
)

// JoinCooldownError is ErrJoinCooldown with the time a new request is
// possible again.
type JoinCooldownError struct{ Until time.Time }

func (e *JoinCooldownError) Error() string {
	return fmt.Sprintf("%v (until %s)", ErrJoinCooldown, formatTime(e.Until))
}

func (e *JoinCooldownError) Unwrap() error { return ErrJoinCooldown }

// DefaultJoinCooldown is the default of JoinRequestConfig.Cooldown.
const DefaultJoinCooldown = 7 * 24 * time.Hour

// MaxJoinMessage bounds a request's note, in characters.
const MaxJoinMessage = 500

// JoinRequestConfig configures requests to join (Config.JoinRequests).
// Its zero value is safe.
type JoinRequestConfig struct {
	// Cooldown is how long after a decline the person may not ask the
	// same organization again (default 7 days).
	Cooldown time.Duration
	// NotifyRole is the role whose ACTIVE members get a MailJoinRequested
	// mail for each new request (default Config.AdminRole; at most
	// MaxJoinNotices of them). It must be in Config.Roles.
	NotifyRole string
}

// Mail kinds of join requests (outbox.KindJoinApproved, …).
const (
	MailJoinApproved = outbox.KindJoinApproved
	MailJoinDeclined = outbox.KindJoinDeclined
)

// JoinRequestInput is a request to join, as the person's sign-in
// asserted it.
type JoinRequestInput struct {
	Email         string // the provider's email claim
	EmailVerified bool   // its email_verified claim: required
	Name          string // the provider's name claim, if any (at most 200 characters)
	Message       string // the person's note to the admins (at most MaxJoinMessage characters)
}

func (s *Service) joinRequests() (store.JoinRequestStore, error) {
	j, ok := s.st.(store.JoinRequestStore)
	if !ok {
		return nil, ErrJoinRequestsUnsupported
	}
	return j, nil
}

// RequestToJoin records a request of the person in in to join orgID. It
// returns ErrEmailNotVerified, ErrNotFound (no such organization),
// ErrAlreadyMember (the person has a membership there already, in any
// status: an invitation to open, or a deactivation an admin made),
// ErrJoinRequestPending, or a *JoinCooldownError.
func (s *Service) RequestToJoin(ctx context.Context, orgID string, in JoinRequestInput) (store.JoinRequest, error) {
	js, err := s.joinRequests()
	if err != nil {
		return store.JoinRequest{}, err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return store.JoinRequest{}, err
	}
	if !in.EmailVerified {
		return store.JoinRequest{}, ErrEmailNotVerified
	}
	in.Name, in.Message = strings.TrimSpace(in.Name), strings.TrimSpace(in.Message)
	switch {
	case !utf8.ValidString(in.Name) || hasControl(in.Name):
		return store.JoinRequest{}, invalid("name", "name must be valid text without control characters")
	case utf8.RuneCountInString(in.Name) > 200:
		return store.JoinRequest{}, invalid("name", "name must be at most 200 characters")
	case !utf8.ValidString(in.Message) || hasControl(strings.ReplaceAll(in.Message, "\n", " ")):
		return store.JoinRequest{}, invalid("message", "message must be valid text without control characters")
	case utf8.RuneCountInString(in.Message) > MaxJoinMessage:
		return store.JoinRequest{}, invalid("message", "message must be at most %d characters", MaxJoinMessage)
	}
	org, err := s.Organization(ctx, orgID)
	if err != nil {
		return store.JoinRequest{}, err
	}
	if u, err := s.st.GetUserByEmail(ctx, email); err == nil {
		if _, err := s.st.GetMembership(ctx, org.ID, u.ID); err == nil {
			return store.JoinRequest{}, ErrAlreadyMember
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.JoinRequest{}, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.JoinRequest{}, err
	}
	now := s.now()
	last, err := js.LatestJoinRequest(ctx, org.ID, email)
	switch {
	case err == nil && last.Status == store.JoinRequestPending:
		return store.JoinRequest{}, ErrJoinRequestPending
	case err == nil && last.Status == store.JoinRequestDeclined && last.DecideTime != nil:
		if until := last.DecideTime.Add(s.JoinCooldown()); now.Before(until) {
			return store.JoinRequest{}, &JoinCooldownError{Until: until}
		}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.JoinRequest{}, err
	}
	r := store.JoinRequest{
		ID: store.NewID("jrq"), OrganizationID: org.ID, Email: email, Name: in.Name, Message: in.Message,
		Status: store.JoinRequestPending, CreateTime: now,
	}
	ev := s.event(org.ID, store.EventJoinRequested, "", "", now, map[string]string{"request_id": r.ID, "email": email})
	if err := s.createJoinRequest(ctx, js, org, r, ev); err != nil {
		return store.JoinRequest{}, err
	}
	s.log.InfoContext(ctx, "invite: join requested", "org_id", org.ID, "request_id", r.ID)
	return r, nil
}

// MyJoinRequest returns the newest request of the person with email to
// orgID (any status), or ErrNotFound: what the person's own page shows.
func (s *Service) MyJoinRequest(ctx context.Context, orgID, email string) (store.JoinRequest, error) {
	js, err := s.joinRequests()
	if err != nil {
		return store.JoinRequest{}, err
	}
	email, err = NormalizeEmail(email)
	if err != nil {
		return store.JoinRequest{}, err
	}
	if err := checkIDs("orgID", orgID); err != nil {
		return store.JoinRequest{}, err
	}
	return js.LatestJoinRequest(ctx, orgID, email)
}

// JoinRequests returns orgID's requests with status ("" = any), oldest
// first, at most limit (0 means 100, at most MaxListLimit).
func (s *Service) JoinRequests(ctx context.Context, orgID string, status store.JoinRequestStatus, limit int) ([]store.JoinRequest, error) {
	js, err := s.joinRequests()
	if err != nil {
		return nil, err
	}
	switch status {
	case "", store.JoinRequestPending, store.JoinRequestApproved, store.JoinRequestDeclined:
	default:
		return nil, invalid("status", "status must be PENDING, APPROVED or DECLINED")
	}
	if limit < 0 || limit > MaxListLimit {
		return nil, invalid("limit", "limit must be between 0 and %d", MaxListLimit)
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return nil, err
	}
	return js.ListJoinRequests(ctx, orgID, status, limit)
}

// JoinRequest returns orgID's request id, or ErrNotFound (also for
// another organization's request).
func (s *Service) JoinRequest(ctx context.Context, orgID, id string) (store.JoinRequest, error) {
	js, err := s.joinRequests()
	if err != nil {
		return store.JoinRequest{}, err
	}
	if err := checkIDs("orgID", orgID, "id", id); err != nil {
		return store.JoinRequest{}, err
	}
	return js.GetJoinRequest(ctx, orgID, id)
}

// ApproveJoinRequest makes the person of orgID's pending request id an
// ACTIVE member with roles (none: Config.DefaultRoles), decided by actorID,
// and queues the MailJoinApproved mail. ErrNotFound, ErrWrongStatus (the
// request was decided already: of two admins deciding at once exactly one
// wins), ErrAlreadyMember (the person got a membership meanwhile).
func (s *Service) ApproveJoinRequest(ctx context.Context, orgID, id, actorID string, roles []string) (store.Member, store.JoinRequest, error) {
	js, err := s.joinRequests()
	if err != nil {
		return store.Member{}, store.JoinRequest{}, err
	}
	if err := checkIDs("actorID", actorID); err != nil {
		return store.Member{}, store.JoinRequest{}, err
	}
	roles, err = s.checkRoleList("roles", roles)
	if err != nil {
		return store.Member{}, store.JoinRequest{}, err
	}
	r, err := s.JoinRequest(ctx, orgID, id)
	if err != nil {
		return store.Member{}, store.JoinRequest{}, err
	}
	if r.Status != store.JoinRequestPending {
		return store.Member{}, store.JoinRequest{}, ErrWrongStatus
	}
	org, err := s.Organization(ctx, orgID)
	if err != nil {
		return store.Member{}, store.JoinRequest{}, err
	}
	now := s.now()
	p, err := s.joinParams(ctx, org, r.Email, r.Name, roles, actorID, now)
	if err != nil {
		return store.Member{}, store.JoinRequest{}, err
	}
	p.Event.Type = store.EventJoinApproved
	p.Event.Data["request_id"] = r.ID
	if p.Outbox, err = s.mail(MailJoinApproved, org, mailRecipient{Email: r.Email, Profile: p.Membership.Profile}, s.inviterName(ctx, orgID, actorID), time.Time{}, "", now); err != nil {
		return store.Member{}, store.JoinRequest{}, err
	}
	p.Event.Data["delivery"] = "notice"
	res, r, err := js.ApproveJoinRequest(ctx, orgID, id, store.JoinDecision{By: actorID, At: now}, p)
	if err != nil {
		return store.Member{}, store.JoinRequest{}, err
	}
	s.changed(orgID, res.User.ID)
	s.log.InfoContext(ctx, "invite: join request approved", "org_id", orgID, "request_id", id, "user_id", res.User.ID)
	return store.Member{User: res.User, Membership: res.Membership}, r, nil
}

// joinParams is the ACTIVE membership of email in org that an approval
// or a domain auto-join writes (a new user when none has the email; its
// email counts as verified: the provider asserted it).
func (s *Service) joinParams(ctx context.Context, org store.Organization, email, name string, roles []string, actorID string, now time.Time) (store.CreateMembershipParams, error) {
	no := false
	req := InviteRequest{Email: email, Roles: roles, SendInvitationEmail: &no, InvitedBy: actorID}
	if name != "" {
		req.UserProfile = &ProfileInput{Name: name}
	}
	p, _, err := s.createParams(org, req, nil, "", now)
	if err != nil {
		return p, err
	}
	p.User.Profile.EmailVerified = true
	p.Outbox = nil
	return p, nil
}

// DeclineJoinRequest declines orgID's pending request id, decided by
// actorID, with reason (shown to the person in the MailJoinDeclined mail;
// may be empty, at most MaxJoinMessage characters). ErrNotFound,
// ErrWrongStatus.
func (s *Service) DeclineJoinRequest(ctx context.Context, orgID, id, actorID, reason string) (store.JoinRequest, error) {
	js, err := s.joinRequests()
	if err != nil {
		return store.JoinRequest{}, err
	}
	if err := checkIDs("actorID", actorID); err != nil {
		return store.JoinRequest{}, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case !utf8.ValidString(reason) || hasControl(strings.ReplaceAll(reason, "\n", " ")):
		return store.JoinRequest{}, invalid("reason", "reason must be valid text without control characters")
	case utf8.RuneCountInString(reason) > MaxJoinMessage:
		return store.JoinRequest{}, invalid("reason", "reason must be at most %d characters", MaxJoinMessage)
	}
	r, err := s.JoinRequest(ctx, orgID, id)
	if err != nil {
		return store.JoinRequest{}, err
	}
	if r.Status != store.JoinRequestPending {
		return store.JoinRequest{}, ErrWrongStatus
	}
	org, err := s.Organization(ctx, orgID)
	if err != nil {
		return store.JoinRequest{}, err
	}
	now := s.now()
	msg, err := s.mail(MailJoinDeclined, org, mailRecipient{Email: r.Email, Profile: store.MemberProfile{Name: r.Name, Locale: s.orgLocale(org)}}, "", time.Time{}, "", now)
	if err != nil {
		return store.JoinRequest{}, err
	}
	if reason != "" {
		msg.Data[outbox.DataReason] = reason
	}
	ev := s.event(orgID, store.EventJoinDeclined, "", actorID, now, map[string]string{"request_id": r.ID, "email": r.Email})
	r, err = js.DeclineJoinRequest(ctx, orgID, id, store.JoinDecision{By: actorID, Reason: reason, At: now, Outbox: msg, Event: ev})
	if err != nil {
		return store.JoinRequest{}, err
	}
	s.log.InfoContext(ctx, "invite: join request declined", "org_id", orgID, "request_id", id)
	return r, nil
}

// RequestableOrganization returns the organization whose verified domain
// is email's and lets its people ask to join (MAY_REQUEST), or
// ErrNotFound: what the person's join page offers.
func (s *Service) RequestableOrganization(ctx context.Context, email string) (store.Organization, error) {
	org, d, err := s.OrganizationForVerifiedDomain(ctx, email)
	if err != nil {
		return store.Organization{}, err
	}
	if d.Policy != store.DomainPolicyRequest {
		return store.Organization{}, ErrNotFound
	}
	return org, nil
}

// JoinByDomain makes the person who signed in with id an ACTIVE member of
// the organization whose verified domain is their email's, when its policy
// is AUTO_JOIN, with the domain's default roles. It needs a verified email
// from an issuer trusted to assert emails (id.EmailVerified and
// id.TrustEmail), and a person whose identity, when it is linked, is
// linked to the user with that email. It returns the new membership, or
// ErrNoMembership when nothing applies (no such domain, another policy,
// already a member there). Call it when SignIn returns ErrNoMembership and
// sign in again when it succeeds (authflow's callback does).
func (s *Service) JoinByDomain(ctx context.Context, id AcceptIdentity) (store.Membership, error) {
	if err := checkIdentity(id); err != nil {
		return store.Membership{}, err
	}
	if !id.EmailVerified || !id.TrustEmail {
		return store.Membership{}, ErrNoMembership
	}
	email, err := NormalizeEmail(id.Email)
	if err != nil {
		return store.Membership{}, ErrNoMembership
	}
	if _, err := s.domains(); err != nil {
		return store.Membership{}, ErrNoMembership
	}
	org, d, err := s.OrganizationForVerifiedDomain(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Membership{}, ErrNoMembership
	case err != nil:
		return store.Membership{}, err
	case d.Policy != store.DomainPolicyAutoJoin:
		return store.Membership{}, ErrNoMembership
	case id.Organization != "" && id.Organization != org.ID:
		// An organization's own SSO connection signs people into that
		// organization only: its asserted emails join no other (sso.go).
		return store.Membership{}, ErrNoMembership
	}
	if ident, err := s.st.GetIdentity(ctx, id.Issuer, id.Subject); err == nil {
		u, err := s.st.GetUser(ctx, ident.UserID)
		if err != nil {
			return store.Membership{}, err
		}
		if u.Email != email {
			return store.Membership{}, ErrNoMembership // the identity belongs to a user with another email
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Membership{}, err
	}
	roles := d.DefaultRoles
	if len(roles) == 0 {
		roles = s.cfg.DefaultRoles
	}
	now := s.now()
	p, err := s.joinParams(ctx, org, email, "", roles, "", now)
	if err != nil {
		return store.Membership{}, err
	}
	p.Event.Type = store.EventMembershipDomainJoined
	p.Event.Data["domain"] = d.Domain
	res, err := s.st.CreateMembership(ctx, p)
	switch {
	case errors.Is(err, store.ErrAlreadyMember):
		return store.Membership{}, ErrNoMembership
	case err != nil:
		return store.Membership{}, err
	}
	s.changed(org.ID, res.User.ID)
	s.log.InfoContext(ctx, "invite: joined through a verified domain", "org_id", org.ID, "user_id", res.User.ID, "domain", d.Domain)
	return res.Membership, nil
}

// JoinCooldown is how long after a decline a person may not ask the same
// organization again (Config.JoinRequests.Cooldown).
func (s *Service) JoinCooldown() time.Duration {
	return cmp.Or(s.cfg.JoinRequests.Cooldown, DefaultJoinCooldown)
}

// HasMembership reports whether the person with email has a membership
// (any status) in orgID. It is the person's own question (their join
// page), never an organization's about someone.
func (s *Service) HasMembership(ctx context.Context, orgID, email string) (bool, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return false, nil
	}
	u, err := s.st.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	_, err = s.st.GetMembership(ctx, orgID, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// UserEmail returns a user's email and whether an identity provider
// verified it (for the join page of a signed-in person).
func (s *Service) UserEmail(ctx context.Context, userID string) (email string, verified bool, err error) {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return "", false, err
	}
	return u.Email, u.Profile.EmailVerified, nil
}

// CanJoinRequests reports whether the store keeps requests to join and
// email domains (store.JoinRequestStore and store.DomainStore): the team
// page shows its "Requests to join" section only then.
func (s *Service) CanJoinRequests() bool {
	_, j := s.st.(store.JoinRequestStore)
	_, d := s.st.(store.DomainStore)
	return j && d
}

// DefaultRoles returns Config.DefaultRoles.
func (s *Service) DefaultRoles() []string { return slices.Clone(s.cfg.DefaultRoles) }
