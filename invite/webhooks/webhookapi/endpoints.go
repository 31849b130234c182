package webhookapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// decodeJSON is the kit's strict body decoder (full field paths).
var decodeJSON = invite.DecodeJSON

// EndpointJSON is an endpoint as the API shows it (never its secret).
type EndpointJSON struct {
	webhooks.Endpoint
	// Enabled is false once disabled by hand or by the dispatcher
	// (DisabledTime, DisabledReason say when and why).
	Enabled bool `json:"enabled"`
}

func endpointJSON(ep webhooks.Endpoint) EndpointJSON {
	if ep.EventTypes == nil {
		ep.EventTypes = []string{}
	}
	return EndpointJSON{Endpoint: ep, Enabled: ep.DisabledTime == nil}
}

type endpointResponse struct {
	Endpoint EndpointJSON `json:"endpoint"`
	// Secret is the signing secret ("whsec_…"), only in the answers to
	// create and rotate-secret.
	Secret string `json:"secret,omitempty"`
}

type endpointsResponse struct {
	Endpoints []EndpointJSON `json:"endpoints"`
}

// createRequest is the body of a create. organizationId is the app's
// choice; at organization scope it may only repeat the path's.
type createRequest struct {
	URL            string   `json:"url"`
	EventTypes     []string `json:"eventTypes"`
	OrganizationID *string  `json:"organizationId"`
	Description    string   `json:"description"`
}

