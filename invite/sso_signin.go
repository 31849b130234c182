package invite

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/invitekit/invitekit/store"
)

// signInConnection is SignIn for an identity from an organization's own
// connection (id.Organization, id.Connection). Such a connection is an
// identity namespace of its own (id.Issuer is its IdentityIssuer), and it
// signs people into its organization only:
//
//   - the connection must still be the organization's, under that issuer
//     (else ErrSSOWrongOrganization);
//   - the person must be an ACTIVE member of that organization (else
//     ErrNoMembership); the one membership returned is that one;
//   - an identity the kit does not know yet is linked by email only when
//     the email is verified, id.TrustEmail is set, every other
//     organization the person belongs to (ACTIVE or INACTIVE) trusts the
//     connection (SetSSOTrust; else ErrEmailLinkUntrusted), and the person
//     has no other subject at the connection (else ErrIdentityBound).
//
// So an organization's provider that asserts the email of another
// organization's member links nothing and signs nobody in, unless that
// organization trusts it. The identity.linked and user.logged_in events
// go to the connection's organization and name the connection.
//
// Every such sign-in makes the membership's PrimaryIdentityProvider the
// connection's Name, and id.Name its Profile.Name when the organization
// has none yet; a change writes a membership.updated event. With a
// store.SSOSignIner the link, that change and the login commit together
// (recordSSOSignIn).
func (s *Service) signInConnection(ctx context.Context, id AcceptIdentity) (store.User, []store.Membership, error) {
	cs, err := s.ssoStore()
	if err != nil {
		return store.User{}, nil, err
	}
	if err := checkIDs("organization", id.Organization, "connection", id.Connection); err != nil {
		return store.User{}, nil, err
	}
	c, err := cs.GetSSOConnection(ctx, id.Organization)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, nil, ErrSSOWrongOrganization
	case err != nil:
		return store.User{}, nil, err
	case c.ID != id.Connection || c.IdentityIssuer() != id.Issuer:
		return store.User{}, nil, ErrSSOWrongOrganization
	}
	// The email's verification is checked only for a member of the
	// organization (mayLinkByEmail): to anyone else the answer is the
	// same as for a stranger.
	user, link, err := s.signInUser(ctx, id, false)
	if err != nil {
		return store.User{}, nil, err
	}
	m, err := s.st.GetMembership(ctx, id.Organization, user.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, nil, ErrNoMembership
	case err != nil:
		return store.User{}, nil, err
	case m.Status != store.StatusActive:
		return store.User{}, nil, noActiveMembership([]store.Membership{m})
	}
	now := s.now()
	var ident *store.Identity
	var linkEv store.Event
	if link {
		if err := s.mayLinkByEmail(ctx, cs, c, user.ID, id); err != nil {
			return store.User{}, nil, err
		}
		email, _ := NormalizeEmail(id.Email)
		linkEv = s.event(id.Organization, EventIdentityLinked, user.ID, user.ID, now,
			map[string]string{"issuer": id.Issuer, "via": "email", "connection_id": c.ID})
		ident = &store.Identity{Issuer: id.Issuer, Subject: id.Subject, UserID: user.ID, Email: email, CreateTime: now}
	}
	loginEv := s.event(id.Organization, store.EventUserLoggedIn, user.ID, user.ID, now, loginData(id))
	if m, err = s.recordSSOSignIn(ctx, c, m, id, ident, linkEv, loginEv, now); err != nil {
		return store.User{}, nil, err
	}
	user.LastLogin = &now
	s.log.InfoContext(ctx, "invite: signed in through sso", "user_id", user.ID, "org_id", id.Organization, "connection_id", c.ID, "linked", link)
	return user, []store.Membership{m}, nil
}

