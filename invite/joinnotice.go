package invite

import (
	"cmp"
	"context"
	"time"

	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

// Notices of requests to join: RequestToJoin queues a MailJoinRequested
// mail to each ACTIVE member of the organization who holds the notice role
// (JoinRequestConfig.NotifyRole, default Config.AdminRole), at most
// MaxJoinNotices of them. With a store.JoinRequestNotifier (the built-in
// stores) the request and its notices are one transaction; a store without
// it keeps the request and queues no notice (it logs that it could not).

// MailJoinRequested is the mail kind telling an admin about a request to
// join (outbox.KindJoinRequested).
const MailJoinRequested = outbox.KindJoinRequested

// MaxJoinNotices bounds how many members one request to join notifies.
const MaxJoinNotices = 20

// JoinNotifyRole is the role whose members are told about a request to
// join (JoinRequestConfig.NotifyRole, else Config.AdminRole).
func (s *Service) JoinNotifyRole() string {
	return cmp.Or(s.cfg.JoinRequests.NotifyRole, s.cfg.AdminRole)
}

// joinNotices returns the mails telling org's ACTIVE members with the
// notice role about r, in membership order, at most MaxJoinNotices: the
// members are read page by page until that many are found.
func (s *Service) joinNotices(ctx context.Context, org store.Organization, r store.JoinRequest, now time.Time) ([]store.OutboxMessage, error) {
	role := s.JoinNotifyRole()
	var out []store.OutboxMessage
	opts := store.ListOptions{Status: store.StatusActive, Now: now, Limit: store.MaxPageSize}
	for {
		page, err := s.st.ListMembers(ctx, org.ID, opts)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Members {
			if m.Membership.Status != store.StatusActive || !m.Membership.HasRole(role) || m.User.Email == r.Email {
				continue
			}
			msg, err := s.mail(MailJoinRequested, org, recipientOf(m.User, m.Membership), "", time.Time{}, "", now)
			if err != nil {
				return nil, err
			}
			msg.Data[outbox.DataRequester] = r.Email
			if r.Name != "" {
				msg.Data[outbox.DataRequesterName] = r.Name
			}
			if r.Message != "" {
				msg.Data[outbox.DataMessage] = r.Message
			}
			if out = append(out, *msg); len(out) == MaxJoinNotices {
				return out, nil
			}
		}
		if page.Next == "" {
			return out, nil
		}
		opts.After = page.Next
	}
}

// createJoinRequest writes r and ev, with the notices to the admins in
// the same transaction when the store can.
func (s *Service) createJoinRequest(ctx context.Context, js store.JoinRequestStore, org store.Organization, r store.JoinRequest, ev store.Event) error {
	n, ok := js.(store.JoinRequestNotifier)
	if !ok {
		s.log.WarnContext(ctx, "invite: the store queues no notice of a request to join (no store.JoinRequestNotifier)", "org_id", org.ID)
		return js.CreateJoinRequest(ctx, r, ev)
	}
	msgs, err := s.joinNotices(ctx, org, r, r.CreateTime)
	if err != nil {
		return err
	}
	return n.CreateJoinRequestWithOutbox(ctx, r, ev, msgs)
}
