// Package ssoapi is the JSON API of enterprise SSO: an organization's own
// OpenID Connect connection (invite.Service.SaveSSOConnection) and the
// other organizations' connections it trusts. It is app-scoped: the
// Authorizer the app passes decides who may call it (its default refuses
// everything), as the app decides who may configure how an organization
// signs in. Every route names its organization; a caller authorized for
// one organization sees and changes only that one's connection.
//
//	GET    /organizations/{orgID}/sso-connection        the connection (never the client secret); 404 without one
//	PUT    /organizations/{orgID}/sso-connection        test it (discovery and keys), then save; ?test=false saves untested
//	DELETE /organizations/{orgID}/sso-connection        remove it
//	POST   /organizations/{orgID}/sso-connection:test   test only: what the provider answered
//	GET    /organizations/{orgID}/sso-trust             {"connectionIds": [...]}: the other organizations' connections it trusts
//	PUT    /organizations/{orgID}/sso-trust             replace that list
//
// Bodies are strict JSON (unknown fields refused, full field paths in
// errors); errors use the kit's one table (a failed test is 422
// sso_test_failed on issuer; a store without SSO 501 sso_unsupported).
// The Handler is safe for concurrent use.
package ssoapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/invitekit/invitekit/authflow/ssocheck"
	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// DefaultMaxBodyBytes is the default request body limit (16 KiB).
const DefaultMaxBodyBytes = 16 << 10

// Action is what a request wants to do; the Authorizer decides.
type Action string

// Actions of the API.
const (
	ActionGet       Action = "sso.connection.get"
	ActionSave      Action = "sso.connection.save"
	ActionDelete    Action = "sso.connection.delete"
	ActionTest      Action = "sso.connection.test"
	ActionTrustGet  Action = "sso.trust.get"
	ActionTrustSave Action = "sso.trust.save"
)

// Authorizer decides whether r may perform action for organization orgID.
// It returns the acting user's id (recorded in the events; "" for an API
// key) or an error: httpx's ErrUnauthenticated renders 401,
// ErrPermissionDenied 403, any other error 403 too (logged, not shown). It
// runs before the body is read.
type Authorizer func(r *http.Request, orgID string, action Action) (actorID string, err error)

// Errors an Authorizer returns (the kit's shared values).
var (
	ErrUnauthenticated  = httpx.ErrUnauthenticated
	ErrPermissionDenied = httpx.ErrPermissionDenied
)

// DenyAll refuses every request (403): Config.Authorize's default.
func DenyAll(*http.Request, string, Action) (string, error) { return "", ErrPermissionDenied }

// Router is what Routes registers on: *http.ServeMux and chi.Router.
type Router = httpx.Router

// CrossOrigin is the kit's cross-origin option.
type CrossOrigin = httpx.CrossOrigin

// Config configures a Handler; its zero value refuses every request.
type Config struct {
	Authorize Authorizer
	// HTTPClient tests connections (default: a client with
	// ssocheck.DefaultTimeout).
	HTTPClient   *http.Client
	MaxBodyBytes int64
	Logger       *slog.Logger
	CrossOrigin  CrossOrigin
}

// Handler serves the routes above.
type Handler struct {
	svc *invite.Service
	cfg Config
	cop *http.CrossOriginProtection
	mux *http.ServeMux
	// routes is the route table (tests walk it).
	routes []route
}

type route struct {
	path    string
	methods map[string]op
}

type op struct {
	action Action
	serve  func(w http.ResponseWriter, r *http.Request, orgID, actor string)
}

// New returns the Handler.
func New(svc *invite.Service, cfg Config) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("ssoapi: nil invite.Service")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, errors.New("ssoapi: Config.MaxBodyBytes must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Authorize == nil {
		cfg.Authorize = DenyAll
	}
	if cfg.Logger == nil {
		cfg.Logger = svc.Logger()
	}
	h := &Handler{svc: svc, cfg: cfg, cop: cfg.CrossOrigin.Checker()}
	h.routes = []route{
		{"/organizations/{orgID}/sso-connection", map[string]op{
			http.MethodGet:    {ActionGet, h.get},
			http.MethodPut:    {ActionSave, h.save},
			http.MethodDelete: {ActionDelete, h.delete}}},
		{"/organizations/{orgID}/sso-connection:test", map[string]op{http.MethodPost: {ActionTest, h.test}}},
		{"/organizations/{orgID}/sso-trust", map[string]op{
			http.MethodGet: {ActionTrustGet, h.trustGet},
			http.MethodPut: {ActionTrustSave, h.trustSave}}},
	}
	h.mux = http.NewServeMux()
	h.Routes(h.mux, "")
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, store.ErrNotFound) })
	return h, nil
}

