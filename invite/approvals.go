package invite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

// Approval before invitation and conditional invitations.
//
// Every invite and direct add is decided before it is written: the
// organization's approval rules (store.ApprovalRules) and the app's hooks
// (Config.BeforeInvite, Config.InvitePolicy) answer allow (optionally with
// other roles), deny (a *PolicyError with the reason the admin sees) or
// hold. A held invite is a PENDING_APPROVAL membership: no invitation, no
// mail, no usable token, until an approver approves it (the invitation is
// created then, its expiry counted from then, and mailed) or rejects it
// (the membership is removed, the reason kept, the inviter told by mail).
//
// The decision and the write cannot race: the decision reads the rules'
// revision and the inviter's roles, and the store writes only if both are
// unchanged in the write's transaction (store.DecisionGuard); if either
// changed, the invite is decided again.

// Surface is where an invite comes from, as PolicyInput.Surface tells the
// policy hook.
type Surface string

// Surfaces.
const (
	SurfaceGo       Surface = "go"        // the app's own Go code (the default)
	SurfaceAPI      Surface = "api"       // the JSON API (invite/inviteapi)
	SurfaceTeamPage Surface = "team_page" // the team page (invite/teampage)
	SurfaceBulk     Surface = "bulk"      // bulk import (Service.BulkInvite)
	SurfaceSCIM     Surface = "scim"      // directory sync (invite/scim)
)

type surfaceKey struct{}

// WithSurface returns ctx telling the Service that its invites come from
// surface. The kit's HTTP surfaces set it; the app's own code need not
// (SurfaceGo is the default).
func WithSurface(ctx context.Context, surface Surface) context.Context {
	return context.WithValue(ctx, surfaceKey{}, surface)
}

// SurfaceFrom returns the Surface WithSurface set on ctx, or SurfaceGo.
func SurfaceFrom(ctx context.Context) Surface {
	if s, ok := ctx.Value(surfaceKey{}).(Surface); ok && s != "" {
		return s
	}
	return SurfaceGo
}

// PolicyAction is what a policy answers.
type PolicyAction int

// Policy answers.
const (
	PolicyAllow PolicyAction = iota // write it (the zero value)
	PolicyDeny                      // refuse it: a *PolicyError with Reason
	PolicyHold                      // hold it for approval (PENDING_APPROVAL)
)

// PolicyDecision is Config.InvitePolicy's answer. Build it with Allow,
// AllowWithRoles, Deny or Hold.
type PolicyDecision struct {
	Action PolicyAction
	// Roles, when not nil, replace the requested roles (allow and hold);
	// each must be one of Config.Roles, and at least one is needed.
	Roles []string
	// Reason: for a deny, shown to the admin who invited; for a hold,
	// shown to the approvers.
	Reason string
}

// Allow writes the invite as requested.
func Allow() PolicyDecision { return PolicyDecision{} }

// AllowWithRoles writes the invite with roles instead of the requested ones.
func AllowWithRoles(roles ...string) PolicyDecision {
	return PolicyDecision{Roles: append([]string{}, roles...)}
}

// Deny refuses the invite; reason is shown to the admin.
func Deny(reason string) PolicyDecision { return PolicyDecision{Action: PolicyDeny, Reason: reason} }

// Hold holds the invite for approval; reason is shown to the approvers.
func Hold(reason string) PolicyDecision { return PolicyDecision{Action: PolicyHold, Reason: reason} }

// DefaultHoldTTL is how long a held invite waits for a decision (Config.HoldTTL).
const DefaultHoldTTL = 7 * 24 * time.Hour

// Errors of approval before invitation (the store's values).
var (
	ErrApprovalsUnsupported = store.ErrApprovalsUnsupported
	ErrAlreadyDecided       = store.ErrAlreadyDecided
	ErrApprovalExpired      = store.ErrApprovalExpired
	ErrDecisionStale        = store.ErrDecisionStale
	ErrNotApprover          = store.ErrNotApprover
)

// errAlreadyHeld is ErrAlreadyInvited for a person whose invite waits for
// approval.
var errAlreadyHeld = fmt.Errorf("%w (it is waiting for approval)", ErrAlreadyInvited)

