package store

import "context"

// MemberCounter is the optional capability to count an organization's
// memberships without reading them (SCIM's totalResults of an unfiltered
// list, invite.Service.ListDirectoryUsers). A store without it still
// works: the count is then made by reading every membership.
type MemberCounter interface {
	// CountMembers returns the number of orgID's memberships of every
	// status (0 for an organization that does not exist).
	CountMembers(ctx context.Context, orgID string) (int, error)
}
