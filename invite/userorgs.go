package invite

import (
	"context"
	"sort"
	"strings"

	"github.com/invitekit/invitekit/store"
)

// UserOrganization is one organization a person is an ACTIVE member of:
// the organization and the membership (roles, join time).
type UserOrganization struct {
	Organization store.Organization
	Membership   store.Membership
}

// ListUserOrganizations returns the organizations userID is an ACTIVE
// member of ("My organizations"), sorted by name (then id). Pending,
// expired and deactivated memberships are left out. An unknown user has
// none (an empty list, no error).
func (s *Service) ListUserOrganizations(ctx context.Context, userID string) ([]UserOrganization, error) {
	if err := checkIDs("userID", userID); err != nil {
		return nil, err
	}
	all, err := s.st.ListUserMemberships(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	out := make([]UserOrganization, 0, len(all))
	for _, m := range all {
		if m.EffectiveStatus(now) != store.StatusActive {
			continue
		}
		org, err := s.st.GetOrganization(ctx, m.OrganizationID)
		if err != nil {
			return nil, err
		}
		out = append(out, UserOrganization{Organization: org, Membership: m})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Organization.Name), strings.ToLower(out[j].Organization.Name)
		if a != b {
			return a < b
		}
		return out[i].Organization.ID < out[j].Organization.ID
	})
	return out, nil
}
