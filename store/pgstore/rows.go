package pgstore

import (
	"github.com/invitekit/invitekit/store"
)

// Column lists and argument builders for inserts, shared by the single
// statements and the batch COPY. Each args function returns values in the
// order of its column list.

var userInsertCols = []string{"id", "email", "external_id", "profile_id", "first_name", "last_name", "name",
	"locale", "email_verified", "phone_number", "profile_metadata", "custom_attributes", "metadata",
	"create_time", "update_time", "last_login"}

func userArgs(u store.User) []any {
	return []any{u.ID, u.Email, u.ExternalID, u.Profile.ID, u.Profile.FirstName, u.Profile.LastName,
		u.Profile.Name, u.Profile.Locale, u.Profile.EmailVerified, u.Profile.PhoneNumber,
		jsonMap(u.Profile.Metadata), jsonMap(u.Profile.CustomAttributes), jsonMap(u.Metadata),
		u.CreateTime, u.UpdateTime, u.LastLogin}
}

// membershipInsertCols lacks seq (the database assigns it); the batch COPY
// prepends "seq". The columns from external_id on are the organization's
// view of the member.
var membershipInsertCols = []string{"org_id", "user_id", "status", "roles", "metadata", "primary_idp",
	"invited_by", "invite_expire_time", "join_time", "update_time",
	"external_id", "first_name", "last_name", "name", "locale", "phone_number", "profile_metadata",
	"custom_attributes", "user_metadata", "last_login"}

func membershipArgs(m store.Membership) []any {
	return []any{m.OrganizationID, m.UserID, string(m.Status), jsonList(m.Roles), jsonMap(m.Metadata),
		m.PrimaryIdentityProvider, m.InvitedBy, m.InviteExpireTime, m.JoinTime, m.UpdateTime,
		m.ExternalID, m.Profile.FirstName, m.Profile.LastName, m.Profile.Name, m.Profile.Locale,
		m.Profile.PhoneNumber, jsonMap(m.Profile.Metadata), jsonMap(m.Profile.CustomAttributes),
		jsonMap(m.UserMetadata), m.LastLogin}
}

var invitationInsertCols = []string{"id", "org_id", "user_id", "email", "verifier_hash", "invited_by",
	"create_time", "expire_time", "spend_time", "revoke_time"}

func invitationArgs(inv store.Invitation) []any {
	return []any{inv.ID, inv.OrganizationID, inv.UserID, inv.Email, inv.VerifierHash, inv.InvitedBy,
		inv.CreateTime, inv.ExpireTime, inv.SpendTime, inv.RevokeTime}
}

var outboxInsertCols = []string{"id", "org_id", "kind", "to_addr", "message_id", "data", "sealed", "status",
	"attempts", "next_attempt_time", "lease_until", "last_error", "create_time", "sent_time"}

func outboxArgs(m store.OutboxMessage) []any {
	return []any{m.ID, m.OrganizationID, m.Kind, m.To, m.MessageID, jsonMap(m.Data), m.Sealed, string(m.Status),
		m.Attempts, m.NextAttemptTime, m.LeaseUntil, m.LastError, m.CreateTime, m.SentTime}
}

// fillOutbox sets the id, organization and status of a message to queue
// when they are empty.
func fillOutbox(m store.OutboxMessage, orgID string) store.OutboxMessage {
	if m.ID == "" {
		m.ID = store.NewID("msg")
	}
	if m.OrganizationID == "" {
		m.OrganizationID = orgID
	}
	if m.Status == "" {
		m.Status = store.OutboxQueued
	}
	return m
}

// storedUser returns u as it reads back: UTC microsecond times, own maps.
func storedUser(u store.User) store.User {
	u.CreateTime, u.UpdateTime, u.LastLogin = ts(u.CreateTime), ts(u.UpdateTime), tsPtr(u.LastLogin)
	u.Metadata = cloneMap(u.Metadata)
	u.Profile.Metadata = cloneMap(u.Profile.Metadata)
	u.Profile.CustomAttributes = cloneMap(u.Profile.CustomAttributes)
	return u
}

// storedMembership returns m as it reads back.
func storedMembership(m store.Membership) store.Membership {
	m.InviteExpireTime, m.JoinTime, m.UpdateTime = ts(m.InviteExpireTime), ts(m.JoinTime), ts(m.UpdateTime)
	m.LastLogin = tsPtr(m.LastLogin)
	m.Roles = cloneList(m.Roles)
	m.Metadata = cloneMap(m.Metadata)
	m.Profile.Metadata = cloneMap(m.Profile.Metadata)
	m.Profile.CustomAttributes = cloneMap(m.Profile.CustomAttributes)
	m.UserMetadata = cloneMap(m.UserMetadata)
	return m
}
