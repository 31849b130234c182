// Package scim is invitekit's SCIM 2.0 service provider (RFC 7643, RFC
// 7644) for directory sync from Okta, Microsoft Entra ID and other
// identity providers: one http.Handler serving /Users, /Groups and the
// discovery endpoints (ServiceProviderConfig, ResourceTypes, Schemas) for
// every organization.
//
// The organization of a request comes from its bearer token (a directory
// token made with invite.Service.CreateDirectoryToken), never from the
// path: a token of one organization can neither read nor change another's
// members or groups. Every rule (validation, provisioning mode, roles,
// events, the last-admin rule) is invite.Service's; this package only
// speaks the protocol: it parses filters (with
// github.com/scim2/filter-parser/v2, plus Entra's
// emails[type eq "work"].value form), applies PATCH operations to the
// current resource, and renders errors as RFC 7644 §3.12 errors with a
// scimType, mapped from the kit's one error table (internal/httpx).
package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// SCIM schema and message URNs.
const (
	SchemaUser         = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterprise   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaError        = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaSPConfig     = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"

	// ContentType is the media type of every response.
	ContentType = "application/scim+json"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxResults   = 100
)

// RateLimit is one rate limit: Events per Per, in bursts of at most Burst.
// A zero field takes the default's value (the zero RateLimit is
// DefaultRateLimit); Off turns it off.
type RateLimit = ratelimit.Limit

// DefaultRateLimit bounds the requests of one organization's directory:
// 1,200 a minute (20 a second), in bursts of 200. Okta and Entra ID back
// off on 429 and retry after Retry-After, so an initial sync larger than
// the burst runs at the sustained rate.
var DefaultRateLimit = RateLimit{Events: 1200, Per: time.Minute, Burst: 200}

// Config configures a Handler.
type Config struct {
	// Service is REQUIRED; its store must implement store.Directory.
	Service *invite.Service
	// BaseURL is the absolute URL the handler is reachable at, e.g.
	// "https://app.example.com/scim/v2" (meta.location and $ref).
	// Empty: locations are relative paths.
	BaseURL string
	// MaxBodyBytes bounds a request body (default 1 MiB): 413 beyond.
	MaxBodyBytes int64
	// MaxResults bounds a page (count; default 100).
	MaxResults int
	// RateLimit bounds the authenticated requests per organization (all
	// of its tokens together; the zero value: DefaultRateLimit). Beyond
	// it: 429 with Retry-After (whole seconds, rounded up) and an RFC 7644
	// error. Unauthenticated requests never reach it, so a stranger
	// cannot use up an organization's budget.
	RateLimit RateLimit
	// Allow, when set, is asked as well, after RateLimit, before each
	// authenticated request; false answers 429 the same way.
	Allow func(orgID string) (ok bool, retryAfter time.Duration)
}

// Handler is the SCIM service provider. Mount it at the base path, for
// example mux.Handle("/scim/v2/", scim.New(cfg)); the part of the path
// after "/scim/v2" selects the endpoint.
type Handler struct {
	svc     *invite.Service
	base    string
	maxBody int64
	maxRes  int
	allow   func(string) (bool, time.Duration)
	limit   *ratelimit.Keyed // per organization; nil: no limit
}

// New returns a Handler for cfg. It does no I/O.
func New(cfg Config) (*Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("scim: Config.Service is required")
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxResults < 0 {
		return nil, errors.New("scim: MaxBodyBytes and MaxResults must not be negative")
	}
	h := &Handler{svc: cfg.Service, base: strings.TrimRight(cfg.BaseURL, "/"), maxBody: cfg.MaxBodyBytes, maxRes: cfg.MaxResults, allow: cfg.Allow}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.maxRes == 0 {
		h.maxRes = DefaultMaxResults
	}
	lim, err := cfg.RateLimit.WithDefault(DefaultRateLimit)
	if err != nil {
		return nil, errors.New("scim: Config.RateLimit: " + err.Error())
	}
	h.limit = ratelimit.NewKeyed(lim, 0, cfg.Service.Now)
	return h, nil
}

type ctxKey int

const (
	orgKey ctxKey = iota
	actorKey
)

func orgOf(r *http.Request) string   { s, _ := r.Context().Value(orgKey).(string); return s }
func actorOf(r *http.Request) string { s, _ := r.Context().Value(actorKey).(string); return s }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	orgID, tokenID, err := h.authenticate(r)
	if err != nil {
		if errors.Is(err, invite.ErrInvalidToken) || errors.Is(err, httpx.ErrUnauthenticated) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
			writeError(w, &Error{Status: http.StatusUnauthorized, Detail: "a valid directory token is required"})
			return
		}
		writeError(w, errorOf(err))
		return
	}
	ok, after := h.limit.Allow(orgID)
	if ok && h.allow != nil {
		ok, after = h.allow(orgID)
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((after+time.Second-1)/time.Second))))
		writeError(w, &Error{Status: http.StatusTooManyRequests, Detail: "too many requests; try again later"})
		return
	}
	ctx := context.WithValue(context.WithValue(r.Context(), orgKey, orgID), actorKey, tokenID)
	r = r.WithContext(ctx)

	p := r.URL.Path
	if i := strings.Index(p, "/scim/v2"); i >= 0 {
		p = p[i+len("/scim/v2"):]
	}
	p = strings.Trim(p, "/")
	kind, id, _ := strings.Cut(p, "/")
	if strings.Contains(id, "/") {
		writeError(w, &Error{Status: http.StatusNotFound, Detail: "not found"})
		return
	}
	switch kind {
	case "ServiceProviderConfig":
		h.only(w, r, id == "", http.MethodGet, h.serviceProviderConfig)
	case "ResourceTypes":
		h.only(w, r, true, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { h.resourceTypes(w, r, id) })
	case "Schemas":
		h.only(w, r, true, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { h.schemas(w, r, id) })
	case "Users":
		h.users(w, r, id)
	case "Groups":
		h.groups(w, r, id)
	default:
		writeError(w, &Error{Status: http.StatusNotFound, Detail: "not found"})
	}
}

