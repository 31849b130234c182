package invite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/invitekit/invitekit/store"
)

// ProfileInput is the profile part of an InviteRequest.
type ProfileInput struct {
	FirstName        string            `json:"firstName" validate:"omitempty,max=100,nocontrol"`
	LastName         string            `json:"lastName" validate:"omitempty,max=100,nocontrol"`
	Name             string            `json:"name" validate:"omitempty,max=200,nocontrol"` // default "FirstName LastName"
	Locale           string            `json:"locale" validate:"omitempty,max=35,bcp47_language_tag"`
	PhoneNumber      string            `json:"phoneNumber" validate:"omitempty,e164"`
	Metadata         map[string]string `json:"metadata" validate:"omitempty,mdcount,dive,keys,mdkey,endkeys,mdvalue"`
	CustomAttributes map[string]string `json:"customAttributes" validate:"omitempty,mdcount,dive,keys,mdkey,endkeys,mdvalue"`
}

// InviteRequest invites a person into an organization (or adds them
// directly). The JSON API decodes it from the seed's request shape.
//
// Metadata becomes the membership's metadata, and also the user's metadata
// when the user is created by this request (an existing user is reused
// unchanged, profile included).
type InviteRequest struct {
	Email       string            `json:"email" validate:"required,max=254,email"`
	ExternalID  string            `json:"externalId" validate:"omitempty,max=255,nocontrol"`
	UserProfile *ProfileInput     `json:"userProfile"`
	Metadata    map[string]string `json:"metadata" validate:"omitempty,mdcount,dive,keys,mdkey,endkeys,mdvalue"`
	// Roles must be in Config.Roles; empty means Config.DefaultRoles.
	Roles []string `json:"roles" validate:"dive,role"`
	// SendInvitationEmail (JSON alias sendActivationEmail): nil means true.
	// false without ReturnAcceptLink adds the person directly as ACTIVE:
	// no invitation, no invitation mail (a MailAdded notice when
	// Config.NotifyDirectAdd).
	SendInvitationEmail *bool `json:"sendInvitationEmail,omitempty"`
	// ReturnAcceptLink returns the accept link in InviteResult.AcceptLink.
	// With SendInvitationEmail false the membership is PENDING_INVITE with
	// an invitation but NO mail is queued (the app sends its own); with
	// SendInvitationEmail true the mail is queued as well.
	ReturnAcceptLink bool `json:"returnAcceptLink,omitempty"`
	// InvitedBy is the acting user's id (the JSON API sets it from the
	// Authorizer, never from the body).
	InvitedBy string `json:"-"`
}

// InviteResult is what CreateUserAndMembership wrote.
type InviteResult struct {
	User       store.User
	Membership store.Membership
	// AcceptLink is set only with InviteRequest.ReturnAcceptLink. It is a
	// secret: hand it to the invitee only.
	AcceptLink string
	// UserCreated is false when an existing user was reused.
	UserCreated bool
	// Approval is set when the invite was held for approval: the
	// membership is PENDING_APPROVAL, with no invitation and no mail
	// (and no AcceptLink) until an approver approves it.
	Approval *store.ApprovalRequest
}

// CreateOrganizationRequest creates an organization and, optionally,
// invites its first admin.
type CreateOrganizationRequest struct {
	// ID is the organization id; empty means a new "org_…" id.
	ID     string `json:"id" validate:"omitempty,orgid"`
	Name   string `json:"name" validate:"required,max=200,nocontrol"`
	Locale string `json:"locale" validate:"omitempty,max=35,bcp47_language_tag"`
	// Metadata is stored on the organization (same limits as member metadata).
	Metadata map[string]string `json:"metadata" validate:"omitempty,mdcount,dive,keys,mdkey,endkeys,mdvalue"`
	// Admin, when set, is invited (or added) with Config.AdminRole added
	// to its roles (Config.AdminRole alone when it names none).
	Admin *InviteRequest `json:"admin" validate:"-"`
	// CreatedBy is the acting user's id, recorded in the event.
	CreatedBy string `json:"-"`
}

