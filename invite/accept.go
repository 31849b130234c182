package invite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/invitekit/invitekit/store"
)

// AcceptIdentity is who signed in at the identity provider.
type AcceptIdentity struct {
	Issuer        string // OpenID issuer URL (required)
	Subject       string // "sub" claim (required)
	Email         string // email claim (normalized before comparing)
	EmailVerified bool   // email_verified claim
	// JoinAsSignedIn accepts the invitation for the signed-in identity even
	// when its email differs from the invited one; the mismatch is recorded
	// in the accept event instead of refusing.
	JoinAsSignedIn bool
	// Provider names the provider in the membership's
	// primaryIdentityProvider when an invitation is accepted (default
	// Issuer). SignIn through an organization's connection names the
	// connection (its Name) instead; SignIn through the app's provider
	// leaves every membership's primaryIdentityProvider as it is.
	Provider string
	// TrustEmail says the caller trusts Issuer to assert Email: only then
	// may SignIn link this identity, when it is unknown, to the user with
	// that (verified) email. authflow sets it from
	// authflow.Config.TrustedEmailIssuers (by default its provider).
	// Accepting an invitation ignores it: the invitation proves the email.
	TrustEmail bool
	// Name is the person's name as the provider asserted it (authflow
	// reads it from an organization's connection's NameClaim): accepting
	// an invitation, and SignIn through the organization's connection,
	// make it the membership's Profile.Name when the organization has
	// none yet. It never replaces what the organization wrote, never
	// reaches store.User's app-wide profile or another organization's
	// membership, and SignIn through the app's provider ignores it. At
	// most MaxDisplayNameLen characters of one line (else *FieldError
	// "name").
	Name string
	// Organization and Connection are set when the identity comes from an
	// organization's own SSO connection (Issuer is then the connection's
	// store.SSOConnection.IdentityIssuer): it may accept that
	// organization's invitations only (else ErrSSOWrongOrganization), and
	// SignIn signs it into that organization only (see signInConnection).
	Organization, Connection string
}

// InvitationInfo is what an accept page shows about an invitation.
// Invitation.VerifierHash is cleared.
type InvitationInfo struct {
	Invitation   store.Invitation
	Organization store.Organization
	User         store.User
	InviterName  string
}

// LookupInvitation checks a token and returns what the accept page needs.
// For an expired, used or revoked invitation it returns the info together
// with ErrInviteExpired, ErrInviteUsed or ErrInviteRevoked, so the page can
// say so. A malformed or unknown token, or a wrong verifier, is
// ErrInvalidToken (with zero info).
func (s *Service) LookupInvitation(ctx context.Context, token string) (InvitationInfo, error) {
	inv, err := s.checkToken(ctx, token)
	if err != nil {
		return InvitationInfo{}, err
	}
	return s.invitationInfo(ctx, inv)
}

// checkToken parses token, loads its invitation and verifies the verifier
// in constant time.
func (s *Service) checkToken(ctx context.Context, token string) (store.Invitation, error) {
	id, verifier, err := parseToken(token)
	if err != nil {
		return store.Invitation{}, err
	}
	inv, err := s.st.GetInvitation(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Invitation{}, ErrInvalidToken
	case err != nil:
		return store.Invitation{}, err
	}
	if !verifierMatches(verifier, inv.VerifierHash) {
		return store.Invitation{}, ErrInvalidToken
	}
	return inv, nil
}

// invitationInfo loads the organization, user and inviter of inv and
// returns the invitation's state as the error.
func (s *Service) invitationInfo(ctx context.Context, inv store.Invitation) (InvitationInfo, error) {
	org, err := s.st.GetOrganization(ctx, inv.OrganizationID)
	if err != nil {
		return InvitationInfo{}, err
	}
	user, err := s.st.GetUser(ctx, inv.UserID)
	if err != nil {
		return InvitationInfo{}, err
	}
	inv.VerifierHash = nil
	info := InvitationInfo{
		Invitation:   inv,
		Organization: org,
		User:         user,
		InviterName:  s.inviterName(ctx, inv.OrganizationID, inv.InvitedBy),
	}
	return info, s.invitationState(inv)
}

