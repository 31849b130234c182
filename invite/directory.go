package invite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/invitekit/invitekit/store"
)

// Directory sync: the rules behind the SCIM 2.0 service provider
// (package invite/scim). Everything here is organization-scoped: a
// directory token belongs to one organization, and every method takes that
// organization's id and touches nothing of another.
//
// A member provisioned by a directory is an ordinary membership, written
// by the same store calls (and events) as an invite or direct add; what
// the directory says about the person (externalId, name, displayName)
// lives on the membership, the organization's own view. The userName is
// recorded per organization (store.Directory.SetDirectoryUserName).

// Errors of directory sync (the store's sentinels).
var (
	ErrDirectoryUnsupported = store.ErrDirectoryUnsupported
	ErrGroupExists          = store.ErrGroupExists
	ErrUserNameTaken        = store.ErrUserNameTaken
)

// Limits of directory input.
const (
	MaxUserNameLen       = 255
	MaxGroupNameLen      = 256
	MaxGroupMembers      = 10_000
	MaxGroupRoleMappings = 100
	MaxTokenNameLen      = 100
	// MaxDirectoryTokens bounds an organization's active tokens.
	MaxDirectoryTokens = 10
	// tokenTouchEvery is how stale a token's LastUsedTime may get before
	// a use writes it again (one write a minute, not one per request).
	tokenTouchEvery = time.Minute
)

const directoryTokenPrefix = "dtk_"

func (s *Service) directory() (store.Directory, error) {
	d, ok := s.st.(store.Directory)
	if !ok {
		return nil, ErrDirectoryUnsupported
	}
	return d, nil
}

// CanDirectorySync reports whether the store implements store.Directory,
// so that the directory methods (and the team page's Directory sync
// section) can work.
func (s *Service) CanDirectorySync() bool {
	_, err := s.directory()
	return err == nil
}

// --- tokens ---

// CreateDirectoryToken creates a SCIM bearer token for orgID. The returned
// secret is shown once: only its SHA-256 is stored. Several tokens may be
// active at once (a rotation creates the new one before revoking the old).
// Errors: *FieldError (name), ErrNotFound, ErrDirectoryUnsupported.
func (s *Service) CreateDirectoryToken(ctx context.Context, orgID, name, actorID string) (string, store.DirectoryToken, error) {
	d, err := s.directory()
	if err != nil {
		return "", store.DirectoryToken{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "SCIM token"
	}
	if utf8.RuneCountInString(name) > MaxTokenNameLen || hasControl(name) {
		return "", store.DirectoryToken{}, invalid("name", "name must be at most %d characters without control characters", MaxTokenNameLen)
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return "", store.DirectoryToken{}, err
	}
	toks, err := d.ListDirectoryTokens(ctx, orgID)
	if err != nil {
		return "", store.DirectoryToken{}, err
	}
	active := 0
	for _, t := range toks {
		if t.RevokeTime == nil {
			active++
		}
	}
	if active >= MaxDirectoryTokens {
		return "", store.DirectoryToken{}, invalid("name", "an organization has at most %d active directory tokens; revoke one first", MaxDirectoryTokens)
	}
	now := s.now()
	verifier, hash := newVerifier()
	t := store.DirectoryToken{
		ID: store.NewRandomID("dtk"), OrganizationID: orgID, Name: name, Hash: hash,
		CreatedBy: actorID, CreateTime: now,
	}
	ev := s.event(orgID, store.EventDirectoryTokenCreated, "", actorID, now, map[string]string{"token_id": t.ID, "name": name})
	if err := d.CreateDirectoryToken(ctx, t, ev); err != nil {
		return "", store.DirectoryToken{}, err
	}
	s.log.InfoContext(ctx, "invite: directory token created", "org_id", orgID, "token_id", t.ID)
	return t.ID + "." + verifier, t, nil
}

// RotateDirectoryToken creates a new token with the name of orgID's token
// oldID and leaves oldID active, so that the directory can switch over;
// revoke oldID with RevokeDirectoryToken once it has. Errors: ErrNotFound,
// ErrWrongStatus (oldID is revoked).
func (s *Service) RotateDirectoryToken(ctx context.Context, orgID, oldID, actorID string) (string, store.DirectoryToken, error) {
	d, err := s.directory()
	if err != nil {
		return "", store.DirectoryToken{}, err
	}
	old, err := d.GetDirectoryToken(ctx, oldID)
	if err != nil || old.OrganizationID != orgID {
		return "", store.DirectoryToken{}, ErrNotFound
	}
	if old.RevokeTime != nil {
		return "", store.DirectoryToken{}, ErrWrongStatus
	}
	return s.CreateDirectoryToken(ctx, orgID, old.Name, actorID)
}

// RevokeDirectoryToken revokes orgID's token id at once. Errors:
// ErrNotFound, ErrWrongStatus (already revoked).
func (s *Service) RevokeDirectoryToken(ctx context.Context, orgID, id, actorID string) error {
	d, err := s.directory()
	if err != nil {
		return err
	}
	now := s.now()
	ev := s.event(orgID, store.EventDirectoryTokenRevoked, "", actorID, now, map[string]string{"token_id": id})
	if err := d.RevokeDirectoryToken(ctx, orgID, id, now, ev); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "invite: directory token revoked", "org_id", orgID, "token_id", id)
	return nil
}

