package invite

import (
	"context"
	"errors"
	"strconv"

	"github.com/invitekit/invitekit/store"
)

// ErrSessionsUnsupported: the store cannot revoke sessions (it does not
// implement store.SessionRevoker). A wiring failure, rendered as 500.
var ErrSessionsUnsupported = errors.New("invite: the store cannot revoke sessions (it does not implement store.SessionRevoker)")

// CanSignOutEverywhere reports whether the store can revoke sessions
// (store.SessionRevoker), so that SignOutEverywhere can work.
func (s *Service) CanSignOutEverywhere() bool {
	_, ok := s.st.(store.SessionRevoker)
	return ok
}

// SignOutEverywhere ends every session of userID, on every replica: it
// increments the user's session generation (store.SessionRevoker, which
// publishes the change through store.ChangeNotifier when the store has
// it) and appends an EventSessionsRevoked to the feed of the user's first
// ACTIVE organization (as login events are; none when the user has no
// ACTIVE membership). Each session carries the generation it was made in
// (authflow stores it at login, see LoginSessionGeneration) and the
// middleware refuses an older one on its next request: the user signs in
// again. It returns the new generation.
//
// Errors: ErrNotFound (no such user), ErrSessionsUnsupported, a
// *FieldError for a malformed id, or a store failure.
func (s *Service) SignOutEverywhere(ctx context.Context, userID, actorID string) (int64, error) {
	if err := checkSessionIDs("userID", userID, "actorID", actorID); err != nil {
		return 0, err
	}
	if userID == "" {
		return 0, invalid("userID", "userID is required")
	}
	rv, ok := s.st.(store.SessionRevoker)
	if !ok {
		return 0, ErrSessionsUnsupported
	}
	ms, err := s.st.ListUserMemberships(ctx, userID)
	if err != nil {
		return 0, err
	}
	orgID := ""
	for _, m := range ms {
		if m.Status == store.StatusActive {
			orgID = m.OrganizationID
			break
		}
	}
	return s.revokeSessions(ctx, rv, orgID, userID, actorID)
}

// SignOutMemberEverywhere is SignOutEverywhere as an organization's admin
// does it (the team page's "Sign out everywhere"): userID must be an ACTIVE
// member of orgID, and the event goes to orgID's feed. It still ends all
// of the user's sessions — a session is the person's, not one
// organization's — so the member signs in again for every organization.
//
// Errors: ErrNotFound (no such membership), ErrWrongStatus (not ACTIVE),
// ErrSessionsUnsupported, a *FieldError, or a store failure.
func (s *Service) SignOutMemberEverywhere(ctx context.Context, orgID, userID, actorID string) (int64, error) {
	if err := checkSessionIDs("orgID", orgID, "userID", userID, "actorID", actorID); err != nil {
		return 0, err
	}
	if orgID == "" || userID == "" {
		return 0, ErrNotFound
	}
	rv, ok := s.st.(store.SessionRevoker)
	if !ok {
		return 0, ErrSessionsUnsupported
	}
	m, err := s.st.GetMembership(ctx, orgID, userID)
	if err != nil {
		return 0, err
	}
	if m.EffectiveStatus(s.now()) != store.StatusActive {
		return 0, ErrWrongStatus
	}
	return s.revokeSessions(ctx, rv, orgID, userID, actorID)
}

func (s *Service) revokeSessions(ctx context.Context, rv store.SessionRevoker, orgID, userID, actorID string) (int64, error) {
	now := s.now()
	ev := s.event(orgID, EventSessionsRevoked, userID, actorID, now, nil)
	gen, err := rv.RevokeSessions(ctx, userID, now, ev)
	if err != nil {
		return 0, err
	}
	// This process's cache (OnMembershipChange → middleware.Invalidate)
	// drops the user at once; other replicas get the store's push.
	s.changed("", userID)
	s.log.InfoContext(ctx, "invite: sessions revoked", "org_id", orgID, "user_id", userID, "actor_id", actorID, "generation", gen)
	return gen, nil
}

// signOutAfter ends userID's sessions after a deactivation or removal
// when Config.SignOutOnDeactivation is set. The change has committed: a
// failure here is logged, not returned, since the organization already
// refuses the member.
func (s *Service) signOutAfter(ctx context.Context, orgID, userID, actorID string) {
	if !s.cfg.SignOutOnDeactivation {
		return
	}
	rv, ok := s.st.(store.SessionRevoker)
	if !ok {
		s.log.ErrorContext(ctx, "invite: SignOutOnDeactivation is set but the store cannot revoke sessions", "org_id", orgID, "user_id", userID)
		return
	}
	if _, err := s.revokeSessions(ctx, rv, orgID, userID, actorID); err != nil {
		s.log.ErrorContext(ctx, "invite: sign out after deactivation", "org_id", orgID, "user_id", userID, "err", err)
	}
}

// LoginSessionGeneration returns what a new session of userID carries
// under the session generation key (middleware.SessionKeyGeneration): the
// user's current store.User.SessionGeneration in decimal. authflow stores
// it at login. When the user cannot be read it returns "0" (and logs): the
// session is then refused if the user's sessions were ever revoked, and
// the person signs in again — a session never gets a generation it should
// not have.
func (s *Service) LoginSessionGeneration(ctx context.Context, userID string) string {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		s.log.WarnContext(ctx, "invite: read session generation at login", "user_id", userID, "err", err)
		return "0"
	}
	return strconv.FormatInt(u.SessionGeneration, 10)
}

// checkSessionIDs applies the kit's text rule for ids (one line, at most
// store.MaxIDLen characters) to name, value pairs.
func checkSessionIDs(nameValues ...string) error {
	for i := 0; i+1 < len(nameValues); i += 2 {
		if err := store.CheckText(nameValues[i], nameValues[i+1], store.MaxIDLen, store.TextLine); err != nil {
			return err
		}
	}
	return nil
}
