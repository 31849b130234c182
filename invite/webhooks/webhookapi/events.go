package webhookapi

import (
	"net/http"
	"strconv"

	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// events serves a page of the events feed: the organization's at
// organization scope, every organization's at app scope.
//
//	{"events": [{"messageId", "type", "timestamp", "version", "data"}, …], "next": 1234}
//
// next is the after= of the next page (the same when nothing is new).
func (h *Handler) events(w http.ResponseWriter, r *http.Request, c call) {
	q := r.URL.Query()
	var after int64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			h.fail(w, r, store.Invalid("after", "after must be a non-negative number (the next of the previous page)"))
			return
		}
		after = n
	}
	limit, err := limitOf(q.Get("limit"), 100, webhooks.MaxFeedLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var page webhooks.FeedPage
	if c.app() {
		page, err = h.hooks.AllEvents(r.Context(), after, limit)
	} else {
		page, err = h.hooks.Events(r.Context(), c.org, after, limit)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, page)
}