// CreateOrganization creates an organization and, when req.Admin is set,
// its first admin's membership (an invitation unless the admin request
// says otherwise). Everything is validated, and the BeforeInvite hook
// consulted, before anything is written. With a store that implements
// store.OrganizationMemberCreator (all built-in stores) the organization
// and the admin's membership are written in one transaction: on any error
// neither exists. With another store they are two writes: if the second
// fails, the organization is returned with the error and the admin can be
// invited again with CreateUserAndMembership.
func (s *Service) CreateOrganization(ctx context.Context, req CreateOrganizationRequest) (store.Organization, *InviteResult, error) {
	req.Name = strings.TrimSpace(req.Name)
	if err := s.checkStruct(&req, ""); err != nil {
		return store.Organization{}, nil, err
	}
	if req.ID == "" {
		req.ID = store.NewID("org")
	}
	now := s.now()
	org := store.Organization{
		ID:         req.ID,
		Name:       req.Name,
		Locale:     canonicalLocale(req.Locale),
		Metadata:   cloneMap(req.Metadata),
		CreateTime: now,
		UpdateTime: now,
	}
	var admin InviteRequest
	var existing *store.User
	if req.Admin != nil {
		admin = *req.Admin
		if err := s.checkInvite(&admin, "admin.", []string{s.cfg.AdminRole}); err != nil {
			return store.Organization{}, nil, err
		}
		if !containsString(admin.Roles, s.cfg.AdminRole) {
			admin.Roles = append(admin.Roles, s.cfg.AdminRole)
		}
		var err error
		// The organization is new, so the admin can have no membership in
		// it: if its id is taken, the store's write says
		// ErrOrganizationExists (also when another replica creates it at
		// the same moment), not ErrAlreadyInvited or ErrAlreadyMember.
		if existing, err = s.existingUser(ctx, "", admin); err != nil {
			return store.Organization{}, nil, err
		}
		in, err := s.decisionInputs(ctx, org, admin.InvitedBy, true)
		if err != nil {
			return store.Organization{}, nil, err
		}
		d, err := s.decide(ctx, in, org, admin, existing)
		if err != nil {
			return store.Organization{}, nil, err
		}
		if d.roles != nil {
			admin.Roles = d.roles
			if !containsString(admin.Roles, s.cfg.AdminRole) {
				admin.Roles = append(admin.Roles, s.cfg.AdminRole)
			}
		}
	}
	ev := s.event(org.ID, store.EventOrganizationCreated, "", req.CreatedBy, now, map[string]string{"name": org.Name})
	if oc, ok := s.st.(store.OrganizationMemberCreator); ok && req.Admin != nil {
		// One transaction: on any error there is no organization either.
		res, err := s.createWith(ctx, org, admin, existing, func(p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
			return oc.CreateOrganizationWithMember(ctx, org, ev, p)
		})
		if err != nil {
			return store.Organization{}, nil, err
		}
		s.log.InfoContext(ctx, "invite: organization created", "org_id", org.ID)
		return org, res, nil
	}
	if err := s.st.CreateOrganization(ctx, org, ev); err != nil {
		return store.Organization{}, nil, err
	}
	s.log.InfoContext(ctx, "invite: organization created", "org_id", org.ID)
	if req.Admin == nil {
		return org, nil, nil
	}
	// A store without OrganizationMemberCreator: a second write, which
	// can fail after the organization exists.
	res, err := s.create(ctx, org, admin, existing)
	if err != nil {
		return org, nil, err
	}
	return org, res, nil
}