// invitationState is nil for a usable invitation, else why it is not.
func (s *Service) invitationState(inv store.Invitation) error {
	switch {
	case inv.RevokeTime != nil:
		return ErrInviteRevoked
	case inv.SpendTime != nil:
		return ErrInviteUsed
	case !s.now().Before(inv.ExpireTime):
		return ErrInviteExpired
	}
	return nil
}

// AcceptInvitation checks token and accepts the invitation for id (see
// AcceptInvitationByID for the rules).
func (s *Service) AcceptInvitation(ctx context.Context, token string, id AcceptIdentity) (store.Membership, error) {
	if invID, verifier, err := parseToken(token); err == nil {
		if m, done, err := s.acceptGuarded(ctx, invID, hashVerifier(verifier), id); done {
			return m, err
		}
	}
	inv, err := s.checkToken(ctx, token)
	if err != nil {
		return store.Membership{}, err
	}
	return s.accept(ctx, inv, id)
}

// AcceptInvitationByID accepts an invitation whose token was already
// checked (the accept page's POST keeps only the invitation id in the
// session). In one atomic store call it spends the invitation (exactly one
// of many concurrent calls succeeds), links the identity to the invited
// user, marks the email verified when the provider verified the invited
// email, and flips the membership to ACTIVE. It then records the login.
// The membership.accepted event names the issuer and, when the identity
// was not linked before, has identity_linked "true".
//
// Email policy: id.Email (normalized) must equal the invited email unless
// id.JoinAsSignedIn; id.EmailVerified must be true unless
// Config.RequireVerifiedEmail is false.
//
// Identity policy: an invited user already linked to another subject at
// id.Issuer (a member of another organization) is refused with
// ErrIdentityBound: one subject per issuer and user.
//
// Errors: ErrInvalidToken (unknown id), ErrInviteExpired, ErrInviteUsed,
// ErrInviteRevoked, ErrEmailMismatch, ErrEmailNotVerified,
// ErrIdentityTaken, ErrIdentityBound, ErrWrongStatus, *FieldError (no
// issuer or subject).
func (s *Service) AcceptInvitationByID(ctx context.Context, invitationID string, id AcceptIdentity) (store.Membership, error) {
	if !validSelector(invitationID) {
		return store.Membership{}, ErrInvalidToken
	}
	if m, done, err := s.acceptGuarded(ctx, invitationID, nil, id); done {
		return m, err
	}
	inv, err := s.st.GetInvitation(ctx, invitationID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Membership{}, ErrInvalidToken
	case err != nil:
		return store.Membership{}, err
	}
	return s.accept(ctx, inv, id)
}

func (s *Service) accept(ctx context.Context, inv store.Invitation, id AcceptIdentity) (store.Membership, error) {
	if err := checkIdentity(id); err != nil {
		return store.Membership{}, err
	}
	if err := s.invitationState(inv); err != nil {
		return store.Membership{}, err
	}
	if id.Organization != "" && id.Organization != inv.OrganizationID {
		return store.Membership{}, ErrSSOWrongOrganization
	}
	email, nerr := NormalizeEmail(id.Email)
	match := nerr == nil && email == inv.Email
	if !match && !id.JoinAsSignedIn {
		return store.Membership{}, ErrEmailMismatch
	}
	if s.requireVerified && !id.EmailVerified {
		return store.Membership{}, ErrEmailNotVerified
	}
	linked, err := s.boundIdentity(ctx, inv.UserID, id.Issuer, id.Subject)
	if errors.Is(err, ErrIdentityBound) {
		// A concurrent accept of this invitation may have linked the
		// other subject: then the truthful answer is that it is spent.
		if cur, gerr := s.st.GetInvitation(ctx, inv.ID); gerr == nil {
			if serr := s.invitationState(cur); serr != nil {
				return store.Membership{}, serr
			}
		}
	}
	if err != nil {
		return store.Membership{}, err
	}
	now := s.now()
	p, loginEv := s.acceptParams(inv.ID, inv.OrganizationID, inv.UserID, id, email, now, match, linked)
	var m store.Membership
	al, one := s.st.(store.AcceptLoginer)
	if one {
		// One commit: the member is never ACTIVE without the login record.
		m, err = al.AcceptInvitationLogin(ctx, p, loginEv)
	} else {
		m, err = s.st.AcceptInvitation(ctx, p)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Membership{}, fmt.Errorf("%w (%w)", ErrInvalidToken, err)
		}
		return store.Membership{}, err
	}
	s.accepted(ctx, m, match)
	if !one { // a store without AcceptLoginer: a second commit
		if err := s.st.RecordLogin(ctx, inv.UserID, now, loginEv); err != nil {
			s.log.WarnContext(ctx, "invite: record login after accept", "user_id", inv.UserID, "err", err)
		}
	}
	return m, nil
}

