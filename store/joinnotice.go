package store

import "context"

// JoinRequestNotifier is an optional capability of a JoinRequestStore (the
// built-in stores have it): it writes a request to join together with the
// mails telling the organization's admins about it, so a request is never
// kept without its notices, nor a notice queued for a request that was
// refused. Without it invite.Service.RequestToJoin queues the notices
// right after the request, in a second write.
type JoinRequestNotifier interface {
	// CreateJoinRequestWithOutbox does CreateJoinRequest(r, ev) and queues
	// msgs (each scoped to r's organization) in the same transaction: its
	// errors are CreateJoinRequest's, and on error nothing is written.
	CreateJoinRequestWithOutbox(ctx context.Context, r JoinRequest, ev Event, msgs []OutboxMessage) error
}
