package invite

import (
	"context"
	"errors"
	"log/slog"

	"github.com/invitekit/invitekit/store"
)

// Logger is the Service's logger (Config.Logger, or a discarding one); the
// HTTP surfaces built on the Service log through it by default.
func (s *Service) Logger() *slog.Logger { return s.log }

// IsAdmin reports whether userID is an ACTIVE member of orgID holding
// Config.AdminRole. An unknown organization or user is false, not an error.
func (s *Service) IsAdmin(ctx context.Context, orgID, userID string) (bool, error) {
	if orgID == "" || userID == "" || checkIDs("orgID", orgID, "userID", userID) != nil {
		return false, nil // no such id can exist
	}
	m, err := s.st.GetMembership(ctx, orgID, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return m.EffectiveStatus(s.Now()) == store.StatusActive && m.HasRole(s.cfg.AdminRole), nil
}
