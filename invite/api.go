package invite

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

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
	// HTTPStatus and ErrorCode tell what err means.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// CrossOrigin replaces the built-in cross-origin protection
	// (http.NewCrossOriginProtection()), for example to add trusted origins.
	CrossOrigin *http.CrossOriginProtection
	// InsecureSkipCrossOriginCheck turns the cross-origin protection off.
	// Only for APIs whose Authorizer never relies on cookies.
	InsecureSkipCrossOriginCheck bool
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
	svc    *Service
	authz  Authorizer
	cfg    HandlerConfig
	log    *slog.Logger
	cop    *http.CrossOriginProtection
	mux    *http.ServeMux
	routes []apiRoute
}

// Router is what Routes registers on: *http.ServeMux and chi.Router both
// have this method (chi fills r.PathValue too).
type Router interface {
	Handle(pattern string, handler http.Handler)
}

type apiRoute struct {
	path    string
	methods map[string]http.HandlerFunc
}

// NewHandler returns the JSON API handler. authz is required: pass DenyAll
// until your application decides who may manage members (or AdminOnly).
func NewHandler(svc *Service, authz Authorizer, cfg HandlerConfig) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("invite: NewHandler: nil Service")
	}
	if authz == nil {
		return nil, errors.New("invite: NewHandler: an Authorizer is required (use DenyAll or AdminOnly, or write your own)")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, errors.New("invite: HandlerConfig.MaxBodyBytes must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &Handler{svc: svc, authz: authz, cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = svc.log
	}
	if !cfg.InsecureSkipCrossOriginCheck {
		h.cop = cfg.CrossOrigin
		if h.cop == nil {
			h.cop = http.NewCrossOriginProtection()
		}
	}
	h.routes = []apiRoute{
		{"/organizations/{orgID}/users", map[string]http.HandlerFunc{http.MethodGet: h.list, http.MethodPost: h.create}},
		{"/organizations/{orgID}/users:lookup", map[string]http.HandlerFunc{http.MethodGet: h.lookup}},
		{"/organizations/{orgID}/users/{userID}", map[string]http.HandlerFunc{http.MethodGet: h.get, http.MethodPatch: h.update, http.MethodDelete: h.revoke}},
		{"/organizations/{orgID}/users/{userID}/resend", map[string]http.HandlerFunc{http.MethodPost: h.resend}},
		{"/organizations/{orgID}/users/{userID}/revoke", map[string]http.HandlerFunc{http.MethodPost: h.revoke}},
		{"/organizations/{orgID}/users/{userID}/deactivate", map[string]http.HandlerFunc{http.MethodPost: h.deactivate}},
		{"/organizations/{orgID}/users/{userID}/reactivate", map[string]http.HandlerFunc{http.MethodPost: h.reactivate}},
		{"/organizations/{orgID}/users/{userID}/invite-link", map[string]http.HandlerFunc{http.MethodPost: h.inviteLink}},
	}
	h.mux = http.NewServeMux()
	h.Routes(h.mux, "")
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, ErrNotFound)
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
	prefix = strings.TrimSuffix(prefix, "/")
	for _, rt := range h.routes {
		mux.Handle(prefix+rt.path, h.dispatch(rt))
	}
}

// dispatch picks the method's handler after the cross-origin check.
func (h *Handler) dispatch(rt apiRoute) http.Handler {
	allow := make([]string, 0, len(rt.methods))
	for m := range rt.methods {
		allow = append(allow, m)
	}
	sort.Strings(allow)
	allowHeader := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn, ok := rt.methods[r.Method]
		if !ok {
			w.Header().Set("Allow", allowHeader)
			h.fail(w, r, ErrMethodNotAllowed)
			return
		}
		if h.cop != nil {
			if err := h.cop.Check(r); err != nil {
				h.fail(w, r, ErrCrossOrigin)
				return
			}
		}
		fn(w, r)
	})
}

// fail renders err through the ErrorHandler (default WriteError) and logs
// server errors. Nothing secret is logged: errors never carry tokens.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if HTTPStatus(err) >= 500 {
		h.log.ErrorContext(r.Context(), "invite: api request failed", "method", r.Method, "pattern", r.Pattern, "err", err)
	}
	if h.cfg.ErrorHandler != nil {
		h.cfg.ErrorHandler(w, r, err)
		return
	}
	WriteError(w, err)
}

// authorize runs the Authorizer; false means the response is written.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, orgID string, action Action) (string, bool) {
	if orgID == "" {
		h.fail(w, r, ErrNotFound)
		return "", false
	}
	actor, err := h.authz(r, orgID, action)
	if err != nil {
		if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrPermissionDenied) {
			h.log.WarnContext(r.Context(), "invite: authorizer error", "action", string(action), "org_id", orgID, "err", err)
			err = ErrPermissionDenied
		}
		h.fail(w, r, err)
		return "", false
	}
	return actor, true
}