// CreateUserAndMembership invites a person into orgID, or adds them
// directly (see InviteRequest). It validates req (a *FieldError names the
// field at fault), then decides it (BeforeInvite, the organization's
// approval rules, InvitePolicy: a *PolicyError refuses), then writes the
// user (unless one exists with that email), the membership, the
// invitation and the outbox mail in one atomic store call — or, when the
// decision holds it, a PENDING_APPROVAL membership and its approval
// request (InviteResult.Approval), with no invitation and no mail. The
// write happens only if the rules and the inviter's roles are still what
// the decision read (else it is decided again).
//
// Errors: ErrNotFound (unknown org), ErrAlreadyInvited (a pending or
// expired invitation, or a held one, exists: use ResendInvitation),
// ErrAlreadyMember, ErrExternalIDTaken, ErrApprovalsUnsupported (a hold
// on a store without store.ApprovalStore). On any error nothing is
// written.
func (s *Service) CreateUserAndMembership(ctx context.Context, orgID string, req InviteRequest) (*InviteResult, error) {
	if err := s.checkInvite(&req, "", s.cfg.DefaultRoles); err != nil {
		return nil, err
	}
	org, rules, err := s.organizationRules(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return s.decideAndCreateUnchecked(ctx, org, req, rules)
}

// organizationRules returns orgID's organization and, when the store reads
// them together (store.OrganizationRulesGetter), its approval rules (nil
// otherwise: decisionInputs reads them).
//
// An organization never changes once created, so it is kept (s.orgs) and
// read once. Its rules are a guess once kept: they are used only when
// they hold nothing and no hook sees them, so the decision is "allow" and
// the write's guard (store.DecisionGuard.RulesRevision, checked under
// the store's lock) refuses it as ErrDecisionStale when they changed since;
// the decision is then made again on the rules read afresh (and the guess
// dropped). Otherwise they are read.
func (s *Service) organizationRules(ctx context.Context, orgID string) (store.Organization, *store.ApprovalRules, error) {
	kept, ok := s.orgs.get(orgID)
	if ok && (kept.rules == nil || (s.cfg.BeforeInvite == nil && s.cfg.InvitePolicy == nil && holdsNothing(*kept.rules))) {
		return kept.org, kept.rules, nil
	}
	var (
		org   store.Organization
		rules *store.ApprovalRules
	)
	if g, ok := s.st.(store.OrganizationRulesGetter); ok && orgID != "" && checkIDs("orgID", orgID) == nil {
		o, r, err := g.GetOrganizationRules(ctx, orgID)
		if err != nil {
			return store.Organization{}, nil, err
		}
		org, rules = o, &r
	} else {
		o, err := s.Organization(ctx, orgID)
		if err != nil {
			return store.Organization{}, nil, err
		}
		org = o
	}
	s.orgs.put(org, rules)
	return org, rules, nil
}

// holdsNothing reports whether r holds no invite whatever its request.
func holdsNothing(r store.ApprovalRules) bool {
	return !r.All && len(r.Roles) == 0 && len(r.InviterRoles) == 0 && !r.OutsideDomains
}

// maxKeptOrgs bounds orgCache; when full, an arbitrary entry goes.
const maxKeptOrgs = 4096

// orgCache keeps organizations (and the rules read with them) by id. Its
// zero value is empty and ready.
type orgCache struct {
	mu sync.Mutex
	m  map[string]keptOrg
}

type keptOrg struct {
	org   store.Organization
	rules *store.ApprovalRules // nil: not read with the organization
}

// get returns a copy of orgID's entry.
func (c *orgCache) get(orgID string) (keptOrg, bool) {
	c.mu.Lock()
	k, ok := c.m[orgID]
	c.mu.Unlock()
	if !ok {
		return keptOrg{}, false
	}
	return copyKept(k), true
}

func (c *orgCache) put(org store.Organization, rules *store.ApprovalRules) {
	k := copyKept(keptOrg{org: org, rules: rules})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]keptOrg{}
	}
	if _, ok := c.m[org.ID]; !ok && len(c.m) >= maxKeptOrgs {
		for id := range c.m {
			delete(c.m, id)
			break
		}
	}
	c.m[org.ID] = k
}