// maxDecideAttempts bounds how often an invite is decided again after the
// rules or the inviter's roles changed under it (ErrDecisionStale).
const maxDecideAttempts = 3

// decisionInputs is what a decision reads besides the request: the
// organization's rules and verified domains, the inviter's ACTIVE roles.
type decisionInputs struct {
	surface      Surface
	approvals    store.ApprovalStore // nil: the store cannot hold
	rules        store.ApprovalRules
	domains      []string // the rules' Domains and the verified ones
	inviterID    string
	inviterRoles []string // nil: not an ACTIVE member
	newOrg       bool     // an organization being created
}

// decision is the outcome of a decision that did not refuse.
type decision struct {
	hold   bool
	reason string   // the hold's reason
	roles  []string // not nil: the roles to write instead of the requested
	guard  store.DecisionGuard
}

// decisionInputs reads what deciding invites by inviterID into org needs.
// newOrg: the organization does not exist yet (no rules, no members).
func (s *Service) decisionInputs(ctx context.Context, org store.Organization, inviterID string, newOrg bool) (decisionInputs, error) {
	return s.decisionInputsRead(ctx, org, inviterID, newOrg, nil)
}

// decisionInputsRead is decisionInputs with org's rules already read
// (when not nil).
func (s *Service) decisionInputsRead(ctx context.Context, org store.Organization, inviterID string, newOrg bool, rules *store.ApprovalRules) (decisionInputs, error) {
	in := decisionInputs{surface: SurfaceFrom(ctx), inviterID: inviterID, newOrg: newOrg}
	in.approvals, _ = s.st.(store.ApprovalStore)
	if newOrg {
		return in, nil
	}
	if in.approvals != nil {
		r := store.ApprovalRules{}
		if rules != nil {
			r = *rules
		} else {
			var err error
			if r, err = in.approvals.GetApprovalRules(ctx, org.ID); err != nil {
				return in, err
			}
		}
		in.rules = r
		in.domains = slices.Clone(r.Domains)
		if ds, ok := s.st.(store.DomainStore); ok && r.OutsideDomains {
			claims, err := ds.ListDomains(ctx, org.ID)
			if err != nil {
				return in, err
			}
			for _, d := range claims {
				if d.Verified() {
					in.domains = append(in.domains, d.Domain)
				}
			}
		}
	}
	if inviterID != "" {
		m, err := s.st.GetMembership(ctx, org.ID, inviterID)
		switch {
		case err == nil && m.Status == store.StatusActive:
			in.inviterRoles = append([]string{}, m.Roles...)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return in, err
		}
	}
	return in, nil
}

// ruleHold returns why in's rules hold req ("" when they do not).
func (in decisionInputs) ruleHold(req InviteRequest) string {
	r := in.rules
	if r.All {
		return "every invitation to this organization needs approval"
	}
	for _, role := range req.Roles {
		if slices.Contains(r.Roles, role) {
			return fmt.Sprintf("invitations with the role %q need approval", role)
		}
	}
	for _, role := range in.inviterRoles {
		if slices.Contains(r.InviterRoles, role) {
			return fmt.Sprintf("invitations by members with the role %q need approval", role)
		}
	}
	if r.OutsideDomains {
		_, domain, _ := strings.Cut(req.Email, "@")
		if !slices.Contains(in.domains, domain) {
			return fmt.Sprintf("invitations outside the organization's domains need approval (%s)", domain)
		}
	}
	return ""
}

