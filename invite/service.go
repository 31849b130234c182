package invite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

// Defaults applied by New to a zero Config field.
const (
	DefaultInviteTTL     = 15 * 24 * time.Hour
	DefaultEnvironmentID = "env_default"
	DefaultLocale        = "en"
	DefaultAdminRole     = "admin"
	DefaultMemberRole    = "member"
	// IdentityProviderUnspecified is a membership's PrimaryIdentityProvider
	// until the member first signs in.
	IdentityProviderUnspecified = "IDENTITY_PROVIDER_UNSPECIFIED"
)

// Config configures a Service. Its zero value is safe except for the two
// required fields, SecretKey and AcceptURL.
type Config struct {
	// Roles are the allowed role names (default ["admin", "member"]). A
	// name is 1–64 characters of a–z, 0–9, "_" and "-".
	Roles []string
	// DefaultRoles are given when an invite names no roles (default
	// ["member"], or [AdminRole] when Roles has no "member").
	DefaultRoles []string
	// AdminRole is the role that administers an organization (default
	// "admin"). CreateOrganization gives it to the first admin.
	AdminRole string
	// InviteTTL is how long an invitation stays valid (default 15 days).
	InviteTTL time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// SecretKey (32 bytes, REQUIRED) seals the accept link in the outbox
	// (see outbox.Sealer; Service.Sealer hands it to the dispatcher). Keep
	// it secret and stable: queued mails sealed with an old key cannot be
	// delivered.
	SecretKey []byte
	// AcceptURL is the REQUIRED absolute http(s) URL of the accept page; a
	// link is AcceptURL + "?token=" + token.
	AcceptURL string
	// EnvironmentID names the deployment in API responses (default "env_default").
	EnvironmentID string
	// DefaultLocale is the mail locale when neither the profile nor the
	// organization has one (default "en").
	DefaultLocale string
	// BeforeInvite, when set, is called before anything is written for an
	// invite or direct add. Returning an error refuses it: return a
	// *PolicyError to give the caller a reason; any other error refuses
	// with a generic reason.
	BeforeInvite func(ctx context.Context, in PolicyInput) error
	// InvitePolicy, when set, decides every invite and direct add after
	// BeforeInvite, with the whole context (PolicyInput): Allow (or
	// AllowWithRoles), Deny (its reason shown to the admin) or Hold (wait
	// for an approver). It runs inside the decision the write checks
	// (store.DecisionGuard): if the organization's approval rules or the
	// inviter's roles change before the write, it is asked again. An
	// organization's approval rules hold an invite even when it allows.
	InvitePolicy func(ctx context.Context, in PolicyInput) (PolicyDecision, error)
	// ApproverRole is the role that sees and decides held invites
	// (default AdminRole). It must be in Roles.
	ApproverRole string
	// HoldTTL is how long a held invite waits for a decision (default 7
	// days); after it the invite can no longer be approved and
	// ExpireHeldInvites removes it.
	HoldTTL time.Duration
	// OnMembershipChange, when set, is called synchronously after every
	// successful membership change (create, accept, resend, revoke,
	// deactivate, reactivate, update), for example to invalidate a cache.
	// It must be fast and safe for concurrent use.
	OnMembershipChange func(orgID, userID string)
	// RequireVerifiedEmail (default true) makes accepting need
	// email_verified from the identity provider.
	RequireVerifiedEmail *bool
	// NotifyDirectAdd queues a MailAdded notice when a member is added
	// directly (sendInvitationEmail false).
	NotifyDirectAdd bool
	// SignOutOnDeactivation ends every session of a member who is
	// deactivated (DeactivateMembership, SCIM active:false) or removed by
	// the directory, on every replica — as SignOutEverywhere does — so the
	// person signs in again for every organization, not only the one that
	// deactivated them. Without it (the default) the member is refused by
	// that organization at once and stays signed in elsewhere. It needs a
	// store.SessionRevoker; the revocation follows the status change's
	// commit, and if it fails the change stands and the failure is logged.
	SignOutOnDeactivation bool
	// Domains configures email domain verification (see ClaimDomain).
	Domains DomainConfig
	// JoinRequests configures requests to join (see RequestToJoin).
	JoinRequests JoinRequestConfig
	// Logger receives operational logs (never tokens or links); default discards.
	Logger *slog.Logger
}

