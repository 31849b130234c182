package invite

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

// mail builds an outbox message of the given kind to recipient, with the
// data keys of the outbox contract (package mailer/outbox). link is sealed
// under outbox.SecretAcceptURL for every kind that has one (outbox.HasLink).
// inviterName is shown in the mail (see Service.inviterName).
func (s *Service) mail(kind string, org store.Organization, recipient mailRecipient, inviterName string, expire time.Time, link string, now time.Time) (*store.OutboxMessage, error) {
	locale := recipient.Profile.Locale
	if locale == "" {
		locale = s.orgLocale(org)
	}
	data := make(map[string]string, 10) // sized once: these keys and the expire time
	data[outbox.DataOrgID] = org.ID
	data[outbox.DataOrgName] = org.Name
	data[outbox.DataFirstName] = recipient.Profile.FirstName
	data[outbox.DataLastName] = recipient.Profile.LastName
	data[outbox.DataName] = recipient.Profile.Name
	data[outbox.DataInviterName] = inviterName
	data[outbox.DataEmail] = recipient.Email
	data[outbox.DataLocale] = locale
	data[outbox.DataOrgLocale] = s.orgLocale(org)
	if !expire.IsZero() {
		data[outbox.DataExpireTime] = formatTime(expire)
	}
	id := store.NewID("msg")
	msg := &store.OutboxMessage{
		ID:              id,
		OrganizationID:  org.ID,
		Kind:            kind,
		To:              recipient.Email,
		MessageID:       id + "@invitekit",
		Data:            data,
		Status:          store.OutboxQueued,
		NextAttemptTime: now,
		CreateTime:      now,
	}
	if outbox.HasLink(kind) {
		sealed, err := s.sealer.Seal(id, map[string]string{outbox.SecretAcceptURL: link})
		if err != nil {
			return nil, fmt.Errorf("invite: %w", err)
		}
		msg.Sealed = sealed
	}
	return msg, nil
}

// mailRecipient is who a mail goes to, as the sending organization knows
// them.
type mailRecipient struct {
	Email   string
	Profile store.MemberProfile
}

// recipientOf is m's user as m's organization knows them.
func recipientOf(u store.User, m store.Membership) mailRecipient {
	return mailRecipient{Email: u.Email, Profile: m.Profile}
}

// inviterName is the inviting user's name as the organization knows them
// ("" when unknown; their email when the organization has no name).
func (s *Service) inviterName(ctx context.Context, orgID, userID string) string {
	if userID == "" {
		return ""
	}
	m, u, uerr, err := s.memberWithUser(ctx, orgID, userID)
	if err != nil || uerr != nil {
		return ""
	}
	return memberName(m, u)
}

// memberName is u's name as m's organization knows them (their email when
// it has no name).
func memberName(m store.Membership, u store.User) string {
	return cmp.Or(m.Profile.Name, joinName(m.Profile.FirstName, m.Profile.LastName), u.Email)
}

// Sealer returns the Sealer built from Config.SecretKey. Hand it to the
// outbox dispatcher (mailer.NewDispatcher) so the key is configured once:
// the dispatcher opens exactly what the service sealed.
func (s *Service) Sealer() *outbox.Sealer { return s.sealer }