// ListDirectoryTokens returns orgID's tokens (hashes cleared), oldest first.
func (s *Service) ListDirectoryTokens(ctx context.Context, orgID string) ([]store.DirectoryToken, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	toks, err := d.ListDirectoryTokens(ctx, orgID)
	for i := range toks {
		toks[i].Hash = nil
	}
	return toks, err
}

// AuthenticateDirectoryToken returns the organization and token id of an
// active token; anything else is ErrInvalidToken (never saying why). The
// secret is compared in constant time with the stored hash, and the use
// recorded (at most once a minute per token).
func (s *Service) AuthenticateDirectoryToken(ctx context.Context, token string) (orgID, tokenID string, err error) {
	d, err := s.directory()
	if err != nil {
		return "", "", err
	}
	id, verifier, ok := strings.Cut(token, ".")
	if len(token) > maxTokenLen || !ok || !validDirectorySelector(id) || !validVerifier(verifier) {
		return "", "", ErrInvalidToken
	}
	t, err := d.GetDirectoryToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", ErrInvalidToken
	} else if err != nil {
		return "", "", err
	}
	if !verifierMatches(verifier, t.Hash) || t.RevokeTime != nil {
		return "", "", ErrInvalidToken
	}
	now := s.now()
	if t.LastUsedTime == nil || now.Sub(*t.LastUsedTime) >= tokenTouchEvery {
		if err := d.TouchDirectoryToken(ctx, id, now); err != nil {
			s.log.WarnContext(ctx, "invite: directory token last use not recorded", "token_id", id, "err", err)
		}
	}
	return t.OrganizationID, t.ID, nil
}