// acceptGuarded is the accept in one store call, on a
// store.GuardedAcceptLoginer: the store checks the invitation (its
// verifier hash when hash is not nil, its state, its email and the SSO
// connection's organization) and the identity binding (as boundIdentity
// does) itself, so that nothing is read first. The verifier's hash is
// compared, not the verifier: a timing difference can tell only how much
// of an unknown SHA-256 hash the presented verifier's hash shares, which
// does not help find a verifier. done is false when the accept takes the
// checked path instead: a store without the capability, an identity or
// email that accept refuses (so that its errors come in its order), an
// email that is not the invited one (accept decides), or any refusal by
// the store (accept reads the invitation and explains it, with the same
// errors and events as ever).
func (s *Service) acceptGuarded(ctx context.Context, invitationID string, hash []byte, id AcceptIdentity) (m store.Membership, done bool, err error) {
	gs, ok := s.st.(store.GuardedAcceptLoginer)
	if !ok || checkIdentity(id) != nil || s.requireVerified && !id.EmailVerified {
		return store.Membership{}, false, nil
	}
	email, err := NormalizeEmail(id.Email)
	if err != nil {
		return store.Membership{}, false, nil
	}
	// The organization and the user are the invitation's, filled in by
	// the store; the identity is not linked yet unless the store says so.
	p, loginEv := s.acceptParams(invitationID, "", "", id, email, s.now(), true, true)
	g := store.AcceptGuard{VerifierHash: hash, Email: email, OrganizationID: id.Organization,
		NewIdentityData: map[string]string{"identity_linked": "true"}}
	m, err = gs.AcceptInvitationGuarded(ctx, p, g, loginEv)
	switch {
	case errors.Is(err, store.ErrAcceptRefused):
		return store.Membership{}, false, nil
	case err != nil:
		return store.Membership{}, true, err
	}
	s.accepted(ctx, m, true)
	return m, true, nil
}

// acceptParams returns the store's accept parameters and the login event
// for accepting invitation invID (of orgID and userID) for id, whose
// normalized email is email: match says it is the invited one, linked
// that id is linked to the user already.
func (s *Service) acceptParams(invID, orgID, userID string, id AcceptIdentity, email string, now time.Time, match, linked bool) (store.AcceptParams, store.Event) {
	provider := id.Provider
	if provider == "" {
		provider = id.Issuer
	}
	data := map[string]string{"invitation_id": invID, "issuer": id.Issuer}
	if !linked {
		data["identity_linked"] = "true"
	}
	if id.Connection != "" {
		data["connection_id"] = id.Connection
	}
	if !match {
		data["email_mismatch"] = "true"
		data["signed_in_email"] = email
	}
	p := store.AcceptParams{
		InvitationID: invID,
		Now:          now,
		Identity: store.Identity{
			Issuer:     id.Issuer,
			Subject:    id.Subject,
			UserID:     userID,
			Email:      email,
			CreateTime: now,
		},
		EmailVerified:    id.EmailVerified && match,
		IdentityProvider: provider,
		ProfileName:      id.Name,
		Event:            s.event(orgID, store.EventMembershipAccepted, userID, userID, now, data),
	}
	loginEv := s.event(orgID, store.EventUserLoggedIn, userID, userID, now, loginData(id))
	return p, loginEv
}

