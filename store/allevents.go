package store

import "context"

// AllEvents is an optional capability: the change feed across every
// organization, for the app-scoped events API (invite/webhooks'
// Service.AllEvents). All built-in stores implement it.
type AllEvents interface {
	// ListAllEvents returns the events of every organization with Seq >
	// afterSeq in Seq order, at most limit (0 means 100). A reader that
	// pages with the last Seq it got never misses an event: an event is
	// returned only once every event with a lower Seq is committed or
	// rolled back (a store whose writers can commit out of Seq order
	// waits for them, or returns fewer events). ErrUnavailable means try
	// again.
	ListAllEvents(ctx context.Context, afterSeq int64, limit int) ([]Event, error)
}