func validDirectorySelector(id string) bool {
	rest, ok := strings.CutPrefix(id, directoryTokenPrefix)
	if !ok || rest == "" || len(id) > maxSelectorLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// --- settings ---

// DirectorySettings returns orgID's directory settings, defaults filled
// in (ProvisionStatus ACTIVE, DeleteAction deactivate).
func (s *Service) DirectorySettings(ctx context.Context, orgID string) (store.DirectorySettings, error) {
	d, err := s.directory()
	if err != nil {
		return store.DirectorySettings{}, err
	}
	ds, err := d.GetDirectorySettings(ctx, orgID)
	if err != nil {
		return store.DirectorySettings{}, err
	}
	if ds.ProvisionStatus == "" {
		ds.ProvisionStatus = store.StatusActive
	}
	if ds.DeleteAction == "" {
		ds.DeleteAction = store.DeleteDeactivate
	}
	if ds.GroupRoles == nil {
		ds.GroupRoles = map[string]string{}
	}
	return ds, nil
}

// SetDirectorySettings replaces orgID's directory settings. GroupRoles
// values must be configured roles. Errors: *FieldError, ErrNotFound.
func (s *Service) SetDirectorySettings(ctx context.Context, orgID string, ds store.DirectorySettings, actorID string) (store.DirectorySettings, error) {
	d, err := s.directory()
	if err != nil {
		return store.DirectorySettings{}, err
	}
	switch ds.ProvisionStatus {
	case "", store.StatusActive, store.StatusPendingInvite:
	default:
		return store.DirectorySettings{}, invalid("provisionStatus", "provisionStatus must be ACTIVE or PENDING_INVITE")
	}
	switch ds.DeleteAction {
	case "", store.DeleteDeactivate, store.DeleteRemove:
	default:
		return store.DirectorySettings{}, invalid("deleteAction", "deleteAction must be deactivate or remove")
	}
	if len(ds.GroupRoles) > MaxGroupRoleMappings {
		return store.DirectorySettings{}, invalid("groupRoles", "at most %d group mappings", MaxGroupRoleMappings)
	}
	for g, r := range ds.GroupRoles {
		if g == "" || utf8.RuneCountInString(g) > MaxGroupNameLen || hasControl(g) {
			return store.DirectorySettings{}, invalid("groupRoles", "a group name must be 1 to %d characters without control characters", MaxGroupNameLen)
		}
		if !s.roleSet[r] {
			return store.DirectorySettings{}, invalid("groupRoles", "role %s is not a configured role", quoteShort(r))
		}
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return store.DirectorySettings{}, err
	}
	now := s.now()
	ds.OrganizationID = orgID
	ds.GroupRoles = cloneMap(ds.GroupRoles)
	ds.UpdateTime = now
	ev := s.event(orgID, store.EventDirectorySettings, "", actorID, now, map[string]string{
		"provision_status": string(ds.ProvisionStatus), "delete_action": ds.DeleteAction,
		"group_roles": fmt.Sprint(len(ds.GroupRoles)),
	})
	if err := d.PutDirectorySettings(ctx, ds, ev); err != nil {
		return store.DirectorySettings{}, err
	}
	return s.DirectorySettings(ctx, orgID)
}

// --- users ---

// DirectoryUserInput is a user as a directory writes it (SCIM User).
type DirectoryUserInput struct {
	UserName string
	// Email is the primary (or work) email; "" means UserName, which
	// must then be an email.
	Email      string
	ExternalID string
	GivenName  string
	FamilyName string
	// DisplayName is the member's display name (default "Given Family").
	DisplayName string
	Locale      string
	Active      bool
}

// DirectoryUser is a member as a directory sees it: the person's id and
// email, the organization's membership (its view of the person) and the
// userName the directory gave them.
type DirectoryUser struct {
	UserID     string
	Email      string
	UserName   string
	Membership store.Membership
}

// Active is the SCIM "active": false once deactivated.
func (u DirectoryUser) Active() bool { return u.Membership.Status != store.StatusInactive }

// DirectoryQuery selects members by equality (SCIM filter "eq", joined by
// "and"); an empty field matches everything. UserName and Email compare
// case-insensitively, ExternalID exactly (RFC 7643: caseExact).
type DirectoryQuery struct {
	UserName   string
	ExternalID string
	Email      string
}

func (in *DirectoryUserInput) checkUserName() error {
	in.UserName = strings.TrimSpace(in.UserName)
	if in.UserName == "" || utf8.RuneCountInString(in.UserName) > MaxUserNameLen || hasControl(in.UserName) {
		return invalid("userName", "userName must be 1 to %d characters without control characters", MaxUserNameLen)
	}
	return nil
}

func (in *DirectoryUserInput) check() (email string, err error) {
	if err := in.checkUserName(); err != nil {
		return "", err
	}
	raw := in.Email
	field := "emails"
	if raw == "" {
		raw, field = in.UserName, "userName"
	}
	email, err = NormalizeEmail(raw)
	if err != nil {
		return "", invalid(field, "%s must be an email address (or give a primary email)", field)
	}
	return email, nil
}

func (in DirectoryUserInput) profile() *ProfileInput {
	return &ProfileInput{FirstName: in.GivenName, LastName: in.FamilyName, Name: in.DisplayName, Locale: in.Locale}
}

// ProvisionDirectoryUser creates orgID's membership for a directory's
// user, ACTIVE or PENDING_INVITE (with the invitation mail) as the
// organization's settings say, with Config.DefaultRoles. The rules are
// CreateUserAndMembership's (validation, BeforeInvite, events); a repeated
// create is ErrAlreadyMember or ErrAlreadyInvited, a taken externalId
// ErrExternalIDTaken, a taken userName ErrUserNameTaken, and writes
// nothing. Active false provisions the member INACTIVE.
func (s *Service) ProvisionDirectoryUser(ctx context.Context, orgID string, in DirectoryUserInput, actorID string) (DirectoryUser, error) {
	d, err := s.directory()
	if err != nil {
		return DirectoryUser{}, err
	}
	email, err := in.check()
	if err != nil {
		return DirectoryUser{}, err
	}
	ds, err := s.DirectorySettings(ctx, orgID)
	if err != nil {
		return DirectoryUser{}, err
	}
	if err := s.userNameFree(ctx, d, orgID, in.UserName, ""); err != nil {
		return DirectoryUser{}, err
	}
	mail := ds.ProvisionStatus == store.StatusPendingInvite
	res, err := s.CreateUserAndMembership(WithSurface(ctx, SurfaceSCIM), orgID, InviteRequest{
		Email: email, ExternalID: in.ExternalID, UserProfile: in.profile(),
		SendInvitationEmail: &mail, InvitedBy: actorID,
	})
	if err != nil {
		return DirectoryUser{}, err
	}
	if err := s.recordUserName(ctx, d, orgID, res.User.ID, res.User.Email, in.UserName); err != nil {
		return DirectoryUser{}, err
	}
	m := res.Membership
	if !in.Active && m.Status == store.StatusActive {
		if m, err = s.DeactivateMembership(ctx, orgID, res.User.ID, actorID); err != nil {
			return DirectoryUser{}, err
		}
	}
	return DirectoryUser{UserID: res.User.ID, Email: res.User.Email, UserName: in.UserName, Membership: m}, nil
}

// userNameFree is nil when no member of orgID but exceptUserID is known
// by userName: by the name recorded for them (SetDirectoryUserName), or,
// with none recorded, by their email (directoryUser's fallback; a
// provisioned member whose userName is their email has no record).
func (s *Service) userNameFree(ctx context.Context, d store.Directory, orgID, userName, exceptUserID string) error {
	other, err := d.DirectoryUserByName(ctx, orgID, userName)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case other != exceptUserID:
		if _, err := s.st.GetMembership(ctx, orgID, other); err == nil {
			return ErrUserNameTaken
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		} // else: left the organization on another surface, the record is stale
	}
	email, err := NormalizeEmail(userName)
	if err != nil {
		return nil // no email: nobody is known by it implicitly
	}
	u, err := s.st.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case u.ID == exceptUserID:
		return nil
	}
	if _, err := s.st.GetMembership(ctx, orgID, u.ID); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := d.DirectoryUserName(ctx, orgID, u.ID); errors.Is(err, store.ErrNotFound) {
		return ErrUserNameTaken // a member known by this email
	} else if err != nil {
		return err
	}
	return nil // that member is known by another name
}

