package invite

import (
	"context"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Outbox data keys. Data holds only non-secret strings; the accept link is
// sealed (mailer.Sealer, bound to the message id) under SealedAcceptURL.
const (
	DataOrgID       = "org_id"
	DataOrgName     = "org_name"
	DataFirstName   = "first_name"
	DataLastName    = "last_name"
	DataName        = "name"
	DataInviterName = "inviter_name"
	DataEmail       = "email"
	DataLocale      = "locale"      // the invitee's locale, else the org's
	DataOrgLocale   = "org_locale"  // the org's locale: the renderer's fallback when the invitee's has no templates
	DataExpireTime  = "expire_time" // RFC 3339; absent for MailAdded

	SealedAcceptURL = "accept_url"
)

// mail builds an outbox message of the given kind to recipient. link is
// sealed for every kind except store.MailAdded. inviterName is shown in the
// mail (see Service.inviterName).
func (s *Service) mail(kind string, org store.Organization, recipient store.User, inviterName string, expire time.Time, link string, now time.Time) (*store.OutboxMessage, error) {
	locale := recipient.Profile.Locale
	if locale == "" {
		locale = s.orgLocale(org)
	}
	data := map[string]string{
		DataOrgID:       org.ID,
		DataOrgName:     org.Name,
		DataFirstName:   recipient.Profile.FirstName,
		DataLastName:    recipient.Profile.LastName,
		DataName:        recipient.Profile.Name,
		DataInviterName: inviterName,
		DataEmail:       recipient.Email,
		DataLocale:      locale,
		DataOrgLocale:   s.orgLocale(org),
	}
	if !expire.IsZero() {
		data[DataExpireTime] = formatTime(expire)
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
	if kind != store.MailAdded {
		sealed, err := s.sealer.Seal(id, map[string]string{SealedAcceptURL: link})
		if err != nil {
			return nil, fmt.Errorf("invite: %w", err)
		}
		msg.Sealed = sealed
	}
	return msg, nil
}

// inviterName is the display name of the inviting user ("" when unknown).
func (s *Service) inviterName(ctx context.Context, userID string) string {
	if userID == "" {
		return ""
	}
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return ""
	}
	return userDisplayName(u)
}