// accepted reports an accepted membership.
func (s *Service) accepted(ctx context.Context, m store.Membership, match bool) {
	s.changed(m.OrganizationID, m.UserID)
	if s.log.Enabled(ctx, slog.LevelInfo) {
		s.log.InfoContext(ctx, "invite: invitation accepted", "org_id", m.OrganizationID, "user_id", m.UserID, "email_mismatch", !match)
	}
}

func checkIdentity(id AcceptIdentity) error {
	switch {
	case id.Issuer == "" || len(id.Issuer) > 2048 || hasControl(id.Issuer):
		return invalid("issuer", "identity issuer is required")
	case id.Subject == "" || len(id.Subject) > 255 || hasControl(id.Subject):
		return invalid("subject", "identity subject is required (at most 255 characters)")
	}
	return store.CheckText("name", id.Name, MaxDisplayNameLen, store.TextLine)
}

// SignIn signs in a returning member. The user is found by the linked
// identity (issuer+subject). Failing that, the identity is linked to the
// user with its email, but only when the email is verified, the caller
// trusts the issuer to assert it (id.TrustEmail) and the user has no
// identity at that issuer yet: a user linked at an issuer signs in there
// with that subject only. The link writes an EventIdentityLinked. SignIn
// records the login and returns the user and their ACTIVE memberships
// (every organization; the caller picks one). The link and login events go
// to the feed of the first of them.
//
// Errors: ErrNoMembership (unknown person, or no ACTIVE membership
// anywhere: "an invitation is required"), ErrEmailNotVerified (a user with
// that email exists but the provider did not verify it),
// ErrEmailLinkUntrusted (id.TrustEmail is false), ErrIdentityBound (the
// user is linked to another subject at id.Issuer), ErrIdentityTaken,
// *FieldError. On every error nothing is written.
func (s *Service) SignIn(ctx context.Context, id AcceptIdentity) (store.User, []store.Membership, error) {
	if err := checkIdentity(id); err != nil {
		return store.User{}, nil, err
	}
	if id.Organization != "" {
		return s.signInConnection(ctx, id)
	}
	user, link, err := s.signInUser(ctx, id, true)
	if err != nil {
		return store.User{}, nil, err
	}
	all, err := s.st.ListUserMemberships(ctx, user.ID)
	if err != nil {
		return store.User{}, nil, err
	}
	var active []store.Membership
	for _, m := range all {
		if m.Status == store.StatusActive {
			active = append(active, m)
		}
	}
	if len(active) == 0 {
		return store.User{}, nil, noActiveMembership(all)
	}
	if link {
		if !id.TrustEmail {
			return store.User{}, nil, ErrEmailLinkUntrusted
		}
		// issuer+subject is unknown: refuse if the user has another
		// subject at this issuer.
		if _, err := s.boundIdentity(ctx, user.ID, id.Issuer, id.Subject); err != nil {
			return store.User{}, nil, err
		}
	}
	now := s.now()
	orgID := active[0].OrganizationID
	if link {
		email, _ := NormalizeEmail(id.Email)
		ev := s.event(orgID, EventIdentityLinked, user.ID, user.ID, now, map[string]string{"issuer": id.Issuer, "via": "email"})
		err := s.st.LinkIdentity(ctx, store.Identity{Issuer: id.Issuer, Subject: id.Subject, UserID: user.ID, Email: email, CreateTime: now}, ev)
		if err != nil {
			return store.User{}, nil, err
		}
	}
	ev := s.event(orgID, store.EventUserLoggedIn, user.ID, user.ID, now, map[string]string{"issuer": id.Issuer})
	if err := s.st.RecordLogin(ctx, user.ID, now, ev); err != nil {
		return store.User{}, nil, err
	}
	user.LastLogin = &now
	s.log.InfoContext(ctx, "invite: signed in", "user_id", user.ID, "linked", link)
	return user, active, nil
}

// identityLister is the store capability boundIdentity prefers:
// ListUserIdentities returns every identity linked to userID (none: an
// empty slice and no error). No built-in store has it yet; without it the
// identities are found through the change feed (see linkedAtIssuer).
type identityLister interface {
	ListUserIdentities(ctx context.Context, userID string) ([]store.Identity, error)
}