// recordUserName records userName for orgID's member userID, unless it
// is their email and nothing else is recorded (then the email is their
// userName already: one write less per provisioned user).
func (s *Service) recordUserName(ctx context.Context, d store.Directory, orgID, userID, email, userName string) error {
	if userName == email {
		if _, err := d.DirectoryUserName(ctx, orgID, userID); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return d.SetDirectoryUserName(ctx, orgID, userID, userName)
}

// GetDirectoryUser returns orgID's member userID, or ErrNotFound (also for
// a person who is a member of other organizations only).
func (s *Service) GetDirectoryUser(ctx context.Context, orgID, userID string) (DirectoryUser, error) {
	d, err := s.directory()
	if err != nil {
		return DirectoryUser{}, err
	}
	m, err := s.st.GetMembership(ctx, orgID, userID)
	if err != nil {
		return DirectoryUser{}, err
	}
	return s.directoryUser(ctx, d, m)
}

func (s *Service) directoryUser(ctx context.Context, d store.Directory, m store.Membership) (DirectoryUser, error) {
	u, err := s.st.GetUser(ctx, m.UserID)
	if err != nil {
		return DirectoryUser{}, err
	}
	name, err := d.DirectoryUserName(ctx, m.OrganizationID, m.UserID)
	if errors.Is(err, store.ErrNotFound) {
		name = u.Email // invited on another surface: known by email
	} else if err != nil {
		return DirectoryUser{}, err
	}
	return DirectoryUser{UserID: u.ID, Email: u.Email, UserName: name, Membership: m}, nil
}

// FindDirectoryUsers returns orgID's members matching q (at most one: each
// field is unique within the organization). A q with no field set is an
// error; list with ListDirectoryUsers.
func (s *Service) FindDirectoryUsers(ctx context.Context, orgID string, q DirectoryQuery) ([]DirectoryUser, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return nil, err
	}
	var m store.Membership
	switch {
	case q.ExternalID != "":
		m, err = s.st.GetMembershipByExternalID(ctx, orgID, q.ExternalID)
	case q.UserName != "":
		var id string
		id, err = d.DirectoryUserByName(ctx, orgID, q.UserName)
		if err == nil {
			m, err = s.st.GetMembership(ctx, orgID, id)
		}
		if errors.Is(err, store.ErrNotFound) {
			m, err = s.memberByEmail(ctx, orgID, q.UserName)
		}
	case q.Email != "":
		m, err = s.memberByEmail(ctx, orgID, q.Email)
	default:
		return nil, invalid("filter", "filter on userName, externalId or emails")
	}
	if errors.Is(err, store.ErrNotFound) {
		return []DirectoryUser{}, nil
	} else if err != nil {
		return nil, err
	}
	du, err := s.directoryUser(ctx, d, m)
	if err != nil {
		return nil, err
	}
	if (q.ExternalID != "" && du.Membership.ExternalID != q.ExternalID) ||
		(q.UserName != "" && store.UserNameKey(du.UserName) != store.UserNameKey(q.UserName)) ||
		(q.Email != "" && !strings.EqualFold(du.Email, strings.TrimSpace(q.Email))) {
		return []DirectoryUser{}, nil
	}
	return []DirectoryUser{du}, nil
}