// PolicyInput is what Config.BeforeInvite sees. Request is already
// validated and normalized (Email lowercased, default roles applied).
type PolicyInput struct {
	Organization store.Organization
	Request      InviteRequest
	// ExistingUser is the user with Request.Email, or nil for a new person.
	ExistingUser *store.User
	// Direct is true when the person becomes ACTIVE at once (no invitation).
	Direct bool
	// Inviter is the inviting user's id (InviteRequest.InvitedBy; "" for
	// the app itself), InviterRoles their roles in the organization (nil
	// unless they are an ACTIVE member).
	Inviter      string
	InviterRoles []string
	// Surface is where the invite comes from (SurfaceGo, SurfaceAPI,
	// SurfaceTeamPage, SurfaceBulk, SurfaceSCIM).
	Surface Surface
	// Rules are the organization's approval rules; RuleHold says why
	// they hold this invite ("" when they do not).
	Rules    store.ApprovalRules
	RuleHold string
}

// Service holds invitekit's business rules. Create it with New. A Service
// is safe for concurrent use.
type Service struct {
	st              store.Store
	cfg             Config
	sealer          *outbox.Sealer
	link            linkParts // the accept link (acceptLink)
	roles           []string
	roleSet         map[string]bool
	requireVerified bool
	validate        *validator.Validate
	log             *slog.Logger
	orgs            orgCache // organizationRules' cache
}

// New returns a Service on st. It validates cfg once (see
// Config.withDefaults): SecretKey must be 32 bytes, AcceptURL an absolute
// http(s) URL, role names well-formed, and DefaultRoles and AdminRole
// members of Roles.
func New(st store.Store, cfg Config) (*Service, error) {
	if st == nil {
		return nil, errors.New("invite: New: nil store")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sealer, err := outbox.NewSealer(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("invite: Config.SecretKey: %w", err)
	}
	acceptURL, _ := url.Parse(cfg.AcceptURL) // checked by withDefaults
	roleSet := make(map[string]bool, len(cfg.Roles))
	for _, r := range cfg.Roles {
		roleSet[r] = true
	}
	return &Service{
		st:              st,
		cfg:             cfg,
		sealer:          sealer,
		link:            newLinkParts(acceptURL),
		roles:           cfg.Roles,
		roleSet:         roleSet,
		requireVerified: cfg.RequireVerifiedEmail == nil || *cfg.RequireVerifiedEmail,
		validate:        newValidator(roleSet),
		log:             cfg.Logger,
	}, nil
}

// withDefaults fills the zero settings and checks the rest. It is pure,
// and returns a Config that shares no slice with cfg.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.SecretKey) != outbox.KeySize {
		return cfg, fmt.Errorf("invite: Config.SecretKey: %w", outbox.ErrBadKey)
	}
	if err := checkAcceptURL(cfg.AcceptURL); err != nil {
		return cfg, err
	}
	if len(cfg.Roles) == 0 {
		cfg.Roles = []string{DefaultAdminRole, DefaultMemberRole}
	}
	if cfg.AdminRole == "" {
		cfg.AdminRole = DefaultAdminRole
	}
	if len(cfg.DefaultRoles) == 0 {
		cfg.DefaultRoles = []string{cfg.AdminRole}
		if slices.Contains(cfg.Roles, DefaultMemberRole) {
			cfg.DefaultRoles = []string{DefaultMemberRole}
		}
	}
	if err := checkRoles(cfg.Roles, cfg.AdminRole, cfg.DefaultRoles); err != nil {
		return cfg, err
	}
	if cfg.InviteTTL < 0 {
		return cfg, errors.New("invite: Config.InviteTTL must not be negative")
	}
	cfg.InviteTTL = cmp.Or(cfg.InviteTTL, DefaultInviteTTL)
	if cfg.HoldTTL < 0 {
		return cfg, errors.New("invite: Config.HoldTTL must not be negative")
	}
	cfg.HoldTTL = cmp.Or(cfg.HoldTTL, DefaultHoldTTL)
	cfg.ApproverRole = cmp.Or(cfg.ApproverRole, cfg.AdminRole)
	if !slices.Contains(cfg.Roles, cfg.ApproverRole) {
		return cfg, fmt.Errorf("invite: Config.ApproverRole %q is not in Config.Roles", cfg.ApproverRole)
	}
	if r := cfg.JoinRequests.NotifyRole; r != "" && !slices.Contains(cfg.Roles, r) {
		return cfg, fmt.Errorf("invite: Config.JoinRequests.NotifyRole %q is not in Config.Roles", r)
	}
	cfg.EnvironmentID = cmp.Or(cfg.EnvironmentID, DefaultEnvironmentID)
	cfg.DefaultLocale = cmp.Or(cfg.DefaultLocale, DefaultLocale)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Roles = slices.Clone(cfg.Roles)
	cfg.DefaultRoles = slices.Clone(cfg.DefaultRoles)
	cfg.SecretKey = slices.Clone(cfg.SecretKey)
	return cfg, nil
}