// ServeHTTP serves the API at the root.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Routes registers the routes on mux under prefix ("" or "/api").
func (h *Handler) Routes(mux Router, prefix string) {
	for _, rt := range h.routes {
		handlers := make(map[string]http.HandlerFunc, len(rt.methods))
		for m, o := range rt.methods {
			handlers[m] = h.authorized(o)
		}
		mux.Handle(httpx.JoinPath(prefix, rt.path), httpx.Methods(handlers, h.fail))
	}
}

// RoutePaths lists the route patterns with their methods ("GET /…"), for
// tests that must cover every route.
func (h *Handler) RoutePaths() []string {
	var out []string
	for _, rt := range h.routes {
		for m := range rt.methods {
			out = append(out, m+" "+rt.path)
		}
	}
	return out
}

func (h *Handler) authorized(o op) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := httpx.Check(h.cop, r); err != nil {
			h.fail(w, r, err)
			return
		}
		if err := httpx.CheckRequestText(r); err != nil {
			h.fail(w, r, err)
			return
		}
		orgID := httpx.OrgID(r)
		if orgID == "" {
			h.fail(w, r, store.ErrNotFound)
			return
		}
		actor, err := h.cfg.Authorize(r, orgID, o.action)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrPermissionDenied) {
				h.cfg.Logger.WarnContext(r.Context(), "ssoapi: authorizer failed", "err", err)
				err = ErrPermissionDenied
			}
			h.fail(w, r, err)
			return
		}
		o.serve(w, r, orgID, actor)
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if httpx.Status(err) >= 500 && !errors.Is(err, store.ErrSSOUnsupported) {
		h.cfg.Logger.ErrorContext(r.Context(), "ssoapi: request failed", "method", r.Method, "pattern", r.Pattern, "err", err)
	}
	httpx.WriteError(w, err)
}

func (h *Handler) body(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := httpx.ReadJSONBody(w, r, h.cfg.MaxBodyBytes)
	if err == nil {
		err = invite.DecodeJSON(b, v)
	}
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	return true
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, orgID, _ string) {
	c, err := h.svc.SSOConnection(r.Context(), orgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, c)
}

// check validates req and tests its issuer.
func (h *Handler) check(r *http.Request, req invite.SSOConnectionRequest) (ssocheck.Result, error) {
	if err := invite.CheckSSOConnectionRequest(req); err != nil {
		return ssocheck.Result{}, err
	}
	return ssocheck.Check(r.Context(), h.cfg.HTTPClient, req.Issuer)
}

func (h *Handler) save(w http.ResponseWriter, r *http.Request, orgID, actor string) {
	var req invite.SSOConnectionRequest
	if !h.body(w, r, &req) {
		return
	}
	switch q := r.URL.Query(); {
	case len(q) > 1 || len(q) == 1 && len(q["test"]) != 1:
		h.fail(w, r, store.Invalid("test", "the only query parameter is test=false"))
		return
	case q.Get("test") != "" && q.Get("test") != "false":
		h.fail(w, r, store.Invalid("test", "test must be false (or absent)"))
		return
	case q.Get("test") == "":
		if _, err := h.svc.Organization(r.Context(), orgID); err != nil {
			h.fail(w, r, err)
			return
		}
		if _, err := h.check(r, req); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	c, err := h.svc.SaveSSOConnection(r.Context(), orgID, req, actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, c)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, orgID, actor string) {
	if err := h.svc.DeleteSSOConnection(r.Context(), orgID, actor); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) test(w http.ResponseWriter, r *http.Request, orgID, _ string) {
	var req invite.SSOConnectionRequest
	if !h.body(w, r, &req) {
		return
	}
	if _, err := h.svc.Organization(r.Context(), orgID); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.check(r, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, res)
}

// trustBody is the sso-trust resource.
type trustBody struct {
	ConnectionIDs []string `json:"connectionIds"`
}

func (h *Handler) trustGet(w http.ResponseWriter, r *http.Request, orgID, _ string) {
	if _, err := h.svc.Organization(r.Context(), orgID); err != nil {
		h.fail(w, r, err)
		return
	}
	ids, err := h.svc.SSOTrust(r.Context(), orgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, trustBody{ConnectionIDs: ids})
}

func (h *Handler) trustSave(w http.ResponseWriter, r *http.Request, orgID, actor string) {
	var body trustBody
	if !h.body(w, r, &body) {
		return
	}
	for i, id := range body.ConnectionIDs {
		if !strings.HasPrefix(id, "ssc_") {
			h.fail(w, r, store.Invalid("connectionIds["+strconv.Itoa(i)+"]", "a connection id starts with ssc_"))
			return
		}
	}
	if err := h.svc.SetSSOTrust(r.Context(), orgID, body.ConnectionIDs, actor); err != nil {
		h.fail(w, r, err)
		return
	}
	h.trustGet(w, r, orgID, actor)
}