func (s *Service) memberByEmail(ctx context.Context, orgID, raw string) (store.Membership, error) {
	email, err := NormalizeEmail(raw)
	if err != nil {
		return store.Membership{}, ErrNotFound
	}
	u, err := s.st.GetUserByEmail(ctx, email)
	if err != nil {
		return store.Membership{}, err
	}
	return s.st.GetMembership(ctx, orgID, u.ID)
}

// ListDirectoryUsers returns count members of orgID from the 1-based
// startIndex, in membership order, and the total number of members. It
// reads the memberships up to the end of the page only (the store is
// paged by cursor, not offset); the total comes from
// store.MemberCounter, or, for a store without it, from reading on to the
// end.
func (s *Service) ListDirectoryUsers(ctx context.Context, orgID string, startIndex, count int) ([]DirectoryUser, int, error) {
	d, err := s.directory()
	if err != nil {
		return nil, 0, err
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return nil, 0, err
	}
	startIndex, count = max(startIndex, 1), max(count, 0)
	total := -1 // not known yet
	if mc, ok := s.st.(store.MemberCounter); ok {
		if total, err = mc.CountMembers(ctx, orgID); err != nil {
			return nil, 0, err
		}
	}
	out := []DirectoryUser{}
	end := startIndex - 1 + count // the last position the page needs
	if total >= 0 && (count == 0 || startIndex > total) {
		return out, total, nil
	}
	seen := 0
	opts := store.ListOptions{Limit: MaxListLimit, Now: s.now()}
	for {
		if total >= 0 {
			opts.Limit = min(MaxListLimit, max(end-seen, 1))
		}
		page, err := s.st.ListMembers(ctx, orgID, opts)
		if err != nil {
			return nil, 0, err
		}
		for _, mem := range page.Members {
			seen++
			if seen >= startIndex && len(out) < count {
				du, err := s.directoryUser(ctx, d, mem.Membership)
				if err != nil {
					return nil, 0, err
				}
				out = append(out, du)
			}
		}
		if page.Next == "" || (total >= 0 && seen >= end) {
			if total < 0 {
				total = seen
			}
			return out, total, nil
		}
		opts.After = page.Next
	}
}

