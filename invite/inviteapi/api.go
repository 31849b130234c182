package inviteapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// DefaultMaxBodyBytes is the default request body limit of the JSON API.
const DefaultMaxBodyBytes = 1 << 20

// HandlerConfig configures the JSON API handler. Its zero value is safe.
type HandlerConfig struct {
	// MaxBodyBytes limits request bodies (default 1 MiB); larger ones get
	// 413 body_too_large.
	MaxBodyBytes int64
	// Logger receives server errors (default: the Service's logger).
	Logger *slog.Logger
	// ErrorHandler, when set, renders every error instead of WriteError.
	// ProblemOf tells what err means.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// CrossOrigin configures the cross-origin protection of the
	// state-changing routes (the zero value refuses cross-origin browser
	// requests; InsecureSkipCheck only for APIs whose Authorizer never
	// relies on cookies).
	CrossOrigin CrossOrigin
	// RateLimits bounds creates and resends per organization, per actor
	// and per invitation (the zero value: the defaults, see RateLimits);
	// a refusal is 429 rate_limited with Retry-After.
	RateLimits RateLimits
}

// Handler is the JSON API for managing an organization's members. It is an
// http.Handler serving the routes below at the root ("/organizations/…"),
// and Routes registers the same routes on any router under a prefix.
//
//	POST   /organizations/{orgID}/users                     create (invite or add)
//	GET    /organizations/{orgID}/users                     list (?status=&q=&pageSize=&pageToken=)
//	GET    /organizations/{orgID}/users:lookup              get by ?email= or ?externalId=
//	GET    /organizations/{orgID}/users/{userID}            get
//	PATCH  /organizations/{orgID}/users/{userID}            update roles/metadata
//	DELETE /organizations/{orgID}/users/{userID}            revoke (alias)
//	POST   /organizations/{orgID}/users/{userID}/resend     resend / renew invitation
//	POST   /organizations/{orgID}/users/{userID}/revoke     revoke pending invitation
//	POST   /organizations/{orgID}/users/{userID}/deactivate ACTIVE → INACTIVE
//	POST   /organizations/{orgID}/users/{userID}/reactivate INACTIVE → ACTIVE
//	POST   /organizations/{orgID}/users/{userID}/invite-link rotate token, return link
//
// Every request is authorized (Authorizer) before its body is read. A
// Handler is safe for concurrent use.
type Handler struct {
	svc    *invite.Service
	authz  Authorizer
	cfg    HandlerConfig
	log    *slog.Logger
	cop    *http.CrossOriginProtection
	mux    *http.ServeMux
	routes []apiRoute
	limits *ratelimit.Invites
}

type apiRoute struct {
	path    string
	methods map[string]http.HandlerFunc
}

// withDefaults fills zero settings and checks the rest.
func (cfg HandlerConfig) withDefaults(svc *invite.Service) (HandlerConfig, error) {
	if cfg.MaxBodyBytes < 0 {
		return cfg, errors.New("inviteapi: HandlerConfig.MaxBodyBytes must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = svc.Logger()
	}
	return cfg, nil
}

// checkDeps refuses a missing Service or Authorizer.
func checkDeps(svc *invite.Service, authz Authorizer) error {
	if svc == nil {
		return errors.New("inviteapi: nil Service")
	}
	if authz == nil {
		return errors.New("inviteapi: an Authorizer is required (use DenyAll or AdminOnly, or write your own)")
	}
	return nil
}

// NewHandler returns the JSON API handler. authz is required: pass DenyAll
// until your application decides who may manage members (or AdminOnly).
func NewHandler(svc *invite.Service, authz Authorizer, cfg HandlerConfig) (*Handler, error) {
	if err := checkDeps(svc, authz); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults(svc)
	if err != nil {
		return nil, err
	}
	h := &Handler{svc: svc, authz: authz, cfg: cfg, log: cfg.Logger, cop: cfg.CrossOrigin.Checker()}
	if h.limits, err = newInviteLimits("HandlerConfig", cfg.RateLimits, svc); err != nil {
		return nil, err
	}
	h.routes = []apiRoute{
		{"/organizations/{orgID}/users", map[string]http.HandlerFunc{http.MethodGet: h.list, http.MethodPost: h.create}},
		{"/organizations/{orgID}/users:lookup", map[string]http.HandlerFunc{http.MethodGet: h.lookup}},
		{"/organizations/{orgID}/users/{userID}", map[string]http.HandlerFunc{http.MethodGet: h.get, http.MethodPatch: h.update, http.MethodDelete: h.revoke}},
		{"/organizations/{orgID}/users/{userID}/resend", map[string]http.HandlerFunc{http.MethodPost: h.memberChange(ActionResend, h.resend)}},
		{"/organizations/{orgID}/users/{userID}/revoke", map[string]http.HandlerFunc{http.MethodPost: h.revoke}},
		{"/organizations/{orgID}/users/{userID}/deactivate", map[string]http.HandlerFunc{http.MethodPost: h.memberChange(ActionDeactivate, svc.DeactivateMembership)}},
		{"/organizations/{orgID}/users/{userID}/reactivate", map[string]http.HandlerFunc{http.MethodPost: h.memberChange(ActionReactivate, svc.ReactivateMembership)}},
		{"/organizations/{orgID}/users/{userID}/invite-link", map[string]http.HandlerFunc{http.MethodPost: h.inviteLink}},
	}
	h.routes = append(h.routes, h.joinRoutes()...)     // join.go
	h.routes = append(h.routes, h.approvalRoutes()...) // approvals.go
	h.mux = http.NewServeMux()
	h.Routes(h.mux, "")
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, invite.ErrNotFound)
	})
	return h, nil
}

