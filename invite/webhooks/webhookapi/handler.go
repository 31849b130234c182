package webhookapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// DefaultMaxBodyBytes is the default request body limit (64 KiB).
const DefaultMaxBodyBytes = 64 << 10

// CrossOrigin is the kit's cross-origin option (inviteapi.CrossOrigin).
type CrossOrigin = httpx.CrossOrigin

// Router is what Routes registers on: *http.ServeMux and chi.Router.
type Router = httpx.Router

// Path wildcards of the routes besides {orgID}.
const (
	EndpointParam = "endpointID"
	MessageParam  = "messageID"
)

// Config configures a Handler. Its zero value is safe: every request is
// refused (403) until App or Org says otherwise.
type Config struct {
	// App authorizes the app-scoped routes (default DenyApp).
	App AppAuthorizer
	// Org authorizes the organization-scoped routes (default DenyOrg);
	// OrgAdmins is the kit's admin check.
	Org OrgAuthorizer
	// OrgEndpoints serves the organization-scoped endpoint routes
	// (/organizations/{orgID}/webhooks/…): an organization's admins
	// register endpoints for their organization's events. Off, those
	// routes are not registered; the organization's events feed always is.
	OrgEndpoints bool
	// MaxBodyBytes limits request bodies (default 64 KiB); larger ones
	// get 413 body_too_large.
	MaxBodyBytes int64
	// Logger receives server errors and authorizer errors (default
	// slog.Default()).
	Logger *slog.Logger
	// ErrorHandler, when set, renders every error instead of the JSON
	// error; inviteapi.ProblemOf tells what err means (the kit's one
	// error table).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// CrossOrigin configures the cross-origin protection of the
	// state-changing routes (the zero value refuses cross-origin browser
	// requests).
	CrossOrigin CrossOrigin
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxBodyBytes < 0 {
		return c, errors.New("webhookapi: Config.MaxBodyBytes must not be negative")
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.App == nil {
		c.App = DenyApp
	}
	if c.Org == nil {
		c.Org = DenyOrg
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Handler serves the webhook and events API. It is an http.Handler
// serving the routes at the root, and Routes registers them on any router
// under a prefix:
//
//	POST   /webhooks/endpoints                                         create (the secret once)
//	GET    /webhooks/endpoints                                         list (?organizationId=: one organization's; empty: the app-wide ones)
//	GET    /webhooks/endpoints/{endpointID}                            get (with its ETag)
//	PATCH  /webhooks/endpoints/{endpointID}                            url, eventTypes, description, enabled (If-Match: ETag)
//	DELETE /webhooks/endpoints/{endpointID}                            delete (with its deliveries; If-Match: ETag)
//	POST   /webhooks/endpoints/{endpointID}/rotate-secret              a new secret; the old one signs 24 h more
//	GET    /webhooks/endpoints/{endpointID}/deliveries                 a page (?status=PENDING|DELIVERED|DEAD&pageSize=&pageToken=)
//	POST   /webhooks/endpoints/{endpointID}/deliveries/{messageID}/replay  send again
//	POST   /webhooks/endpoints/{endpointID}/deliveries/replay-dead     send every dead letter again
//	GET    /events                                                     every organization's feed (?after=&limit=; a store with store.AllEvents)
//
// and, for one organization, /organizations/{orgID}/events and (with
// Config.OrgEndpoints) /organizations/{orgID}/webhooks/… as above.
//
// An endpoint's ETag (GET, PATCH) is its store revision as a strong tag
// ("3"); a PATCH or DELETE with If-Match is carried out only while the
// endpoint is at a tag it names, else 412 precondition_failed and nothing
// is written (without If-Match, as always). A page of deliveries ends with
// nextPageToken, "" on the last; a token is sealed to its endpoint,
// organization and status, and any other is 422 pageToken.
type Handler struct {
	hooks  *webhooks.Service
	cfg    Config
	cop    *http.CrossOriginProtection
	routes []route
	mux    *http.ServeMux
}

// call is one authorized request: its organization ("" at app scope) and
// actor.
type call struct {
	org   string
	actor string
}

func (c call) app() bool { return c.org == "" }

// op is one method of a route: its action and what it does.
type op struct {
	action Action
	serve  func(w http.ResponseWriter, r *http.Request, c call)
}

type route struct {
	path    string
	org     bool // organization scope: the path starts with /organizations/{orgID}
	methods map[string]op
}

// New returns the Handler of hooks' endpoints and feeds.
func New(hooks *webhooks.Service, cfg Config) (*Handler, error) {
	if hooks == nil {
		return nil, errors.New("webhookapi: nil webhooks.Service")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{hooks: hooks, cfg: cfg, cop: cfg.CrossOrigin.Checker()}
	endpoints := func(org bool, base string) []route {
		return []route{
			{base + "/webhooks/endpoints", org, map[string]op{
				http.MethodGet:  {ActionEndpointsList, h.list},
				http.MethodPost: {ActionEndpointsCreate, h.create}}},
			{base + "/webhooks/endpoints/{endpointID}", org, map[string]op{
				http.MethodGet:    {ActionEndpointsGet, h.get},
				http.MethodPatch:  {ActionEndpointsUpdate, h.update},
				http.MethodDelete: {ActionEndpointsDelete, h.delete}}},
			{base + "/webhooks/endpoints/{endpointID}/rotate-secret", org, map[string]op{
				http.MethodPost: {ActionSecretRotate, h.rotate}}},
			{base + "/webhooks/endpoints/{endpointID}/deliveries", org, map[string]op{
				http.MethodGet: {ActionDeliveriesList, h.deliveries}}},
			{base + "/webhooks/endpoints/{endpointID}/deliveries/{messageID}/replay", org, map[string]op{
				http.MethodPost: {ActionDeliveryReplay, h.replay}}},
			{base + "/webhooks/endpoints/{endpointID}/deliveries/replay-dead", org, map[string]op{
				http.MethodPost: {ActionDeliveryReplay, h.replayDead}}},
		}
	}
	h.routes = endpoints(false, "")
	if hooks.HasAllEvents() { // else there is no feed across organizations (404)
		h.routes = append(h.routes, route{"/events", false, map[string]op{http.MethodGet: {ActionEventsList, h.events}}})
	}
	if cfg.OrgEndpoints {
		h.routes = append(h.routes, endpoints(true, "/organizations/{orgID}")...)
	}
	h.routes = append(h.routes, route{"/organizations/{orgID}/events", true, map[string]op{http.MethodGet: {ActionEventsList, h.events}}})
	h.mux = http.NewServeMux()
	h.Routes(h.mux, "")
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, store.ErrNotFound) })
	return h, nil
}

// ServeHTTP serves the API at the root (see Routes to mount it under a
// prefix).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Routes registers the routes on mux (*http.ServeMux, chi.Router) under
// prefix ("" or "/api"). Patterns carry no method; other methods get a
// JSON 405 with Allow.
func (h *Handler) Routes(mux Router, prefix string) {
	for _, rt := range h.routes {
		handlers := make(map[string]http.HandlerFunc, len(rt.methods))
		for m, o := range rt.methods {
			handlers[m] = h.authorized(rt.org, o)
		}
		mux.Handle(httpx.JoinPath(prefix, rt.path), httpx.Methods(handlers, h.fail))
	}
}

// authorized wraps o: the cross-origin check (state-changing methods),
// the text rule on the path and query, then the authorizer of the
// route's scope, before o reads anything else.
func (h *Handler) authorized(org bool, o op) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := httpx.Check(h.cop, r); err != nil {
			h.fail(w, r, err)
			return
		}
		c, err := h.authorize(r, org, o.action)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		o.serve(w, r, c)
	}
}