// ReplaceDirectoryUser replaces what the directory said about orgID's
// member userID: userName, externalId, names, locale and active (false:
// deactivate, or revoke a pending invitation; true: reactivate). The
// person's email is the person's, not the organization's: a different one
// is refused. Changes write the same events as the other surfaces
// (membership.updated, .deactivated, .reactivated, .revoked).
func (s *Service) ReplaceDirectoryUser(ctx context.Context, orgID, userID string, in DirectoryUserInput, actorID string) (DirectoryUser, error) {
	d, err := s.directory()
	if err != nil {
		return DirectoryUser{}, err
	}
	cur, err := s.GetDirectoryUser(ctx, orgID, userID)
	if err != nil {
		return DirectoryUser{}, err
	}
	if err := in.checkUserName(); err != nil {
		return DirectoryUser{}, err
	}
	if in.Email != "" {
		if email, err := NormalizeEmail(in.Email); err != nil {
			return DirectoryUser{}, invalid("emails", "emails must hold an email address")
		} else if email != cur.Email {
			return DirectoryUser{}, invalid("emails", "the directory cannot change a member's email")
		}
	}
	req := InviteRequest{Email: cur.Email, ExternalID: in.ExternalID, UserProfile: in.profile()}
	if err := s.checkInvite(&req, "", s.cfg.DefaultRoles); err != nil {
		return DirectoryUser{}, err
	}
	if in.UserName != cur.UserName {
		if err := s.userNameFree(ctx, d, orgID, in.UserName, userID); err != nil {
			return DirectoryUser{}, err
		}
	}
	m := cur.Membership
	org, err := s.Organization(ctx, orgID)
	if err != nil {
		return DirectoryUser{}, err
	}
	prof := m.Profile
	np := memberProfile(req.UserProfile, s.orgLocale(org))
	prof.FirstName, prof.LastName, prof.Name, prof.Locale = np.FirstName, np.LastName, np.Name, np.Locale
	var u store.MembershipUpdate
	data := map[string]string{}
	if req.ExternalID != m.ExternalID {
		u.ExternalID = &req.ExternalID
		data["externalId"] = "updated"
	}
	if prof.FirstName != m.Profile.FirstName || prof.LastName != m.Profile.LastName || prof.Name != m.Profile.Name || prof.Locale != m.Profile.Locale {
		u.Profile = &prof
		data["profile"] = "updated"
	}
	if len(data) > 0 {
		if req.ExternalID != "" && u.ExternalID != nil {
			if other, err := s.st.GetMembershipByExternalID(ctx, orgID, req.ExternalID); err == nil && other.UserID != userID {
				return DirectoryUser{}, ErrExternalIDTaken
			}
		}
		now := s.now()
		if m, err = s.st.UpdateMembership(ctx, orgID, userID, u, now, s.event(orgID, store.EventMembershipUpdated, userID, actorID, now, data)); err != nil {
			return DirectoryUser{}, err
		}
		s.changed(orgID, userID)
	}
	if in.UserName != cur.UserName {
		if err := d.SetDirectoryUserName(ctx, orgID, userID, in.UserName); err != nil {
			return DirectoryUser{}, err
		}
	}
	cur.UserName, cur.Membership = in.UserName, m
	return s.setDirectoryActive(ctx, orgID, cur, in.Active, actorID)
}

// SetDirectoryUserActive sets the SCIM "active" of orgID's member userID
// (see ReplaceDirectoryUser).
func (s *Service) SetDirectoryUserActive(ctx context.Context, orgID, userID string, active bool, actorID string) (DirectoryUser, error) {
	cur, err := s.GetDirectoryUser(ctx, orgID, userID)
	if err != nil {
		return DirectoryUser{}, err
	}
	return s.setDirectoryActive(ctx, orgID, cur, active, actorID)
}

func (s *Service) setDirectoryActive(ctx context.Context, orgID string, cur DirectoryUser, active bool, actorID string) (DirectoryUser, error) {
	var err error
	switch st := cur.Membership.Status; {
	case active && st == store.StatusInactive:
		cur.Membership, err = s.ReactivateMembership(ctx, orgID, cur.UserID, actorID)
	case !active && st == store.StatusActive:
		cur.Membership, err = s.DeactivateMembership(ctx, orgID, cur.UserID, actorID)
	case !active && st == store.StatusPendingInvite:
		// A deprovisioned person's invitation must stop working.
		if err = s.RevokeInvitation(ctx, orgID, cur.UserID, actorID); err == nil {
			cur.Membership.Status = store.StatusInactive
		}
	}
	return cur, err
}

