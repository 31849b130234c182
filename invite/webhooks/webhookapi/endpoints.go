package webhookapi

import (
	"errors"
	"net/http"
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

type deliveriesResponse struct {
	Deliveries []webhooks.Delivery `json:"deliveries"`
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

func (h *Handler) get(w http.ResponseWriter, r *http.Request, c call) {
	ep, err := h.hooks.Endpoint(r.Context(), c.org, r.PathValue(EndpointParam))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, endpointResponse{Endpoint: endpointJSON(ep)})
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request, c call) {
	id := r.PathValue(EndpointParam)
	// An id of another organization is 404 before the body is looked at,
	// as one that does not exist.
	if _, err := h.hooks.Endpoint(r.Context(), c.org, id); err != nil {
		h.fail(w, r, err)
		return
	}
	var in updateRequest
	if err := h.decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	ep, err := h.hooks.UpdateEndpoint(r.Context(), c.org, id, webhooks.EndpointUpdate{
		URL: in.URL, EventTypes: in.EventTypes, Description: in.Description, Enabled: in.Enabled})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, endpointResponse{Endpoint: endpointJSON(ep)})
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, c call) {
	if err := h.hooks.DeleteEndpoint(r.Context(), c.org, r.PathValue(EndpointParam)); err != nil {
		h.fail(w, r, err)
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
	limit, err := limitOf(q.Get("limit"), 100, webhooks.MaxFeedLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ds, err := h.hooks.Deliveries(r.Context(), c.org, id, status, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !c.app() {
		for i := range ds {
			ds[i].LastError = orgLastError(ds[i].LastError)
		}
	}
	if ds == nil {
		ds = []webhooks.Delivery{}
	}
	h.write(w, r, http.StatusOK, deliveriesResponse{Deliveries: ds})
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