func (h *Handler) authorize(r *http.Request, org bool, action Action) (call, error) {
	c := call{org: httpx.OrgID(r)}
	if org && c.org == "" {
		return c, store.ErrNotFound
	}
	if err := httpx.CheckRequestText(r); err != nil {
		return c, err
	}
	for _, name := range []string{EndpointParam, MessageParam} {
		if err := httpx.CheckPathValue(name, r.PathValue(name)); err != nil {
			return c, err
		}
	}
	var err error
	if org {
		c.actor, err = h.cfg.Org(r, c.org, action)
	} else {
		c.actor, err = h.cfg.App(r, action)
	}
	if err != nil && !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrPermissionDenied) {
		h.cfg.Logger.WarnContext(r.Context(), "webhookapi: authorizer error", "action", string(action), "org_id", c.org, "err", err)
		err = ErrPermissionDenied
	}
	return c, err
}

// fail renders err (ErrorHandler, default the JSON error) and logs server
// errors. Errors never carry secrets.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if httpx.Status(err) >= 500 {
		h.cfg.Logger.ErrorContext(r.Context(), "webhookapi: request failed", "method", r.Method, "pattern", r.Pattern, "err", err)
	}
	if h.cfg.ErrorHandler != nil {
		h.cfg.ErrorHandler(w, r, err)
		return
	}
	httpx.WriteError(w, err)
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := httpx.WriteJSON(w, status, v); err != nil {
		h.cfg.Logger.DebugContext(r.Context(), "webhookapi: write response", "err", err)
	}
}

// decode reads and strictly decodes r's JSON body into v.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := httpx.ReadJSONBody(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}