// DeprovisionDirectoryUser is a directory's DELETE of orgID's member
// userID: a pending invitation is revoked; an ACTIVE member is deactivated
// or removed (DirectorySettings.DeleteAction). The organization's last
// active admin stays (ErrLastAdmin).
func (s *Service) DeprovisionDirectoryUser(ctx context.Context, orgID, userID, actorID string) error {
	d, err := s.directory()
	if err != nil {
		return err
	}
	ds, err := s.DirectorySettings(ctx, orgID)
	if err != nil {
		return err
	}
	m, err := s.st.GetMembership(ctx, orgID, userID)
	if err != nil {
		return err
	}
	if m.Status == store.StatusPendingInvite {
		return s.RevokeInvitation(ctx, orgID, userID, actorID)
	}
	if ds.DeleteAction != store.DeleteRemove {
		if m.Status == store.StatusActive {
			_, err = s.DeactivateMembership(ctx, orgID, userID, actorID)
		}
		return err
	}
	now := s.now()
	ev := s.event(orgID, store.EventMembershipRemoved, userID, actorID, now, map[string]string{"status": string(m.Status), "roles": strings.Join(m.Roles, ",")})
	if err := d.RemoveMembership(ctx, orgID, userID, s.cfg.AdminRole, ev); err != nil {
		return err
	}
	s.changed(orgID, userID)
	s.log.InfoContext(ctx, "invite: membership removed by directory", "org_id", orgID, "user_id", userID)
	s.signOutAfter(ctx, orgID, userID, actorID)
	return nil
}

// --- groups ---

// DirectoryGroupInput is a group as a directory writes it (SCIM Group).
type DirectoryGroupInput struct {
	DisplayName string
	ExternalID  string
	Members     []string // user ids of orgID's members
}

