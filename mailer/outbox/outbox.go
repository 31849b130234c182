// Package outbox is the contract between the code that queues mail in the
// store's outbox (package invite) and the code that delivers it (package
// mailer): the message kinds, the keys of a message's template data, and the
// Sealer that encrypts its secret part (the accept link).
//
// It depends on the standard library only, so a package that queues mail
// does not pull in an SMTP client, and one that delivers mail does not pull
// in the invite service.
package outbox

// Message kinds (store.OutboxMessage.Kind) queued by the kit.
const (
	KindInvitation = "invitation" // first invitation
	KindReminder   = "reminder"   // resend while the invitation is valid
	KindRenewed    = "renewed"    // fresh token and expiry after expiry
	KindAdded      = "added"      // "you were added" notice for a direct add

	// KindJoinApproved tells a person their request to join was approved
	// (they are a member now); KindJoinDeclined that it was declined
	// (DataReason, when the admin gave one). Neither has a link.
	KindJoinApproved = "join_approved"
	KindJoinDeclined = "join_declined"

	// KindInviteRejected tells an inviter that an approver rejected their
	// held invitation (DataInvitee, DataReason). It has no link.
	KindInviteRejected = "invite_rejected"

	// KindJoinRequested tells an organization's admin (the join request
	// notice role, invite.JoinRequestConfig.NotifyRole) that a person asked
	// to join (DataRequester, DataRequesterName, DataMessage). It has no link.
	KindJoinRequested = "join_requested"
)

// Kinds returns the kit's message kinds in a fixed order.
func Kinds() []string {
	return []string{KindInvitation, KindReminder, KindRenewed, KindAdded, KindJoinApproved, KindJoinDeclined, KindInviteRejected, KindJoinRequested}
}

// HasLink reports whether a message of kind carries a sealed accept link
// (SecretAcceptURL). Every kit kind does except KindAdded; an unknown kind
// does not.
func HasLink(kind string) bool {
	switch kind {
	case KindInvitation, KindReminder, KindRenewed:
		return true
	}
	return false
}

// Keys of store.OutboxMessage.Data. Data holds only non-secret strings; a
// key may be absent (an empty value), and a custom kind may add its own keys.
const (
	DataOrgID       = "org_id"
	DataOrgName     = "org_name"
	DataFirstName   = "first_name"
	DataLastName    = "last_name"
	DataName        = "name" // the display name; first + last name when empty
	DataInviterName = "inviter_name"
	DataEmail       = "email"       // the recipient; the message's To when empty
	DataLocale      = "locale"      // the invitee's locale, else the org's
	DataOrgLocale   = "org_locale"  // the org's locale: the fallback when the invitee's has no templates
	DataExpireTime  = "expire_time" // RFC 3339; absent for KindAdded
	DataReason      = "reason"      // KindJoinDeclined: the admin's reason (may be absent); KindInviteRejected: the approver's
	DataInvitee     = "invitee"     // KindInviteRejected: the email of the person whose invitation was rejected
	// KindJoinRequested: the asking person's verified email, the name
	// their provider gave (may be absent) and their note (may be absent).
	DataRequester     = "requester"
	DataRequesterName = "requester_name"
	DataMessage       = "message"
)

// Keys of the secret data a Sealer seals into store.OutboxMessage.Sealed.
const (
	SecretAcceptURL = "accept_url" // the accept link, an absolute http(s) URL (HasLink kinds)
)
