package inviteapi

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// The JSON API's wire shapes. They follow the seed's user object exactly
// (testdata/seed-invite-response.json): every key is always
// present, maps render as {} (never null), times are RFC 3339 UTC and
// lastLogin is null until the first login.

// APIRole is a role in a membership.
type APIRole struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// APIMembership is a user's membership in the requested organization.
type APIMembership struct {
	OrganizationID string `json:"organizationId"`
	JoinTime       string `json:"joinTime"`
	// MembershipStatus is the effective status (INVITE_EXPIRED for a
	// pending membership whose invitation has expired).
	MembershipStatus        store.MembershipStatus `json:"membershipStatus"`
	Roles                   []APIRole              `json:"roles"`
	PrimaryIdentityProvider string                 `json:"primaryIdentityProvider"`
	Metadata                map[string]string      `json:"metadata"`
}

// APIProfile is a user's profile.
type APIProfile struct {
	ID               string            `json:"id"`
	FirstName        string            `json:"firstName"`
	LastName         string            `json:"lastName"`
	Name             string            `json:"name"`
	Locale           string            `json:"locale"`
	EmailVerified    bool              `json:"emailVerified"`
	PhoneNumber      string            `json:"phoneNumber"`
	Metadata         map[string]string `json:"metadata"`
	CustomAttributes map[string]string `json:"customAttributes"`
}

// APIUser is the seed's user object. Memberships holds only the membership
// in the organization of the request (tenant isolation).
type APIUser struct {
	ID            string            `json:"id"`
	EnvironmentID string            `json:"environmentId"`
	CreateTime    string            `json:"createTime"`
	UpdateTime    string            `json:"updateTime"`
	Email         string            `json:"email"`
	ExternalID    string            `json:"externalId"`
	Memberships   []APIMembership   `json:"memberships"`
	UserProfile   APIProfile        `json:"userProfile"`
	Metadata      map[string]string `json:"metadata"`
	LastLogin     *string           `json:"lastLogin"`
}

// APIError is the error object of every error response: {"error": APIError}.
type APIError = httpx.ErrorJSON

// NewAPIUser renders a user with exactly one membership (m) as the JSON
// API does, with the membership's effective status at now.
//
// It is the organization's view (the tenant model): the profile, external
// id, metadata and times are those m's organization wrote or saw —
// createTime is when the person joined it, lastLogin their last sign-in
// since, emailVerified true once they signed in to it with a verified
// email. Nothing another organization wrote about the person is read.
func NewAPIUser(u store.User, m store.Membership, environmentID string, now time.Time) APIUser {
	roles := make([]APIRole, 0, len(m.Roles))
	for _, r := range m.Roles {
		roles = append(roles, APIRole{ID: store.RoleID(r), Name: r})
	}
	p := m.Profile
	out := APIUser{
		ID:            u.ID,
		EnvironmentID: environmentID,
		CreateTime:    formatTime(m.JoinTime),
		UpdateTime:    formatTime(m.UpdateTime),
		Email:         u.Email,
		ExternalID:    m.ExternalID,
		Memberships: []APIMembership{{
			OrganizationID:          m.OrganizationID,
			JoinTime:                formatTime(m.JoinTime),
			MembershipStatus:        m.EffectiveStatus(now),
			Roles:                   roles,
			PrimaryIdentityProvider: orDefault(m.PrimaryIdentityProvider, invite.IdentityProviderUnspecified),
			Metadata:                nonNil(m.Metadata),
		}},
		UserProfile: APIProfile{
			ID:               ProfileID(m.OrganizationID, m.UserID),
			FirstName:        p.FirstName,
			LastName:         p.LastName,
			Name:             p.Name,
			Locale:           p.Locale,
			EmailVerified:    u.Profile.EmailVerified && m.LastLogin != nil,
			PhoneNumber:      p.PhoneNumber,
			Metadata:         nonNil(p.Metadata),
			CustomAttributes: nonNil(p.CustomAttributes),
		},
		Metadata: nonNil(m.UserMetadata),
	}
	if m.LastLogin != nil {
		t := formatTime(*m.LastLogin)
		out.LastLogin = &t
	}
	return out
}

// ProfileID is the userProfile.id an organization sees for a member: a
// stable id derived from the organization and the user, so that two
// organizations see different ids and none carries a creation time.
func ProfileID(orgID, userID string) string {
	sum := sha256.Sum256([]byte("invitekit/profile\x00" + orgID + "\x00" + userID))
	return "prof_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// formatTime renders t as RFC 3339 in UTC (seconds precision), as the
// mail data does.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