// checkAcceptURL requires an absolute http(s) URL without a fragment.
func checkAcceptURL(raw string) error {
	if raw == "" {
		return errors.New("invite: Config.AcceptURL is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return errors.New("invite: Config.AcceptURL must be an absolute http(s) URL without a fragment")
	}
	return nil
}

// checkRoles requires well-formed, distinct role names, and the admin and
// default roles among them.
func checkRoles(roles []string, admin string, defaults []string) error {
	seen := make(map[string]bool, len(roles))
	for _, r := range roles {
		if !validRoleName(r) {
			return fmt.Errorf("invite: Config.Roles: invalid role name %q", r)
		}
		if seen[r] {
			return fmt.Errorf("invite: Config.Roles: duplicate role %q", r)
		}
		seen[r] = true
	}
	if !seen[admin] {
		return fmt.Errorf("invite: Config.AdminRole %q is not in Config.Roles", admin)
	}
	for _, r := range defaults {
		if !seen[r] {
			return fmt.Errorf("invite: Config.DefaultRoles: %q is not in Config.Roles", r)
		}
	}
	return nil
}

// validRoleName reports whether r is 1–64 characters of a–z, 0–9, _ and -.
func validRoleName(r string) bool {
	if r == "" || len(r) > 64 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Now returns the Service's current time (Config.Now).
func (s *Service) Now() time.Time { return s.cfg.Now() }

// now is the time written to the store: Config.Now in UTC.
func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// Roles returns the configured roles, in configuration order.
func (s *Service) Roles() []store.Role {
	out := make([]store.Role, len(s.roles))
	for i, r := range s.roles {
		out[i] = store.Role{ID: store.RoleID(r), Name: r}
	}
	return out
}

// AdminRole returns the configured admin role name.
func (s *Service) AdminRole() string { return s.cfg.AdminRole }

// EnvironmentID returns the configured environment id.
func (s *Service) EnvironmentID() string { return s.cfg.EnvironmentID }

// Organization returns an organization, or ErrNotFound.
func (s *Service) Organization(ctx context.Context, orgID string) (store.Organization, error) {
	if orgID == "" {
		return store.Organization{}, ErrNotFound
	}
	if err := checkIDs("orgID", orgID); err != nil {
		return store.Organization{}, err
	}
	org, err := s.st.GetOrganization(ctx, orgID)
	if err != nil {
		return store.Organization{}, err
	}
	return org, nil
}

// changed runs Config.OnMembershipChange.
func (s *Service) changed(orgID, userID string) {
	if s.cfg.OnMembershipChange != nil {
		s.cfg.OnMembershipChange(orgID, userID)
	}
}

func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}