// boundIdentity enforces one subject per issuer and user before issuer+
// subject is linked to userID. linked reports that exactly this identity
// is linked to userID already (linking it again is a no-op); it returns
// ErrIdentityBound when userID is linked to another subject at issuer.
// (issuer+subject linked to another user is left to the store:
// ErrIdentityTaken.)
//
// The check and the link that follows are two store calls: two first
// sign-ins racing with different subjects can still both link. Only a
// store constraint (one identity per issuer and user) closes that.
func (s *Service) boundIdentity(ctx context.Context, userID, issuer, subject string) (linked bool, err error) {
	if l, ok := s.st.(identityLister); ok {
		ids, err := l.ListUserIdentities(ctx, userID)
		if err != nil {
			return false, err
		}
		for _, id := range ids {
			if id.Issuer != issuer {
				continue
			}
			if id.Subject != subject {
				return false, ErrIdentityBound
			}
			linked = true
		}
		return linked, nil
	}
	if cur, err := s.st.GetIdentity(ctx, issuer, subject); !errors.Is(err, store.ErrNotFound) {
		// Linked already (to userID, or to another user: ErrIdentityTaken
		// from the store), or a store failure.
		return err == nil && cur.UserID == userID, err
	}
	atIssuer, err := s.linkedAtIssuer(ctx, userID, issuer)
	if err != nil || !atIssuer {
		return false, err
	}
	// The link found may be this very identity, linked since the first
	// read (a concurrent accept): read it again. Identities are never
	// unlinked, so if it is still unknown the link is another subject's.
	cur, err := s.st.GetIdentity(ctx, issuer, subject)
	switch {
	case err == nil:
		return cur.UserID == userID, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	return false, ErrIdentityBound
}

// linkedAtIssuer reports whether userID has an identity at issuer, for a
// store without ListUserIdentities. Every identity is linked by the
// Service with an event naming the user and the issuer: membership.accepted
// (AcceptInvitation) in the organization joined, or identity.linked
// (SignIn) in one where the user was ACTIVE. Neither membership can be
// PENDING_INVITE afterwards, so only the feeds of the user's other
// memberships are read (none for a newcomer whose only membership is the
// invitation). This costs a read of those feeds, on the rare calls that
// link an identity the store does not know; a store with
// ListUserIdentities answers in one query.
func (s *Service) linkedAtIssuer(ctx context.Context, userID, issuer string) (bool, error) {
	ms, err := s.st.ListUserMemberships(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.Status == store.StatusPendingInvite {
			continue
		}
		var after int64
		for {
			evs, err := s.st.ListEvents(ctx, m.OrganizationID, after, MaxListLimit)
			if err != nil {
				return false, err
			}
			if len(evs) == 0 {
				break
			}
			for _, ev := range evs {
				if ev.UserID == userID && ev.Data["issuer"] == issuer &&
					(ev.Type == store.EventMembershipAccepted || ev.Type == EventIdentityLinked) {
					return true, nil
				}
			}
			after = evs[len(evs)-1].Seq
		}
	}
	return false, nil
}

// RequestNewInvitation records that the holder of an expired link asks for
// a new one: an EventInvitationRenewRequest in the organization's feed, for
// its admins to act on (ResendInvitation renews). Errors: ErrInvalidToken,
// ErrInviteUsed, ErrInviteRevoked, ErrWrongStatus (the invitation is still
// valid: just use it).
func (s *Service) RequestNewInvitation(ctx context.Context, token string) error {
	info, err := s.LookupInvitation(ctx, token)
	switch {
	case err == nil:
		return ErrWrongStatus
	case !errors.Is(err, ErrInviteExpired):
		return err
	}
	inv := info.Invitation
	ev := s.event(inv.OrganizationID, store.EventInvitationRenewRequest, inv.UserID, inv.UserID, s.now(),
		map[string]string{"invitation_id": inv.ID, "email": inv.Email})
	if err := s.st.AppendEvent(ctx, ev); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "invite: new invitation requested", "org_id", inv.OrganizationID, "user_id", inv.UserID)
	return nil
}
