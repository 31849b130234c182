package store

import (
	"fmt"
	"strconv"
)

// Helpers every built-in store shares, so that the three implementations
// agree on the details the Store interface leaves to them.

// Page sizes of ListMembers (see ListOptions.Limit).
const (
	// DefaultPageSize is the page size of a ListOptions.Limit of 0 (or
	// less).
	DefaultPageSize = 50
	// MaxPageSize is the largest page ListMembers returns; a larger
	// ListOptions.Limit is cut to it.
	MaxPageSize = 1000
)

// FillEvent returns ev with OrganizationID set to orgID and UserID set to
// userID where they are empty; fields already set are kept. Stores call it
// on the event a write appends, with the organization and user the write
// touched.
func FillEvent(ev Event, orgID, userID string) Event {
	if ev.OrganizationID == "" {
		ev.OrganizationID = orgID
	}
	if ev.UserID == "" {
		ev.UserID = userID
	}
	return ev
}

// NormalizeListOptions returns the page size of opts.Limit (DefaultPageSize
// for 0 or less, at most MaxPageSize) and the membership Seq the page
// starts after, decoded from opts.After (0 for the first page). A cursor
// that ListCursor did not make is an error wrapping ErrInvalidCursor.
//
// A ListMembers implementation returns the memberships with Seq > afterSeq
// in Seq order, at most limit of them, and, when more follow, Page.Next =
// ListCursor of the last one's Seq.
func NormalizeListOptions(opts ListOptions) (limit int, afterSeq int64, err error) {
	limit = min(opts.Limit, MaxPageSize)
	if limit <= 0 {
		limit = DefaultPageSize
	}
	if opts.After != "" {
		n, err := strconv.ParseInt(opts.After, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("cursor %q: %w", opts.After, ErrInvalidCursor)
		}
		afterSeq = n
	}
	return limit, afterSeq, nil
}

// ListCursor returns the ListOptions.After cursor of the page that follows
// the membership with Seq seq: its decimal Seq.
func ListCursor(seq int64) string {
	return strconv.FormatInt(seq, 10)
}