func (s *Service) checkGroup(ctx context.Context, orgID string, in *DirectoryGroupInput) error {
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	if in.DisplayName == "" || utf8.RuneCountInString(in.DisplayName) > MaxGroupNameLen || hasControl(in.DisplayName) {
		return invalid("displayName", "displayName must be 1 to %d characters without control characters", MaxGroupNameLen)
	}
	if utf8.RuneCountInString(in.ExternalID) > MaxUserNameLen || hasControl(in.ExternalID) {
		return invalid("externalId", "externalId must be at most %d characters without control characters", MaxUserNameLen)
	}
	if len(in.Members) > MaxGroupMembers {
		return invalid("members", "a group has at most %d members", MaxGroupMembers)
	}
	in.Members = slices.Compact(slices.Sorted(slices.Values(in.Members)))
	for _, id := range in.Members {
		if _, err := s.st.GetMembership(ctx, orgID, id); errors.Is(err, store.ErrNotFound) {
			return invalid("members", "member %s is not a member of this organization", quoteShort(id))
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateDirectoryGroup stores a directory's group; when its displayName is
// mapped to a role (DirectorySettings.GroupRoles) its members' roles
// follow. Errors: *FieldError, ErrGroupExists, ErrNotFound.
func (s *Service) CreateDirectoryGroup(ctx context.Context, orgID string, in DirectoryGroupInput, actorID string) (store.DirectoryGroup, error) {
	d, err := s.directory()
	if err != nil {
		return store.DirectoryGroup{}, err
	}
	if err := s.checkGroup(ctx, orgID, &in); err != nil {
		return store.DirectoryGroup{}, err
	}
	now := s.now()
	g := store.DirectoryGroup{
		ID: store.NewRandomID("grp"), OrganizationID: orgID, DisplayName: in.DisplayName, ExternalID: in.ExternalID,
		Members: in.Members, CreateTime: now, UpdateTime: now,
	}
	ev := s.event(orgID, store.EventDirectoryGroupCreated, "", actorID, now, map[string]string{"group_id": g.ID, "members": fmt.Sprint(len(g.Members))})
	if err := d.CreateDirectoryGroup(ctx, g, ev); err != nil {
		return store.DirectoryGroup{}, err
	}
	s.applyGroupRoles(ctx, d, orgID, g.Members, actorID)
	return g, nil
}

// GetDirectoryGroup returns orgID's group id, or ErrNotFound.
func (s *Service) GetDirectoryGroup(ctx context.Context, orgID, id string) (store.DirectoryGroup, error) {
	d, err := s.directory()
	if err != nil {
		return store.DirectoryGroup{}, err
	}
	return d.GetDirectoryGroup(ctx, orgID, id)
}

// ListDirectoryGroups returns orgID's groups, oldest first.
func (s *Service) ListDirectoryGroups(ctx context.Context, orgID string) ([]store.DirectoryGroup, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return nil, err
	}
	return d.ListDirectoryGroups(ctx, orgID)
}

// ReplaceDirectoryGroup replaces orgID's group id; the roles of members
// who joined or left follow the mapping.
func (s *Service) ReplaceDirectoryGroup(ctx context.Context, orgID, id string, in DirectoryGroupInput, actorID string) (store.DirectoryGroup, error) {
	d, err := s.directory()
	if err != nil {
		return store.DirectoryGroup{}, err
	}
	old, err := d.GetDirectoryGroup(ctx, orgID, id)
	if err != nil {
		return store.DirectoryGroup{}, err
	}
	if err := s.checkGroup(ctx, orgID, &in); err != nil {
		return store.DirectoryGroup{}, err
	}
	now := s.now()
	g := old
	g.DisplayName, g.ExternalID, g.Members, g.UpdateTime = in.DisplayName, in.ExternalID, in.Members, now
	ev := s.event(orgID, store.EventDirectoryGroupUpdated, "", actorID, now, map[string]string{"group_id": g.ID, "members": fmt.Sprint(len(g.Members))})
	if err := d.ReplaceDirectoryGroup(ctx, g, ev); err != nil {
		return store.DirectoryGroup{}, err
	}
	affected := old.Members
	if old.DisplayName == g.DisplayName {
		affected = symmetricDiff(old.Members, g.Members)
	} else {
		affected = append(slices.Clone(old.Members), g.Members...)
	}
	s.applyGroupRoles(ctx, d, orgID, affected, actorID)
	return g, nil
}

// DeleteDirectoryGroup deletes orgID's group id; its members' roles follow
// the mapping without it.
func (s *Service) DeleteDirectoryGroup(ctx context.Context, orgID, id, actorID string) error {
	d, err := s.directory()
	if err != nil {
		return err
	}
	old, err := d.GetDirectoryGroup(ctx, orgID, id)
	if err != nil {
		return err
	}
	now := s.now()
	ev := s.event(orgID, store.EventDirectoryGroupDeleted, "", actorID, now, map[string]string{"group_id": id})
	if err := d.DeleteDirectoryGroup(ctx, orgID, id, ev); err != nil {
		return err
	}
	s.applyGroupRoles(ctx, d, orgID, old.Members, actorID)
	return nil
}

func symmetricDiff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}

// applyGroupRoles makes the roles of userIDs follow the organization's
// group mapping: a member of mapped groups gets exactly their roles, a
// member of none Config.DefaultRoles. Without a mapping, groups change
// nothing. A change the last-admin rule refuses is skipped (logged); the
// group write itself stands.
func (s *Service) applyGroupRoles(ctx context.Context, d store.Directory, orgID string, userIDs []string, actorID string) {
	if len(userIDs) == 0 {
		return
	}
	ds, err := s.DirectorySettings(ctx, orgID)
	if err != nil || len(ds.GroupRoles) == 0 {
		return
	}
	groups, err := d.ListDirectoryGroups(ctx, orgID)
	if err != nil {
		s.log.WarnContext(ctx, "invite: group roles not applied", "org_id", orgID, "err", err)
		return
	}
	for _, uid := range slices.Compact(slices.Sorted(slices.Values(userIDs))) {
		want := map[string]bool{}
		for _, g := range groups {
			if r, ok := ds.GroupRoles[g.DisplayName]; ok && slices.Contains(g.Members, uid) {
				want[r] = true
			}
		}
		roles := slices.Sorted(maps.Keys(want))
		if len(roles) == 0 {
			roles = slices.Clone(s.cfg.DefaultRoles)
		}
		m, err := s.st.GetMembership(ctx, orgID, uid)
		if err != nil {
			continue
		}
		if slices.Equal(slices.Sorted(slices.Values(m.Roles)), slices.Sorted(slices.Values(roles))) {
			continue
		}
		if _, err := s.UpdateMembership(ctx, orgID, uid, UpdateRequest{Roles: &roles}, actorID); err != nil {
			s.log.WarnContext(ctx, "invite: group role not applied", "org_id", orgID, "user_id", uid, "err", err)
		}
	}
}