// decide decides req (validated) into org: Config.BeforeInvite, the
// rules, then Config.InvitePolicy. The strictest answer wins: a deny
// refuses, a hold by the rules or the hook holds. Directory sync and a new
// organization's first admin are never held by the rules (the directory is
// the organization's own source; there is no approver yet), and a hook's
// hold refuses them.
func (s *Service) decide(ctx context.Context, in decisionInputs, org store.Organization, req InviteRequest, existing *store.User) (decision, error) {
	d := decision{guard: store.DecisionGuard{RulesRevision: in.rules.Revision, InviterID: in.inviterID, InviterRoles: in.inviterRoles}}
	pin := PolicyInput{
		Organization: org,
		Request:      req,
		ExistingUser: existing,
		Direct:       !pendingMode(req),
		Inviter:      in.inviterID,
		Surface:      in.surface,
	}
	if s.cfg.BeforeInvite != nil || s.cfg.InvitePolicy != nil {
		// The hooks get their own copies (a bulk import decides every row
		// here: without hooks, nobody sees them).
		pin.InviterRoles, pin.Rules = slices.Clone(in.inviterRoles), store.CopyApprovalRules(in.rules)
		pin.Request.Roles = append([]string(nil), req.Roles...)
		pin.Request.Metadata = cloneMap(req.Metadata)
	}
	if in.surface != SurfaceSCIM && !in.newOrg {
		pin.RuleHold = in.ruleHold(req)
	}
	if s.cfg.BeforeInvite != nil {
		if err := s.cfg.BeforeInvite(ctx, pin); err != nil {
			return d, s.policyRefusal(ctx, org.ID, err)
		}
	}
	var ans PolicyDecision
	if s.cfg.InvitePolicy != nil {
		var err error
		if ans, err = s.cfg.InvitePolicy(ctx, pin); err != nil {
			return d, s.policyRefusal(ctx, org.ID, err)
		}
	}
	switch ans.Action {
	case PolicyAllow:
	case PolicyDeny:
		return d, &PolicyError{Reason: cmp.Or(strings.TrimSpace(ans.Reason), "the invitation was refused by policy")}
	case PolicyHold:
		d.hold, d.reason = true, cmp.Or(strings.TrimSpace(ans.Reason), "held for approval by the organization's policy")
	default:
		return d, s.policyRefusal(ctx, org.ID, fmt.Errorf("invite: InvitePolicy answered an unknown action %d", ans.Action))
	}
	if ans.Roles != nil {
		roles := dedupe(ans.Roles)
		for _, r := range roles {
			if !s.roleSet[r] {
				return d, s.policyRefusal(ctx, org.ID, fmt.Errorf("invite: InvitePolicy gave the unknown role %q", r))
			}
		}
		if len(roles) == 0 {
			return d, s.policyRefusal(ctx, org.ID, errors.New("invite: InvitePolicy gave no roles"))
		}
		d.roles = roles
		if in.surface != SurfaceSCIM && !in.newOrg {
			changed := req
			changed.Roles = roles
			pin.RuleHold = in.ruleHold(changed) // the rules judge the roles that are written
		}
	}
	if !d.hold && pin.RuleHold != "" {
		d.hold, d.reason = true, pin.RuleHold
	}
	if d.hold {
		switch {
		case in.newOrg:
			return d, &PolicyError{Reason: "the first admin of a new organization cannot wait for approval"}
		case in.surface == SurfaceSCIM:
			return d, &PolicyError{Reason: "directory sync cannot wait for approval: " + d.reason}
		case in.approvals == nil:
			return d, ErrApprovalsUnsupported
		}
	}
	return d, nil
}

// policyRefusal is a hook's error as the caller sees it: its own
// *PolicyError, or a generic one (the error is logged, not shown).
func (s *Service) policyRefusal(ctx context.Context, orgID string, err error) error {
	var pe *PolicyError
	if errors.As(err, &pe) {
		return err
	}
	s.log.InfoContext(ctx, "invite: policy refused", "org_id", orgID, "err", err)
	return &PolicyError{Reason: "the invitation was refused by policy", Err: err}
}

// decideAndCreate decides req (validated, its existing user looked up)
// and writes it: held, guarded, or (a store without ApprovalStore)
// plainly. A decision made stale by a concurrent change of the rules or of
// the inviter's roles is made again.
func (s *Service) decideAndCreate(ctx context.Context, org store.Organization, req InviteRequest, existing *store.User) (*InviteResult, error) {
	return s.decideAndCreateRead(ctx, org, req, existing, true, nil)
}

// decideAndCreateUnchecked is decideAndCreate before existingUser: it is
// consulted only when the decision can depend on it (existingMatters),
// else the write's own refusals stand in for it. rules, when not nil, are
// org's rules already read.
func (s *Service) decideAndCreateUnchecked(ctx context.Context, org store.Organization, req InviteRequest, rules *store.ApprovalRules) (*InviteResult, error) {
	return s.decideAndCreateRead(ctx, org, req, nil, false, rules)
}