func (h *Handler) only(w http.ResponseWriter, r *http.Request, ok bool, method string, fn http.HandlerFunc) {
	switch {
	case !ok:
		writeError(w, &Error{Status: http.StatusNotFound, Detail: "not found"})
	case r.Method != method:
		w.Header().Set("Allow", method)
		writeError(w, &Error{Status: http.StatusMethodNotAllowed, Detail: "method not allowed"})
	default:
		fn(w, r)
	}
}

func (h *Handler) authenticate(r *http.Request) (orgID, tokenID string, err error) {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", "", httpx.ErrUnauthenticated
	}
	return h.svc.AuthenticateDirectoryToken(r.Context(), strings.TrimSpace(tok))
}

func (h *Handler) location(kind, id string) string { return h.base + "/" + kind + "/" + id }

// Error is a SCIM error response (RFC 7644 §3.12).
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *Error) Error() string {
	return "scim: " + strconv.Itoa(e.Status) + " " + e.ScimType + ": " + e.Detail
}

func badRequest(scimType, detail string) *Error {
	return &Error{Status: http.StatusBadRequest, ScimType: scimType, Detail: detail}
}

// errorOf maps any error to a SCIM error: the kit's errors through the
// one table (httpx.ProblemOf), its codes to SCIM's status and scimType.
func errorOf(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	switch {
	case errors.Is(err, store.ErrGroupExists):
		return &Error{Status: http.StatusConflict, ScimType: "uniqueness", Detail: "a group with this displayName already exists"}
	case errors.Is(err, store.ErrUserNameTaken):
		return &Error{Status: http.StatusConflict, ScimType: "uniqueness", Detail: "another member has this userName"}
	case errors.Is(err, store.ErrDirectoryUnsupported):
		return &Error{Status: http.StatusNotImplemented, Detail: "directory sync is not supported by this store"}
	}
	p := httpx.ProblemOf(err)
	e := &Error{Status: p.Status, Detail: p.Message}
	switch p.Code {
	case "already_member", "already_invited", "external_id_taken":
		e.Status, e.ScimType = http.StatusConflict, "uniqueness"
		if p.Code == "already_invited" {
			e.Detail = "the user already has a pending invitation to this organization"
		}
	case store.CodeInvalidArgument:
		e.Status, e.ScimType = http.StatusBadRequest, "invalidValue"
		if p.Field != "" {
			e.Detail = p.Field + ": " + p.Message
		}
	case store.CodeMalformedRequest:
		e.Status, e.ScimType = http.StatusBadRequest, "invalidSyntax"
	case "last_admin", "wrong_status":
		e.Status, e.ScimType = http.StatusBadRequest, "mutability"
	case "body_too_large":
		e.Status = http.StatusRequestEntityTooLarge
	}
	return e
}

func writeError(w http.ResponseWriter, e *Error) {
	body := map[string]any{"schemas": []string{SchemaError}, "status": strconv.Itoa(e.Status), "detail": e.Detail}
	if e.ScimType != "" {
		body["scimType"] = e.ScimType
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"schemas":["`+SchemaError+`"],"status":"500","detail":"internal error"}`)
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// readBody reads a JSON object body: application/scim+json or
// application/json, at most MaxBodyBytes, valid UTF-8, one value and
// nothing after it.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (map[string]any, *Error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != ContentType && mt != "application/json") {
			return nil, &Error{Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/scim+json"}
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Detail: "the request body is too large"}
		}
		return nil, badRequest("invalidSyntax", "the request body could not be read")
	}
	return decodeObject(b)
}

func decodeObject(b []byte) (map[string]any, *Error) {
	if !utf8.Valid(b) {
		return nil, badRequest("invalidSyntax", "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || v == nil {
		return nil, badRequest("invalidSyntax", "the body must be one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("invalidSyntax", "the body must be one JSON object, with nothing after it")
	}
	return v, nil
}

// intParam reads a non-negative integer query parameter.
func intParam(r *http.Request, name string, def int) (int, *Error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest("invalidValue", name+" must be an integer")
	}
	return n, nil
}

func (h *Handler) pageParams(r *http.Request) (startIndex, count int, e *Error) {
	if startIndex, e = intParam(r, "startIndex", 1); e != nil {
		return
	}
	if count, e = intParam(r, "count", h.maxRes); e != nil {
		return
	}
	return max(startIndex, 1), min(max(count, 0), h.maxRes), nil
}

func listResponse(total, startIndex int, resources []any) map[string]any {
	if resources == nil {
		resources = []any{}
	}
	return map[string]any{
		"schemas": []string{SchemaListResponse}, "totalResults": total, "startIndex": startIndex,
		"itemsPerPage": len(resources), "Resources": resources,
	}
}

// etag is a weak entity tag of a resource's last change.
func etag(t time.Time, extra string) string {
	return `W/"` + strconv.FormatInt(t.UnixNano(), 36) + extra + `"`
}

// checkIfMatch refuses (412) a change whose If-Match names another version.
func checkIfMatch(r *http.Request, current string) *Error {
	im := r.Header.Get("If-Match")
	if im == "" || im == "*" {
		return nil
	}
	for _, t := range strings.Split(im, ",") {
		if strings.TrimSpace(t) == current {
			return nil
		}
	}
	return &Error{Status: http.StatusPreconditionFailed, Detail: "the resource changed (If-Match)"}
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