// ServeHTTP serves the API at the root. To serve it under a prefix, use
// Routes, or http.StripPrefix("/api", h) (on ServeMux: mux.Handle("/api/",
// http.StripPrefix("/api", h)); on chi: r.Mount("/api",
// http.StripPrefix("/api", h))).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// Routes registers the API's routes on mux under prefix ("" or "/api";
// a trailing slash is ignored). Paths are registered without a method;
// the Handler answers other methods with a JSON 405.
func (h *Handler) Routes(mux Router, prefix string) {
	for _, rt := range h.routes {
		mux.Handle(httpx.JoinPath(prefix, rt.path), httpx.Methods(h.guard(rt.methods), h.fail))
	}
}

// guard wraps every method's handler in the cross-origin check.
func (h *Handler) guard(methods map[string]http.HandlerFunc) map[string]http.HandlerFunc {
	out := make(map[string]http.HandlerFunc, len(methods))
	for m, fn := range methods {
		out[m] = func(w http.ResponseWriter, r *http.Request) {
			if err := httpx.Check(h.cop, r); err != nil {
				h.fail(w, r, err)
				return
			}
			fn(w, r)
		}
	}
	return out
}

// fail renders err through the ErrorHandler (default WriteError) and logs
// server errors. Nothing secret is logged: errors never carry tokens.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	logServerError(h.log, r, err)
	if h.cfg.ErrorHandler != nil {
		h.cfg.ErrorHandler(w, r, err)
		return
	}
	WriteError(w, err)
}

// logServerError logs err when it renders as a 5xx.
func logServerError(log *slog.Logger, r *http.Request, err error) {
	if httpx.Status(err) >= 500 {
		log.ErrorContext(r.Context(), "inviteapi: request failed", "method", r.Method, "pattern", r.Pattern, "err", err)
	}
}

// authorize runs the Authorizer; false means the response is written.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, orgID string, action Action) (string, bool) {
	actor, err := authorize(h.log, h.authz, r, orgID, action)
	if err != nil {
		h.fail(w, r, err)
		return "", false
	}
	return actor, true
}

// authorize asks authz about orgID; an authorizer's own error is logged
// and refused as ErrPermissionDenied (never shown).
func authorize(log *slog.Logger, authz Authorizer, r *http.Request, orgID string, action Action) (string, error) {
	if orgID == "" {
		return "", invite.ErrNotFound
	}
	// The path values and the query meet the text rule before anything
	// (the Authorizer included) sees them.
	if err := httpx.CheckRequestText(r); err != nil {
		return "", err
	}
	actor, err := authz(r, orgID, action)
	if err != nil && !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrPermissionDenied) {
		log.WarnContext(r.Context(), "inviteapi: authorizer error", "action", string(action), "org_id", orgID, "err", err)
		err = ErrPermissionDenied
	}
	return actor, err
}

// readBody checks the media type and size and returns the body.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return httpx.ReadJSONBody(w, r, h.cfg.MaxBodyBytes)
}

type userResponse struct {
	User       APIUser `json:"user"`
	AcceptLink string  `json:"acceptLink,omitempty"`
	// Approval is set when the invite was held for approval
	// (membershipStatus PENDING_APPROVAL).
	Approval *APIApproval `json:"approval,omitempty"`
}

type listResponse struct {
	Users         []APIUser `json:"users"`
	NextPageToken string    `json:"nextPageToken"`
}

type linkResponse struct {
	AcceptLink string `json:"acceptLink"`
}

func (h *Handler) render(u store.User, m store.Membership) APIUser {
	return NewAPIUser(u, m, h.svc.EnvironmentID(), h.svc.Now())
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	writeJSON(h.log, w, r, status, v)
}