func (c *orgCache) drop(orgID string) {
	c.mu.Lock()
	delete(c.m, orgID)
	c.mu.Unlock()
}

// copyKept returns k with nothing shared (callers and hooks may change
// what they get).
func copyKept(k keptOrg) keptOrg {
	k.org.Metadata = cloneMap(k.org.Metadata)
	if k.rules != nil {
		r := store.CopyApprovalRules(*k.rules)
		k.rules = &r
	}
	return k
}

// existingMatters reports whether deciding req with in can depend on the
// person's existing user and membership: a hook sees them, and a hold
// (the rules' or a hook's) is decided, and may refuse, before the write.
// Otherwise the look-up is left to the store's write, which refuses what
// existingUser refuses (see createErr).
func (s *Service) existingMatters(in decisionInputs, req InviteRequest) bool {
	return s.cfg.BeforeInvite != nil || s.cfg.InvitePolicy != nil || (in.surface != SurfaceSCIM && in.ruleHold(req) != "")
}

// existingUser returns the user with req.Email (nil if none) after checking
// that, in orgID, they have no membership yet and req.ExternalID names no
// other member. orgID "" (an organization being created) skips both.
//
// Only orgID's data is consulted: whether the person or the external id
// exists in another organization changes neither the answer nor the reads
// made (a missing user still costs one membership read).
func (s *Service) existingUser(ctx context.Context, orgID string, req InviteRequest) (*store.User, error) {
	u, err := s.st.GetUserByEmail(ctx, req.Email)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if orgID == "" {
		return userOrNil(u, found), nil
	}
	userID := u.ID
	if !found {
		userID = "usr_none" // the same read as for an existing user
	}
	m, err := s.st.GetMembership(ctx, orgID, userID)
	switch {
	case err == nil && found:
		return nil, membershipConflict(m)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if req.ExternalID != "" {
		other, err := s.st.GetMembershipByExternalID(ctx, orgID, req.ExternalID)
		switch {
		case err == nil && other.UserID != userID:
			return nil, errOtherExternalID()
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return userOrNil(u, found), nil
}

// errOtherExternalID is ErrExternalIDTaken for an external id another
// member of the organization has.
func errOtherExternalID() error {
	return fmt.Errorf("%w: another member of this organization has this external id", ErrExternalIDTaken)
}

func userOrNil(u store.User, found bool) *store.User {
	if !found {
		return nil
	}
	return &u
}

// membershipConflict is the error for inviting someone who has m already.
func membershipConflict(m store.Membership) error {
	switch m.Status {
	case store.StatusPendingInvite:
		return ErrAlreadyInvited
	case store.StatusPendingApproval:
		return errAlreadyHeld
	}
	return ErrAlreadyMember
}

// pendingMode reports whether req creates a PENDING_INVITE membership with
// an invitation (mail or returned link) rather than an ACTIVE one.
func pendingMode(req InviteRequest) bool {
	return sendMail(req) || req.ReturnAcceptLink
}

func sendMail(req InviteRequest) bool {
	return req.SendInvitationEmail == nil || *req.SendInvitationEmail
}

// create writes a validated, policy-checked invite.
func (s *Service) create(ctx context.Context, org store.Organization, req InviteRequest, existing *store.User) (*InviteResult, error) {
	return s.createWith(ctx, org, req, existing, func(p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
		return s.st.CreateMembership(ctx, p)
	})
}

// createWith is create with the store write given.
func (s *Service) createWith(ctx context.Context, org store.Organization, req InviteRequest, existing *store.User,
	write func(store.CreateMembershipParams) (store.CreateMembershipResult, error)) (*InviteResult, error) {
	return s.createChecked(ctx, org, req, existing, true, write)
}

// createChecked is createWith; checked false says existingUser was not
// consulted, so the store's refusals are reported as it would have
// reported them.
func (s *Service) createChecked(ctx context.Context, org store.Organization, req InviteRequest, existing *store.User, checked bool,
	write func(store.CreateMembershipParams) (store.CreateMembershipResult, error)) (*InviteResult, error) {
	now := s.now()
	p, link, err := s.createParams(org, req, existing, s.inviterName(ctx, org.ID, req.InvitedBy), now)
	if err != nil {
		return nil, err
	}
	res, err := write(p)
	if err != nil {
		if !checked {
			return nil, s.uncheckedErr(ctx, org.ID, req.Email, err)
		}
		return nil, s.createErr(ctx, org.ID, req.Email, err)
	}
	s.changed(org.ID, res.User.ID)
	if s.log.Enabled(ctx, slog.LevelInfo) { // the arguments cost allocations even when discarded
		s.log.InfoContext(ctx, "invite: membership created",
			"org_id", org.ID, "user_id", res.User.ID, "status", string(res.Membership.Status),
			"user_created", res.UserCreated, "delivery", p.Event.Data["delivery"])
	}
	out := &InviteResult{User: res.User, Membership: res.Membership, UserCreated: res.UserCreated}
	if req.ReturnAcceptLink {
		out.AcceptLink = link
	}
	return out, nil
}

// createParams builds everything one invite or direct add writes, for a
// validated, policy-checked request: the user (used only when none has the
// email), the membership, the invitation and its mail when the membership
// is pending, and the event. link is the accept link ("" for a direct add).
// Single invites and bulk import both write what it builds.
func (s *Service) createParams(org store.Organization, req InviteRequest, existing *store.User, inviterName string, now time.Time) (p store.CreateMembershipParams, link string, err error) {
	user := s.newUser(org, req, now)
	m := store.Membership{
		OrganizationID:          org.ID,
		Status:                  store.StatusActive,
		Roles:                   req.Roles,
		Metadata:                cloneMap(req.Metadata),
		PrimaryIdentityProvider: IdentityProviderUnspecified,
		InvitedBy:               req.InvitedBy,
		JoinTime:                now,
		UpdateTime:              now,
		ExternalID:              req.ExternalID,
		Profile:                 memberProfile(req.UserProfile, s.orgLocale(org)),
		UserMetadata:            cloneMap(req.Metadata),
	}
	if m.UserMetadata == nil {
		m.UserMetadata = map[string]string{}
	}
	recipient := mailRecipient{Email: req.Email, Profile: m.Profile}
	p.User = user
	data := map[string]string{
		"email":    req.Email,
		"roles":    strings.Join(req.Roles, ","),
		"delivery": "none",
	}
	evType := store.EventMembershipAdded
	if pendingMode(req) {
		expire := now.Add(s.cfg.InviteTTL)
		m.Status = store.StatusPendingInvite
		m.InviteExpireTime = expire
		verifier, hash := newVerifier()
		inv := &store.Invitation{
			ID:             store.NewID("inv"),
			OrganizationID: org.ID,
			Email:          req.Email,
			VerifierHash:   hash,
			InvitedBy:      req.InvitedBy,
			CreateTime:     now,
			ExpireTime:     expire,
		}
		p.Invitation = inv
		link = s.acceptLink(formatToken(inv.ID, verifier))
		evType = store.EventMembershipInvited
		data["invitation_id"] = inv.ID
		data["expire_time"] = formatTime(expire)
		data["delivery"] = "link"
		if sendMail(req) {
			data["delivery"] = "email"
			if p.Outbox, err = s.mail(store.MailInvitation, org, recipient, inviterName, expire, link, now); err != nil {
				return p, "", err
			}
		}
	} else if s.cfg.NotifyDirectAdd {
		if p.Outbox, err = s.mail(store.MailAdded, org, recipient, inviterName, time.Time{}, "", now); err != nil {
			return p, "", err
		}
		data["delivery"] = "notice"
	}
	data["status"] = string(m.Status)
	p.Membership = m
	p.Event = s.event(org.ID, evType, "", req.InvitedBy, now, data)
	return p, link, nil
}

// createErr maps a CreateMembership error; a concurrent invite of the same
// person surfaces as store.ErrAlreadyMember and is told apart here.
func (s *Service) createErr(ctx context.Context, orgID, email string, err error) error {
	if errors.Is(err, store.ErrAlreadyMember) {
		if u, uerr := s.st.GetUserByEmail(ctx, email); uerr == nil {
			if m, merr := s.st.GetMembership(ctx, orgID, u.ID); merr == nil {
				return fmt.Errorf("%w (%w)", membershipConflict(m), err)
			}
		}
	}
	return err
}

// uncheckedErr maps the error of a write that existingUser did not
// precede to what existingUser would have returned: the person's
// membership in orgID (ErrAlreadyInvited, ErrAlreadyMember, held), then
// an external id another member has; anything else as createErr does.
func (s *Service) uncheckedErr(ctx context.Context, orgID, email string, err error) error {
	switch {
	case errors.Is(err, store.ErrAlreadyMember):
		if u, uerr := s.st.GetUserByEmail(ctx, email); uerr == nil {
			if m, merr := s.st.GetMembership(ctx, orgID, u.ID); merr == nil {
				return membershipConflict(m)
			}
		}
	case errors.Is(err, store.ErrExternalIDTaken):
		return errOtherExternalID()
	}
	return err
}

// memberProfile is the organization's view of a person's profile, from
// what the organization wrote (Name defaults to "First Last", Locale to the
// organization's).
func memberProfile(p *ProfileInput, defaultLocale string) store.MemberProfile {
	var mp store.MemberProfile
	if p != nil {
		mp = store.MemberProfile{
			FirstName: p.FirstName, LastName: p.LastName, Name: p.Name, Locale: p.Locale, PhoneNumber: p.PhoneNumber,
			Metadata: cloneMap(p.Metadata), CustomAttributes: cloneMap(p.CustomAttributes),
		}
	}
	if mp.Name == "" {
		mp.Name = joinName(mp.FirstName, mp.LastName)
	}
	if mp.Locale == "" {
		mp.Locale = defaultLocale
	}
	if mp.Metadata == nil {
		mp.Metadata = map[string]string{}
	}
	if mp.CustomAttributes == nil {
		mp.CustomAttributes = map[string]string{}
	}
	return mp
}

// newUser builds the user CreateMembership inserts when none exists: the
// app-scoped record, seeded with the first organization's input. Its ids
// are random (they carry no creation time) and its app-scoped ExternalID
// stays empty: an organization's external id lives on its membership.
func (s *Service) newUser(org store.Organization, req InviteRequest, now time.Time) store.User {
	u := store.User{
		ID:         store.NewRandomID("usr"),
		Email:      req.Email,
		Metadata:   cloneMap(req.Metadata),
		CreateTime: now,
		UpdateTime: now,
	}
	u.Profile.ID = store.NewRandomID("prof")
	if p := req.UserProfile; p != nil {
		u.Profile.FirstName = p.FirstName
		u.Profile.LastName = p.LastName
		u.Profile.Name = p.Name
		u.Profile.Locale = p.Locale
		u.Profile.PhoneNumber = p.PhoneNumber
		u.Profile.Metadata = cloneMap(p.Metadata)
		u.Profile.CustomAttributes = cloneMap(p.CustomAttributes)
	}
	if u.Profile.Name == "" {
		u.Profile.Name = joinName(u.Profile.FirstName, u.Profile.LastName)
	}
	if u.Profile.Locale == "" {
		u.Profile.Locale = s.orgLocale(org)
	}
	if u.Metadata == nil {
		u.Metadata = map[string]string{}
	}
	if u.Profile.Metadata == nil {
		u.Profile.Metadata = map[string]string{}
	}
	if u.Profile.CustomAttributes == nil {
		u.Profile.CustomAttributes = map[string]string{}
	}
	return u
}

func (s *Service) orgLocale(org store.Organization) string {
	if org.Locale != "" {
		return org.Locale
	}
	return s.cfg.DefaultLocale
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