func (s *Service) decideAndCreateRead(ctx context.Context, org store.Organization, req InviteRequest, existing *store.User, checked bool, rules *store.ApprovalRules) (*InviteResult, error) {
	for attempt := 1; ; attempt++ {
		in, err := s.decisionInputsRead(ctx, org, req.InvitedBy, false, rules)
		if err != nil {
			return nil, err
		}
		rules = nil // decided again: read again
		if !checked && s.existingMatters(in, req) {
			if existing, err = s.existingUser(ctx, org.ID, req); err != nil {
				return nil, err
			}
			checked = true
		}
		res, err := s.decideAndWrite(ctx, in, org, req, existing, checked)
		if errors.Is(err, ErrDecisionStale) {
			s.orgs.drop(org.ID) // the rules kept with it may be what changed
			if attempt < maxDecideAttempts {
				continue
			}
		}
		return res, err
	}
}

// decideAndWrite is one attempt of decideAndCreate with in read (and
// existingUser consulted when checked).
func (s *Service) decideAndWrite(ctx context.Context, in decisionInputs, org store.Organization, req InviteRequest, existing *store.User, checked bool) (*InviteResult, error) {
	d, err := s.decide(ctx, in, org, req, existing)
	if err != nil {
		return nil, err
	}
	if d.roles != nil {
		req.Roles = d.roles
	}
	switch {
	case d.hold:
		return s.hold(ctx, in.approvals, org, req, existing, d)
	case in.approvals != nil:
		return s.createChecked(ctx, org, req, existing, checked, func(p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
			return in.approvals.CreateMembershipGuarded(ctx, p, nil, d.guard)
		})
	}
	return s.createChecked(ctx, org, req, existing, checked, func(p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
		return s.st.CreateMembership(ctx, p)
	})
}

// hold writes req as a held invite: a PENDING_APPROVAL membership (what a
// direct add writes, without its notice) and its approval request, no
// invitation and no mail.
func (s *Service) hold(ctx context.Context, as store.ApprovalStore, org store.Organization, req InviteRequest, existing *store.User, d decision) (*InviteResult, error) {
	now := s.now()
	direct := req
	no := false
	direct.SendInvitationEmail, direct.ReturnAcceptLink = &no, false
	p, _, err := s.createParams(org, direct, existing, "", now)
	if err != nil {
		return nil, err
	}
	p.Outbox = nil
	p.Membership.Status = store.StatusPendingApproval
	r := &store.ApprovalRequest{
		ID: store.NewID("apr"), OrganizationID: org.ID, Email: req.Email, Roles: slices.Clone(req.Roles),
		InvitedBy: req.InvitedBy, Surface: string(SurfaceFrom(ctx)), HoldReason: d.reason,
		CreateTime: now, ExpireTime: now.Add(s.cfg.HoldTTL),
	}
	p.Event = s.event(org.ID, store.EventMembershipHeld, "", req.InvitedBy, now, map[string]string{
		"email": req.Email, "roles": strings.Join(req.Roles, ","), "status": string(store.StatusPendingApproval),
		"approval_id": r.ID, "reason": d.reason, "surface": r.Surface, "expire_time": formatTime(r.ExpireTime),
	})
	res, err := as.CreateMembershipGuarded(ctx, p, r, d.guard)
	if err != nil {
		return nil, s.createErr(ctx, org.ID, req.Email, err)
	}
	r.UserID = res.User.ID
	s.changed(org.ID, res.User.ID)
	s.log.InfoContext(ctx, "invite: membership held for approval", "org_id", org.ID, "user_id", res.User.ID, "approval_id", r.ID)
	return &InviteResult{User: res.User, Membership: res.Membership, UserCreated: res.UserCreated, Approval: r}, nil
}

// approvals returns the store's ApprovalStore, or ErrApprovalsUnsupported.
func (s *Service) approvals() (store.ApprovalStore, error) {
	as, ok := s.st.(store.ApprovalStore)
	if !ok {
		return nil, ErrApprovalsUnsupported
	}
	return as, nil
}