// writeJSON writes v; a failed write (the client went away) is only
// logged at debug level.
func writeJSON(log *slog.Logger, w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := httpx.WriteJSON(w, status, v); err != nil {
		log.DebugContext(r.Context(), "inviteapi: write response", "err", err)
	}
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	actor, ok := h.authorize(w, r, orgID, ActionCreate)
	if !ok {
		return
	}
	if err := limited(h.limits.Invite(orgID, actor)); err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := invite.DecodeInviteRequest(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req.InvitedBy = actor
	res, err := h.svc.CreateUserAndMembership(invite.WithSurface(r.Context(), invite.SurfaceAPI), orgID, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	resp := userResponse{User: h.render(res.User, res.Membership), AcceptLink: res.AcceptLink}
	if res.Approval != nil {
		a := newAPIApproval(*res.Approval, h.svc.Now())
		resp.Approval = &a
	}
	h.write(w, r, http.StatusCreated, resp)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	if _, ok := h.authorize(w, r, orgID, ActionList); !ok {
		return
	}
	q := r.URL.Query()
	opts := store.ListOptions{
		Status: store.MembershipStatus(strings.ToUpper(q.Get("status"))),
		Query:  q.Get("q"),
		After:  q.Get("pageToken"),
	}
	if ps := q.Get("pageSize"); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > invite.MaxListLimit {
			h.fail(w, r, store.Invalid("pageSize", "pageSize must be a number between 1 and %d", invite.MaxListLimit))
			return
		}
		opts.Limit = n
	}
	page, err := h.svc.ListMembers(r.Context(), orgID, opts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	resp := listResponse{Users: make([]APIUser, 0, len(page.Members)), NextPageToken: page.Next}
	for _, m := range page.Members {
		resp.Users = append(resp.Users, h.render(m.User, m.Membership))
	}
	h.write(w, r, http.StatusOK, resp)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	if _, ok := h.authorize(w, r, orgID, ActionGet); !ok {
		return
	}
	h.respondMember(w, r, orgID, invite.UserRef{ID: r.PathValue("userID")})
}

func (h *Handler) lookup(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	if _, ok := h.authorize(w, r, orgID, ActionGet); !ok {
		return
	}
	q := r.URL.Query()
	ref := invite.UserRef{Email: q.Get("email"), ExternalID: q.Get("externalId")}
	switch {
	case ref.Email == "" && ref.ExternalID == "":
		h.fail(w, r, store.Invalid("email", "email or externalId is required"))
		return
	case ref.Email != "" && ref.ExternalID != "":
		h.fail(w, r, store.Invalid("externalId", "give either email or externalId, not both"))
		return
	}
	h.respondMember(w, r, orgID, ref)
}

// respondMember writes {"user": …} for a member of orgID.
func (h *Handler) respondMember(w http.ResponseWriter, r *http.Request, orgID string, ref invite.UserRef) {
	mem, err := h.svc.GetMember(r.Context(), orgID, ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, userResponse{User: h.render(mem.User, mem.Membership)})
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	orgID, userID := httpx.OrgID(r), r.PathValue("userID")
	actor, ok := h.authorize(w, r, orgID, ActionUpdate)
	if !ok {
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := invite.DecodeUpdateRequest(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.svc.UpdateMembership(r.Context(), orgID, userID, req, actor)
	h.respondMembership(w, r, m, err)
}

// respondMembership writes {"user": …} after a change to m.
func (h *Handler) respondMembership(w http.ResponseWriter, r *http.Request, m store.Membership, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	mem, err := h.svc.GetMember(r.Context(), m.OrganizationID, invite.UserRef{ID: m.UserID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, userResponse{User: h.render(mem.User, m)})
}

// memberChange serves a POST that changes one membership and answers
// with the member: resend, deactivate, reactivate.
func (h *Handler) memberChange(action Action, change func(ctx context.Context, orgID, userID, actorID string) (store.Membership, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		orgID, userID := httpx.OrgID(r), r.PathValue("userID")
		actor, ok := h.authorize(w, r, orgID, action)
		if !ok {
			return
		}
		m, err := change(r.Context(), orgID, userID, actor)
		h.respondMembership(w, r, m, err)
	}
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	orgID, userID := httpx.OrgID(r), r.PathValue("userID")
	actor, ok := h.authorize(w, r, orgID, ActionRevoke)
	if !ok {
		return
	}
	if err := h.svc.RevokeInvitation(r.Context(), orgID, userID, actor); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) inviteLink(w http.ResponseWriter, r *http.Request) {
	orgID, userID := httpx.OrgID(r), r.PathValue("userID")
	actor, ok := h.authorize(w, r, orgID, ActionInviteLink)
	if !ok {
		return
	}
	link, err := h.svc.InviteLink(r.Context(), orgID, userID, actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, linkResponse{AcceptLink: link})
}
