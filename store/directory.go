package store

import (
	"context"
	"errors"
	"time"
)

// Directory sync (SCIM 2.0, package invite/scim) persists what a directory
// (Okta, Microsoft Entra ID) pushes into an organization beyond the
// membership itself: the organization's SCIM tokens, its settings, the
// userName each provisioned member is known by, and its groups. It is the
// optional Directory capability: a store without it still compiles and
// works everywhere else; invite.Service's directory methods then return
// ErrDirectoryUnsupported.

// Errors of directory sync.
var (
	// ErrDirectoryUnsupported: the store does not implement Directory.
	ErrDirectoryUnsupported = errors.New("invitekit: the store does not support directory sync")
	// ErrGroupExists: another group of the organization has this displayName.
	ErrGroupExists = errors.New("invitekit: a group with this name already exists in this organization")
	// ErrUserNameTaken: another member of the organization has this userName.
	ErrUserNameTaken = errors.New("invitekit: another member of this organization has this userName")
)

// Event types of directory sync.
const (
	EventDirectoryTokenCreated = "directory.token_created"
	EventDirectoryTokenRevoked = "directory.token_revoked"
	EventDirectorySettings     = "directory.settings_updated"
	EventDirectoryGroupCreated = "directory.group_created"
	EventDirectoryGroupUpdated = "directory.group_updated"
	EventDirectoryGroupDeleted = "directory.group_deleted"
	// EventMembershipRemoved: an ACTIVE or INACTIVE membership deleted
	// (a directory's DELETE with DirectorySettings.DeleteAction "remove").
	EventMembershipRemoved = "membership.removed"
)

// DirectoryToken is one SCIM bearer token of an organization. The secret
// is shown once, when the token is created; only its SHA-256 is stored.
type DirectoryToken struct {
	ID             string // "dtk_…", the token's selector
	OrganizationID string
	Name           string
	Hash           []byte // SHA-256 of the secret
	CreatedBy      string
	CreateTime     time.Time
	LastUsedTime   *time.Time // nil until first use
	RevokeTime     *time.Time // nil while active
}

// Deprovisioning actions (DirectorySettings.DeleteAction).
const (
	DeleteDeactivate = "deactivate" // DELETE makes the membership INACTIVE (default)
	DeleteRemove     = "remove"     // DELETE removes the membership
)

// DirectorySettings is an organization's directory sync configuration.
type DirectorySettings struct {
	OrganizationID string
	// ProvisionStatus is the status a provisioned member gets:
	// StatusActive (default, the zero value "") or StatusPendingInvite
	// (an invitation mail is sent).
	ProvisionStatus MembershipStatus
	// DeleteAction is DeleteDeactivate (default, "") or DeleteRemove.
	DeleteAction string
	// GroupRoles maps a group's displayName to a role: a member of a
	// mapped group gets its role. Unmapped groups have no effect.
	GroupRoles map[string]string
	UpdateTime time.Time
}

// DirectoryGroup is a group a directory pushed into an organization.
type DirectoryGroup struct {
	ID             string // "grp_…"
	OrganizationID string
	DisplayName    string // unique within the organization
	ExternalID     string
	Members        []string // user ids, sorted, distinct
	CreateTime     time.Time
	UpdateTime     time.Time
}

// Directory is the optional capability directory sync needs. Every method
// is scoped by organization, except GetDirectoryToken, which finds a
// token by its selector (as GetInvitation does) so that the organization
// comes from the token.
type Directory interface {
	// CreateDirectoryToken inserts t and appends ev; ErrNotFound when the
	// organization does not exist.
	CreateDirectoryToken(ctx context.Context, t DirectoryToken, ev Event) error
	// GetDirectoryToken returns the token with this id (any organization),
	// or ErrNotFound.
	GetDirectoryToken(ctx context.Context, id string) (DirectoryToken, error)
	// ListDirectoryTokens returns orgID's tokens, revoked ones included,
	// oldest first.
	ListDirectoryTokens(ctx context.Context, orgID string) ([]DirectoryToken, error)
	// RevokeDirectoryToken sets RevokeTime of orgID's token id and
	// appends ev: ErrNotFound for no such token of orgID, ErrWrongStatus
	// when it is already revoked.
	RevokeDirectoryToken(ctx context.Context, orgID, id string, at time.Time, ev Event) error
	// TouchDirectoryToken sets LastUsedTime to at, unless it is later
	// already. ErrNotFound for an unknown id.
	TouchDirectoryToken(ctx context.Context, id string, at time.Time) error

	// GetDirectorySettings returns orgID's settings (zero ones, with
	// OrganizationID set, when never written).
	GetDirectorySettings(ctx context.Context, orgID string) (DirectorySettings, error)
	// PutDirectorySettings replaces the settings of s.OrganizationID and
	// appends ev; ErrNotFound when the organization does not exist.
	PutDirectorySettings(ctx context.Context, s DirectorySettings, ev Event) error

	// SetDirectoryUserName records the userName orgID's member userID is
	// provisioned as. ErrUserNameTaken when another user of orgID has the
	// same userName compared case-insensitively (ASCII case folding).
	SetDirectoryUserName(ctx context.Context, orgID, userID, userName string) error
	// DirectoryUserName returns the userName recorded for the member, or
	// ErrNotFound.
	DirectoryUserName(ctx context.Context, orgID, userID string) (string, error)
	// DirectoryUserByName returns the user id recorded with userName
	// (case-insensitively) in orgID, or ErrNotFound.
	DirectoryUserByName(ctx context.Context, orgID, userName string) (string, error)
	// RemoveMembership deletes orgID's membership of userID with its
	// invitations, its userName and its group memberships, and appends
	// ev. ErrNotFound when there is none; with keepRole not empty,
	// ErrLastRoleHolder (nothing written) when the membership is the
	// organization's last ACTIVE holder of keepRole.
	RemoveMembership(ctx context.Context, orgID, userID, keepRole string, ev Event) error

	// CreateDirectoryGroup inserts g (Members included) and appends ev:
	// ErrNotFound for an unknown organization, ErrGroupExists when the
	// displayName is taken in the organization.
	CreateDirectoryGroup(ctx context.Context, g DirectoryGroup, ev Event) error
	// GetDirectoryGroup returns orgID's group id, or ErrNotFound.
	GetDirectoryGroup(ctx context.Context, orgID, id string) (DirectoryGroup, error)
	// ListDirectoryGroups returns orgID's groups, oldest first.
	ListDirectoryGroups(ctx context.Context, orgID string) ([]DirectoryGroup, error)
	// ReplaceDirectoryGroup replaces the DisplayName, ExternalID, Members
	// and UpdateTime of orgID's group g.ID and appends ev: ErrNotFound,
	// ErrGroupExists.
	ReplaceDirectoryGroup(ctx context.Context, g DirectoryGroup, ev Event) error
	// DeleteDirectoryGroup deletes orgID's group id and appends ev, or
	// returns ErrNotFound.
	DeleteDirectoryGroup(ctx context.Context, orgID, id string, ev Event) error
}

// UserNameKey is the case-insensitive key of a SCIM userName (RFC 7643
// §4.1.1: caseExact false): ASCII letters folded to lower case.
func UserNameKey(userName string) string {
	b := []byte(userName)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