// recordSSOSignIn writes a sign-in of m's person through connection c:
// the link (ident, when not nil, with linkEv), the membership's
// PrimaryIdentityProvider (c.Name) and the name id asserted (when the
// organization has none), and the login (loginEv). With a
// store.SSOSignIner it is one transaction, and a changed membership also
// writes a membership.updated event (Data: connection_id, and
// primary_identity_provider and/or profile); other stores link and
// record the login in two commits and leave the membership as it is.
func (s *Service) recordSSOSignIn(ctx context.Context, c store.SSOConnection, m store.Membership, id AcceptIdentity,
	ident *store.Identity, linkEv, loginEv store.Event, now time.Time) (store.Membership, error) {
	ss, one := s.st.(store.SSOSignIner)
	if !one {
		if ident != nil {
			if err := s.st.LinkIdentity(ctx, *ident, linkEv); err != nil {
				return store.Membership{}, err
			}
		}
		if err := s.st.RecordLogin(ctx, m.UserID, now, loginEv); err != nil {
			return store.Membership{}, err
		}
		m.LastLogin = &now
		return m, nil
	}
	got, err := ss.SSOSignIn(ctx, store.SSOSignInParams{
		OrganizationID: m.OrganizationID, UserID: m.UserID, Now: now,
		Identity: ident, LinkEvent: linkEv,
		IdentityProvider: c.Name, ProfileName: id.Name,
		Updated: s.event(m.OrganizationID, store.EventMembershipUpdated, m.UserID, m.UserID, now, map[string]string{"connection_id": c.ID}),
		Login:   loginEv,
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Membership{}, ErrNoMembership // removed meanwhile
	case errors.Is(err, store.ErrWrongStatus):
		return store.Membership{}, noActiveMembership([]store.Membership{{Status: store.StatusInactive}}) // deactivated meanwhile
	case err != nil:
		return store.Membership{}, err
	}
	if got.PrimaryIdentityProvider != m.PrimaryIdentityProvider || got.Profile.Name != m.Profile.Name {
		s.changed(m.OrganizationID, m.UserID)
	}
	return got, nil
}

// signInUser finds who signs in as id: the user its identity is linked
// to, or else (link true) the user with its email, which must be verified
// (ErrEmailNotVerified, when verified is set); nobody is ErrNoMembership.
// It writes nothing.
func (s *Service) signInUser(ctx context.Context, id AcceptIdentity, verified bool) (user store.User, link bool, err error) {
	ident, err := s.st.GetIdentity(ctx, id.Issuer, id.Subject)
	switch {
	case err == nil:
		user, err = s.st.GetUser(ctx, ident.UserID)
		return user, false, err
	case !errors.Is(err, store.ErrNotFound):
		return store.User{}, false, err
	}
	email, nerr := NormalizeEmail(id.Email)
	if nerr != nil {
		return store.User{}, false, ErrNoMembership
	}
	user, err = s.st.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, false, ErrNoMembership
	case err != nil:
		return store.User{}, false, err
	case verified && !id.EmailVerified:
		return store.User{}, false, ErrEmailNotVerified
	}
	return user, true, nil
}

// mayLinkByEmail applies the email-link rules of signInConnection for an
// unknown identity of connection c asserting the email of userID.
func (s *Service) mayLinkByEmail(ctx context.Context, cs store.SSOConnectionStore, c store.SSOConnection, userID string, id AcceptIdentity) error {
	if !id.EmailVerified {
		return ErrEmailNotVerified
	}
	if !id.TrustEmail {
		return ErrEmailLinkUntrusted
	}
	all, err := s.st.ListUserMemberships(ctx, userID)
	if err != nil {
		return err
	}
	for _, m := range all {
		if m.OrganizationID == c.OrganizationID || m.Status == store.StatusPendingInvite {
			continue
		}
		trusted, err := cs.ListSSOTrust(ctx, m.OrganizationID)
		if err != nil {
			return err
		}
		if !slices.Contains(trusted, c.ID) {
			return ErrEmailLinkUntrusted
		}
	}
	_, err = s.boundIdentity(ctx, userID, id.Issuer, id.Subject)
	return err
}

// loginData is the user.logged_in event's data for id.
func loginData(id AcceptIdentity) map[string]string {
	d := map[string]string{"issuer": id.Issuer}
	if id.Connection != "" {
		d["connection_id"] = id.Connection
	}
	return d
}

// SSOTrusts reports whether orgID trusts connectionID (SetSSOTrust); an
// organization trusts its own connection.
func (s *Service) SSOTrusts(ctx context.Context, orgID, connectionID string) (bool, error) {
	cs, err := s.ssoStore()
	if err != nil {
		return false, err
	}
	if c, err := cs.GetSSOConnection(ctx, orgID); err == nil && c.ID == connectionID {
		return true, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	ids, err := cs.ListSSOTrust(ctx, orgID)
	return slices.Contains(ids, connectionID), err
}