// updateRequest is the body of a PATCH: absent (or null) fields stay.
type updateRequest struct {
	URL         *string   `json:"url"`
	EventTypes  *[]string `json:"eventTypes"`
	Description *string   `json:"description"`
	Enabled     *bool     `json:"enabled"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request, c call) {
	var in createRequest
	if err := h.decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	req := webhooks.EndpointRequest{URL: in.URL, EventTypes: in.EventTypes, Description: in.Description, OrganizationID: c.org}
	switch {
	case in.OrganizationID == nil:
	case c.app():
		req.OrganizationID = *in.OrganizationID
	case *in.OrganizationID != c.org:
		// An organization registers for itself only, never app-wide;
		// the refusal is the same whatever the value names.
		h.fail(w, r, store.Invalid("organizationId", "organizationId must be this organization's id (%s) or left out", c.org))
		return
	}
	if req.EventTypes == nil {
		req.EventTypes = []string{}
	}
	ep, secret, err := h.hooks.CreateEndpoint(r.Context(), req, c.actor)
	if c.app() && req.OrganizationID != "" && errors.Is(err, store.ErrNotFound) {
		err = store.Invalid("organizationId", "organizationId names no organization")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, endpointResponse{Endpoint: endpointJSON(ep), Secret: secret})
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, c call) {
	org, all := c.org, c.app()
	if c.app() {
		if q := r.URL.Query(); q.Has("organizationId") {
			org, all = q.Get("organizationId"), false
		}
	}
	eps, err := h.hooks.Endpoints(r.Context(), org, all)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := endpointsResponse{Endpoints: make([]EndpointJSON, 0, len(eps))}
	for _, ep := range eps {
		out.Endpoints = append(out.Endpoints, endpointJSON(ep))
	}
	h.write(w, r, http.StatusOK, out)
}

// writeEndpoint answers ep with its ETag (GET and PATCH).
func (h *Handler) writeEndpoint(w http.ResponseWriter, r *http.Request, ep webhooks.Endpoint) {
	w.Header().Set("ETag", etag(ep.Revision))
	h.write(w, r, http.StatusOK, endpointResponse{Endpoint: endpointJSON(ep)})
}

// precondition is err as the API answers it: a revision the request's
// If-Match did not name is 412.
func precondition(err error) error {
	if errors.Is(err, webhooks.ErrRevisionMismatch) {
		return fmt.Errorf("%w: %w", ErrPreconditionFailed, err)
	}
	return err
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, c call) {
	ep, err := h.hooks.Endpoint(r.Context(), c.org, r.PathValue(EndpointParam))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeEndpoint(w, r, ep)
}

// update is a PATCH; with If-Match, only of the revision it names (the
// check is the store's compare-and-swap: of two PATCHes with the same
// ETag one is 200, the other 412).
func (h *Handler) update(w http.ResponseWriter, r *http.Request, c call) {
	id := r.PathValue(EndpointParam)
	// An id of another organization is 404 before the body is looked at,
	// as one that does not exist; a stale If-Match is 412 before it too.
	ep, err := h.hooks.Endpoint(r.Context(), c.org, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cond := ifMatch(r)
	if cond != nil && !cond(ep.Revision) {
		h.fail(w, r, precondition(fmt.Errorf("endpoint %q: %w", id, webhooks.ErrRevisionMismatch)))
		return
	}
	var in updateRequest
	if err := h.decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	ep, err = h.hooks.UpdateEndpoint(r.Context(), c.org, id, webhooks.EndpointUpdate{
		URL: in.URL, EventTypes: in.EventTypes, Description: in.Description, Enabled: in.Enabled, IfRevision: cond})
	if err != nil {
		h.fail(w, r, precondition(err))
		return
	}
	h.writeEndpoint(w, r, ep)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, c call) {
	id := r.PathValue(EndpointParam)
	var err error
	if cond := ifMatch(r); cond != nil {
		err = h.hooks.DeleteEndpointIf(r.Context(), c.org, id, cond)
	} else {
		err = h.hooks.DeleteEndpoint(r.Context(), c.org, id)
	}
	if err != nil {
		h.fail(w, r, precondition(err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) rotate(w http.ResponseWriter, r *http.Request, c call) {
	id := r.PathValue(EndpointParam)
	secret, err := h.hooks.RotateSecret(r.Context(), c.org, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ep, err := h.hooks.Endpoint(r.Context(), c.org, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, endpointResponse{Endpoint: endpointJSON(ep), Secret: secret})
}

// deliveryStatuses are the values of ?status= (any case).
var deliveryStatuses = []store.WebhookDeliveryStatus{store.WebhookPending, store.WebhookDelivered, store.WebhookDead}

func (h *Handler) deliveries(w http.ResponseWriter, r *http.Request, c call) {
	id := r.PathValue(EndpointParam)
	q := r.URL.Query()
	var status store.WebhookDeliveryStatus
	if s := q.Get("status"); s != "" {
		for _, st := range deliveryStatuses {
			if strings.EqualFold(s, string(st)) {
				status = st
			}
		}
		if status == "" {
			h.fail(w, r, store.Invalid("status", "status must be PENDING, DELIVERED or DEAD"))
			return
		}
	}
	size, err := pageSizeOf(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.hooks.DeliveryPage(r.Context(), c.org, id, webhooks.DeliveryQuery{Status: status, PageSize: size, PageToken: q.Get("pageToken")})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !c.app() {
		for i := range page.Deliveries {
			page.Deliveries[i].LastError = orgLastError(page.Deliveries[i].LastError)
		}
	}
	h.write(w, r, http.StatusOK, page)
}

// pageSizeOf reads ?pageSize= (the kit's name; 1 to MaxFeedLimit, default
// 100), or ?limit=, its older name here.
func pageSizeOf(q url.Values) (int, error) {
	if !q.Has("pageSize") {
		return limitOf(q.Get("limit"), webhooks.DefaultDeliveryPageSize, webhooks.MaxFeedLimit)
	}
	if q.Has("limit") {
		return 0, store.Invalid("pageSize", "give pageSize or limit (its older name), not both")
	}
	n, err := strconv.Atoi(q.Get("pageSize"))
	if err != nil || n < 1 || n > webhooks.MaxFeedLimit {
		return 0, store.Invalid("pageSize", "pageSize must be a number between 1 and %d", webhooks.MaxFeedLimit)
	}
	return n, nil
}

func (h *Handler) replay(w http.ResponseWriter, r *http.Request, c call) {
	if err := h.hooks.Replay(r.Context(), c.org, r.PathValue(EndpointParam), r.PathValue(MessageParam)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
}

type replayedResponse struct {
	Replayed int `json:"replayed"`
}

func (h *Handler) replayDead(w http.ResponseWriter, r *http.Request, c call) {
	n, err := h.hooks.ReplayDead(r.Context(), c.org, r.PathValue(EndpointParam))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusAccepted, replayedResponse{Replayed: n})
}

// orgLastError is what an organization's admin is told of a failed
// attempt: the receiver's status, or the kind of failure, never the
// dialler's text (which names the address a hostname resolved to).
func orgLastError(msg string) string {
	switch {
	case msg == "":
		return ""
	case strings.HasPrefix(msg, "receiver answered"):
		return msg
	case strings.Contains(msg, "endpoint disabled"):
		return "endpoint disabled"
	case strings.Contains(msg, webhooks.ErrRefusedAddress.Error()):
		return "destination address refused"
	case strings.Contains(msg, "timeout"), strings.Contains(msg, "deadline exceeded"):
		return "timed out"
	}
	return "could not deliver"
}

// limitOf parses a limit= query value: def when empty, else a number
// from 1 to max.
func limitOf(v string, def, max int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, store.Invalid("limit", "limit must be a number between 1 and %d", max)
	}
	return n, nil
}