// readBody checks the media type and size and returns the body.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, ErrUnsupportedMediaType
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, ErrBodyTooLarge
		}
		return nil, malformed("", "could not read the request body")
	}
	return body, nil
}

type userResponse struct {
	User       APIUser `json:"user"`
	AcceptLink string  `json:"acceptLink,omitempty"`
}

type listResponse struct {
	Users         []APIUser `json:"users"`
	NextPageToken string    `json:"nextPageToken"`
}

type linkResponse struct {
	AcceptLink string `json:"acceptLink"`
}

func (h *Handler) render(u store.User, m store.Membership) APIUser {
	return NewAPIUser(u, m, h.svc.cfg.EnvironmentID, h.svc.Now())
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := writeJSON(w, status, v); err != nil {
		h.log.DebugContext(r.Context(), "invite: write response", "err", err)
	}
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("orgID")
	actor, ok := h.authorize(w, r, orgID, ActionCreate)
	if !ok {
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := decodeInviteRequest(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req.InvitedBy = actor
	res, err := h.svc.CreateUserAndMembership(r.Context(), orgID, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, userResponse{User: h.render(res.User, res.Membership), AcceptLink: res.AcceptLink})
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("orgID")
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
		if err != nil || n < 1 || n > maxListLimit {
			h.fail(w, r, invalid("pageSize", "pageSize must be a number between 1 and %d", maxListLimit))
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
	orgID := r.PathValue("orgID")
	if _, ok := h.authorize(w, r, orgID, ActionGet); !ok {
		return
	}
	h.respondMember(w, r, orgID, UserRef{ID: r.PathValue("userID")})
}

func (h *Handler) lookup(w http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("orgID")
	if _, ok := h.authorize(w, r, orgID, ActionGet); !ok {
		return
	}
	q := r.URL.Query()
	ref := UserRef{Email: q.Get("email"), ExternalID: q.Get("externalId")}
	switch {
	case ref.Email == "" && ref.ExternalID == "":
		h.fail(w, r, invalid("email", "email or externalId is required"))
		return
	case ref.Email != "" && ref.ExternalID != "":
		h.fail(w, r, invalid("externalId", "give either email or externalId, not both"))
		return
	}
	h.respondMember(w, r, orgID, ref)
}

// respondMember writes {"user": …} for a member of orgID.
func (h *Handler) respondMember(w http.ResponseWriter, r *http.Request, orgID string, ref UserRef) {
	mem, err := h.svc.GetMember(r.Context(), orgID, ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, userResponse{User: h.render(mem.User, mem.Membership)})
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	orgID, userID := r.PathValue("orgID"), r.PathValue("userID")
	actor, ok := h.authorize(w, r, orgID, ActionUpdate)
	if !ok {
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := decodeUpdateRequest(body)
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
	u, err := h.svc.st.GetUser(r.Context(), m.UserID)
	if err != nil {
		h.fail(w, r, storeErr(err))
		return
	}
	h.write(w, r, http.StatusOK, userResponse{User: h.render(u, m)})
}

func (h *Handler) resend(w http.ResponseWriter, r *http.Request) {
	orgID, userID := r.PathValue("orgID"), r.PathValue("userID")
	actor, ok := h.authorize(w, r, orgID, ActionResend)
	if !ok {
		return
	}
	m, err := h.svc.ResendInvitation(r.Context(), orgID, userID, actor)
	h.respondMembership(w, r, m, err)
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	orgID, userID := r.PathValue("orgID"), r.PathValue("userID")
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

func (h *Handler) deactivate(w http.ResponseWriter, r *http.Request) {
	orgID, userID := r.PathValue("orgID"), r.PathValue("userID")
	actor, ok := h.authorize(w, r, orgID, ActionDeactivate)
	if !ok {
		return
	}
	m, err := h.svc.DeactivateMembership(r.Context(), orgID, userID, actor)
	h.respondMembership(w, r, m, err)
}

func (h *Handler) reactivate(w http.ResponseWriter, r *http.Request) {
	orgID, userID := r.PathValue("orgID"), r.PathValue("userID")
	actor, ok := h.authorize(w, r, orgID, ActionReactivate)
	if !ok {
		return
	}
	m, err := h.svc.ReactivateMembership(r.Context(), orgID, userID, actor)
	h.respondMembership(w, r, m, err)
}

func (h *Handler) inviteLink(w http.ResponseWriter, r *http.Request) {
	orgID, userID := r.PathValue("orgID"), r.PathValue("userID")
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