// ApproverRole returns the role that approves held invites (Config.ApproverRole).
func (s *Service) ApproverRole() string { return s.cfg.ApproverRole }

// CanApprove reports whether userID is an ACTIVE member of orgID holding
// Config.ApproverRole.
func (s *Service) CanApprove(ctx context.Context, orgID, userID string) (bool, error) {
	if orgID == "" || userID == "" || checkIDs("orgID", orgID, "userID", userID) != nil {
		return false, nil
	}
	m, err := s.st.GetMembership(ctx, orgID, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return m.Status == store.StatusActive && m.HasRole(s.cfg.ApproverRole), nil
}

// checkApprover refuses (ErrNotApprover) an actorID that cannot approve
// in orgID; actorID "" is the app itself (app scope), which may.
func (s *Service) checkApprover(ctx context.Context, orgID, actorID string) error {
	if err := checkIDs("orgID", orgID); err != nil {
		return err
	}
	if actorID == "" {
		return nil
	}
	ok, err := s.CanApprove(ctx, orgID, actorID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotApprover
	}
	return nil
}

// ApprovalRulesInput sets an organization's approval rules (JSON API:
// PUT …/approval-rules). Roles and InviterRoles must be in Config.Roles;
// Domains are email domains (normalized to lowercase).
type ApprovalRulesInput struct {
	All            bool     `json:"all"`
	Roles          []string `json:"roles" validate:"max=64,dive,role"`
	InviterRoles   []string `json:"inviterRoles" validate:"max=64,dive,role"`
	OutsideDomains bool     `json:"outsideDomains"`
	Domains        []string `json:"domains" validate:"max=100"`
}

// ApprovalRules returns orgID's approval rules (the zero rules when never
// set): ErrNotFound for an unknown organization, ErrApprovalsUnsupported.
func (s *Service) ApprovalRules(ctx context.Context, orgID string) (store.ApprovalRules, error) {
	as, err := s.approvals()
	if err != nil {
		return store.ApprovalRules{}, err
	}
	if err := checkIDs("orgID", orgID); err != nil {
		return store.ApprovalRules{}, err
	}
	return as.GetApprovalRules(ctx, orgID)
}

// SetApprovalRules replaces orgID's approval rules and writes an event.
// Invites decided on the old rules and not yet written are decided again
// (store.DecisionGuard).
func (s *Service) SetApprovalRules(ctx context.Context, orgID string, in ApprovalRulesInput, actorID string) (store.ApprovalRules, error) {
	as, err := s.approvals()
	if err != nil {
		return store.ApprovalRules{}, err
	}
	if err := checkIDs("orgID", orgID); err != nil {
		return store.ApprovalRules{}, err
	}
	if err := s.checkStruct(&in, ""); err != nil {
		return store.ApprovalRules{}, err
	}
	domains := make([]string, 0, len(in.Domains))
	for i, raw := range in.Domains {
		d := strings.ToLower(strings.TrimSpace(raw))
		if err := checkDomain(d); err != nil {
			return store.ApprovalRules{}, invalid(fmt.Sprintf("domains[%d]", i), "domains[%d] is not an email domain", i)
		}
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	now := s.now()
	r := store.ApprovalRules{
		All: in.All, Roles: nonNilList(dedupe(in.Roles)), InviterRoles: nonNilList(dedupe(in.InviterRoles)),
		OutsideDomains: in.OutsideDomains, Domains: domains, UpdateTime: now, UpdatedBy: actorID,
	}
	ev := s.event(orgID, store.EventApprovalRulesUpdated, "", actorID, now, map[string]string{
		"all": fmt.Sprint(r.All), "roles": strings.Join(r.Roles, ","), "inviter_roles": strings.Join(r.InviterRoles, ","),
		"outside_domains": fmt.Sprint(r.OutsideDomains), "domains": strings.Join(r.Domains, ","),
	})
	out, err := as.SetApprovalRules(ctx, orgID, r, ev)
	if err != nil {
		return store.ApprovalRules{}, err
	}
	s.log.InfoContext(ctx, "invite: approval rules set", "org_id", orgID, "revision", out.Revision)
	return out, nil
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// HeldInvite is a held invite as approvers see it.
type HeldInvite struct {
	store.ApprovalRequest
	// Name is the name the inviting organization gave the person.
	Name string
	// InviterName is the inviter as the organization knows them.
	InviterName string
	// Expired: the request can no longer be approved (it is removed by
	// the next ExpireHeldInvites).
	Expired bool
}

// HeldInvites lists orgID's invites waiting for approval (oldest first, at
// most limit; 0 means 100) for actorID, who must be an approver (""
// the app): ErrNotApprover, ErrApprovalsUnsupported.
func (s *Service) HeldInvites(ctx context.Context, orgID, actorID string, limit int) ([]HeldInvite, error) {
	as, err := s.approvals()
	if err != nil {
		return nil, err
	}
	if err := s.checkApprover(ctx, orgID, actorID); err != nil {
		return nil, err
	}
	if limit < 0 || limit > MaxListLimit {
		return nil, invalid("pageSize", "pageSize must be a number between 1 and %d", MaxListLimit)
	}
	rs, err := as.ListApprovalRequests(ctx, orgID, store.ApprovalPending, limit)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]HeldInvite, 0, len(rs))
	for _, r := range rs {
		h := HeldInvite{ApprovalRequest: r, Expired: !now.Before(r.ExpireTime), InviterName: s.inviterName(ctx, orgID, r.InvitedBy)}
		if m, err := s.st.GetMembership(ctx, orgID, r.UserID); err == nil {
			h.Name = cmp.Or(m.Profile.Name, joinName(m.Profile.FirstName, m.Profile.LastName))
		}
		out = append(out, h)
	}
	return out, nil
}

// ApprovalRequest returns orgID's approval request id (any status) for
// actorID, an approver: ErrNotFound, ErrNotApprover.
func (s *Service) ApprovalRequest(ctx context.Context, orgID, id, actorID string) (store.ApprovalRequest, error) {
	as, err := s.approvals()
	if err != nil {
		return store.ApprovalRequest{}, err
	}
	if err := s.checkApprover(ctx, orgID, actorID); err != nil {
		return store.ApprovalRequest{}, err
	}
	if err := checkIDs("approvalID", id); err != nil {
		return store.ApprovalRequest{}, err
	}
	return as.GetApprovalRequest(ctx, orgID, id)
}

// ApproveRequest is an approval: Roles, when not nil, replace the
// requested roles (JSON API: POST …/approvals/{id}/approve, body optional).
type ApproveRequest struct {
	Roles []string `json:"roles" validate:"omitempty,min=1,max=64,dive,role"`
}

// ApproveInvite approves orgID's held invite id by actorID (an approver;
// "" the app): the invitation is created now, expiring Config.InviteTTL
// from now, and its mail queued, in one transaction with the decision.
// Errors: ErrNotFound, ErrNotApprover, ErrAlreadyDecided (it was decided
// already: of two approvers at once, exactly one succeeds),
// ErrApprovalExpired.
func (s *Service) ApproveInvite(ctx context.Context, orgID, id, actorID string, req ApproveRequest) (store.ApprovalRequest, store.Membership, error) {
	as, err := s.approvals()
	if err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	if err := s.checkApprover(ctx, orgID, actorID); err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	if err := checkIDs("approvalID", id); err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	if err := s.checkStruct(&req, ""); err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	org, err := s.Organization(ctx, orgID)
	if err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	r, err := as.GetApprovalRequest(ctx, orgID, id)
	if err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	m, err := s.st.GetMembership(ctx, orgID, r.UserID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	now := s.now()
	expire := now.Add(s.cfg.InviteTTL)
	verifier, hash := newVerifier()
	inv := &store.Invitation{
		ID: store.NewID("inv"), OrganizationID: orgID, UserID: r.UserID, Email: r.Email, VerifierHash: hash,
		InvitedBy: r.InvitedBy, CreateTime: now, ExpireTime: expire,
	}
	link := s.acceptLink(formatToken(inv.ID, verifier))
	msg, err := s.mail(store.MailInvitation, org, mailRecipient{Email: r.Email, Profile: m.Profile}, s.inviterName(ctx, orgID, r.InvitedBy), expire, link, now)
	if err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	var roles []string
	final := r.Roles
	if req.Roles != nil {
		roles = dedupe(req.Roles)
		final = roles
	}
	data := map[string]string{
		"approval_id": id, "invitation_id": inv.ID, "expire_time": formatTime(expire), "delivery": "email",
		"status": string(store.StatusPendingInvite), "email": r.Email, "roles": strings.Join(final, ","),
	}
	d := store.HoldDecision{
		Status: store.ApprovalApproved, By: actorID, At: now, Roles: roles, Invitation: inv, Outbox: msg,
		Event: s.event(orgID, store.EventHoldApproved, r.UserID, actorID, now, data),
	}
	out, mem, err := as.DecideHeld(ctx, orgID, id, d)
	if err != nil {
		return store.ApprovalRequest{}, store.Membership{}, err
	}
	s.changed(orgID, r.UserID)
	s.log.InfoContext(ctx, "invite: held invitation approved", "org_id", orgID, "user_id", r.UserID, "approval_id", id)
	return out, mem, nil
}

// RejectRequest is a rejection (JSON API: POST …/approvals/{id}/reject).
// Reason is required: the inviter is told it.
type RejectRequest struct {
	Reason string `json:"reason" validate:"required,max=500,nocontrol"`
}

// RejectInvite rejects orgID's held invite id by actorID (an approver;
// "" the app): the PENDING_APPROVAL membership is removed, the request
// keeps the reason, and the inviter (when they are a user) is told by
// mail (outbox.KindInviteRejected), in one transaction with the decision.
// Errors as ApproveInvite's (a rejection of an expired request is allowed).
func (s *Service) RejectInvite(ctx context.Context, orgID, id, actorID string, req RejectRequest) (store.ApprovalRequest, error) {
	as, err := s.approvals()
	if err != nil {
		return store.ApprovalRequest{}, err
	}
	if err := s.checkApprover(ctx, orgID, actorID); err != nil {
		return store.ApprovalRequest{}, err
	}
	if err := checkIDs("approvalID", id); err != nil {
		return store.ApprovalRequest{}, err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if err := s.checkStruct(&req, ""); err != nil {
		return store.ApprovalRequest{}, err
	}
	org, err := s.Organization(ctx, orgID)
	if err != nil {
		return store.ApprovalRequest{}, err
	}
	r, err := as.GetApprovalRequest(ctx, orgID, id)
	if err != nil {
		return store.ApprovalRequest{}, err
	}
	now := s.now()
	d := store.HoldDecision{
		Status: store.ApprovalRejected, By: actorID, Reason: req.Reason, At: now,
		Event: s.event(orgID, store.EventHoldRejected, r.UserID, actorID, now, map[string]string{
			"approval_id": id, "email": r.Email, "reason": req.Reason,
		}),
	}
	if d.Outbox, err = s.rejectNotice(ctx, org, r, req.Reason, now); err != nil {
		return store.ApprovalRequest{}, err
	}
	out, _, err := as.DecideHeld(ctx, orgID, id, d)
	if err != nil {
		return store.ApprovalRequest{}, err
	}
	s.changed(orgID, r.UserID)
	s.log.InfoContext(ctx, "invite: held invitation rejected", "org_id", orgID, "user_id", r.UserID, "approval_id", id)
	return out, nil
}

// rejectNotice is the mail telling r's inviter about the rejection, or nil
// when the inviter is not a user of the organization.
func (s *Service) rejectNotice(ctx context.Context, org store.Organization, r store.ApprovalRequest, reason string, now time.Time) (*store.OutboxMessage, error) {
	if r.InvitedBy == "" {
		return nil, nil
	}
	u, err := s.st.GetUser(ctx, r.InvitedBy)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := s.st.GetMembership(ctx, org.ID, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // no longer of this organization: nobody to tell there
	}
	if err != nil {
		return nil, err
	}
	msg, err := s.mail(outbox.KindInviteRejected, org, recipientOf(u, m), "", time.Time{}, "", now)
	if err != nil {
		return nil, err
	}
	msg.Data[outbox.DataInvitee] = r.Email
	msg.Data[outbox.DataReason] = reason
	return msg, nil
}

// ExpireHeldInvites removes every held invite whose Config.HoldTTL has
// passed (of every organization), writing an event for each, and returns
// how many it removed. Run it on a schedule (RunHeldInviteExpiry does).
func (s *Service) ExpireHeldInvites(ctx context.Context) (int, error) {
	as, err := s.approvals()
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		now := s.now()
		due, err := as.DueApprovalRequests(ctx, now, 100)
		if err != nil {
			return n, err
		}
		for _, r := range due {
			d := store.HoldDecision{Status: store.ApprovalExpired, At: now,
				Event: s.event(r.OrganizationID, store.EventHoldExpired, r.UserID, "", now, map[string]string{"approval_id": r.ID, "email": r.Email})}
			_, _, err := as.DecideHeld(ctx, r.OrganizationID, r.ID, d)
			switch {
			case err == nil:
				n++
				s.changed(r.OrganizationID, r.UserID)
			case errors.Is(err, ErrAlreadyDecided):
				// decided meanwhile (an approver, another replica's sweep)
			default:
				return n, err
			}
		}
		if len(due) < 100 {
			return n, nil
		}
	}
}

// RunHeldInviteExpiry calls ExpireHeldInvites every interval (default one
// minute) until ctx ends; failures are logged.
func (s *Service) RunHeldInviteExpiry(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.ExpireHeldInvites(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "invite: expiring held invitations", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "invite: held invitations expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bulkHold writes a bulk row the decision d holds, and records its
// outcome: held, or unchanged when the person is already held, invited or
// a member. A hold made stale by a concurrent change is decided again,
// alone. It returns the errors the row cannot be recorded for.
func (run *bulkRun) bulkHold(ctx context.Context, din decisionInputs, it bulkItem, d decision) error {
	r := run.res(it.idx)
	if run.opts.DryRun {
		r.Status, r.MembershipStatus, r.Reason = BulkHeld, store.StatusPendingApproval, d.reason
		return nil
	}
	ctx = WithSurface(ctx, SurfaceBulk)
	res, err := run.s.hold(ctx, din.approvals, run.org, it.req, it.existing, d)
	if errors.Is(err, ErrDecisionStale) {
		res, err = run.s.decideAndCreate(ctx, run.org, it.req, it.existing)
	}
	switch {
	case err == nil && res.Approval != nil:
		r.Status, r.UserID, r.MembershipStatus, r.Reason = BulkHeld, res.User.ID, store.StatusPendingApproval, res.Approval.HoldReason
	case err == nil:
		r.Status, r.UserID, r.MembershipStatus = BulkCreated, res.User.ID, res.Membership.Status
	case errors.Is(err, errAlreadyHeld):
		r.Status, r.MembershipStatus, r.Reason = BulkAlreadyMember, store.StatusPendingApproval, "already held for approval (unchanged)"
	case errors.Is(err, ErrAlreadyInvited):
		r.Status, r.MembershipStatus, r.Reason = BulkAlreadyMember, store.StatusPendingInvite, "already invited (unchanged)"
	case errors.Is(err, ErrAlreadyMember):
		r.Status, r.Reason = BulkAlreadyMember, "already a member (unchanged)"
	case errors.Is(err, ErrExternalIDTaken):
		r.Status, r.Code, r.Field, r.Reason = BulkInvalid, "external_id_taken", run.field("externalId"), externalIDReason(err)
	default:
		return err
	}
	return nil
}

// refused records a row the decision refused (a *PolicyError, or a hold
// the store cannot keep); false: err is not a row's refusal.
func (run *bulkRun) refused(r *BulkRowResult, err error) bool {
	var pe *PolicyError
	switch {
	case errors.As(err, &pe):
		r.Status, r.Code, r.Reason = BulkRefused, "policy_refused", pe.Reason
	case errors.Is(err, ErrApprovalsUnsupported):
		r.Status, r.Code, r.Reason = BulkRefused, "approvals_unsupported", "the invitation needs approval, which this server's store does not support"
	default:
		return false
	}
	return true
}

// CanHoldInvites reports whether the store keeps held invites
// (store.ApprovalStore): the team page shows its approval queue only then.
func (s *Service) CanHoldInvites() bool {
	_, err := s.approvals()
	return err == nil
}
