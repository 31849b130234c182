package teampage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/pages"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
)

// DefaultBasePath is where the page is mounted when Config.BasePath is empty.
const DefaultBasePath = "/organizations/{orgID}/team"

// DefaultPageSize is the number of members listed per page.
const DefaultPageSize = 50

// Config configures New. The zero value is safe.
type Config struct {
	// BasePath is the URL path the handler is mounted at, with "{orgID}"
	// standing for the organization (default DefaultBasePath). Links and
	// redirects are built from it. Mount the handler at BasePath + "/"
	// (ServeMux: mux.Handle("/organizations/{orgID}/team/", h); chi:
	// r.Handle("/organizations/{orgID}/team/*", h)); it also works behind
	// http.StripPrefix.
	BasePath string
	// Layout, when set, wraps every page: it is executed with a LayoutData
	// and must print {{.Head}} inside <head> and {{.Content}} in the body.
	Layout *template.Template
	// LayoutFunc, when set, wraps every page instead of Layout. It must
	// write the whole response body (the status and headers are set).
	LayoutFunc func(w http.ResponseWriter, r *http.Request, page LayoutData) error
	// Actor returns the signed-in user's id (recorded as inviter and event
	// actor), for example from middleware.UserFromContext. Default: "".
	Actor func(r *http.Request) string
	// OrgID returns the organization of the request (default
	// r.PathValue("orgID")).
	OrgID func(r *http.Request) string
	// Jobs runs imports; default: an own registry, closed by Close.
	Jobs *inviteapi.BulkJobs
	// MaxUploadBytes and MaxUploadRows bound one import file (defaults
	// invite.DefaultBulkMaxBytes and invite.DefaultBulkMaxRows).
	MaxUploadBytes int64
	MaxUploadRows  int
	// PageSize is the number of members per page (default 50, at most 1000).
	PageSize int
	// Title is the page heading (default "Team", in the page's language).
	Title string
	// Locale returns the signed-in person's own locale (for example from
	// the app's user settings), "" when unknown. The page's language is
	// negotiated the one way of every kit page (the same as authflow's and
	// middleware's Config.Locale): this locale, then the request's
	// Accept-Language, then the organization's locale, then English. The
	// page's text exists in English and German. Default: nil (no own locale).
	Locale func(r *http.Request) string
	// NoDefaultCSS leaves out the built-in stylesheet (the markup keeps its
	// ik- classes for the app's own CSS).
	NoDefaultCSS bool
	// CrossOrigin configures the cross-origin protection of the page's
	// forms (the zero value refuses cross-origin posts; the same option
	// type as every handler config of the kit).
	CrossOrigin inviteapi.CrossOrigin
	// RateLimits bounds invitations per organization and per actor (each
	// add, each import upload and confirm) and resends per invitation
	// (the zero value: the defaults of inviteapi.RateLimits). A refusal
	// re-renders the page with 429, a message and Retry-After.
	RateLimits inviteapi.RateLimits
	// Logger receives errors (default: discard). Never tokens or links.
	Logger *slog.Logger
	// SCIMBaseURL is the absolute URL the app serves invite/scim at, for
	// example "https://app.example.com/scim/v2": the Directory sync
	// section shows it for pasting into Okta or Entra ID. Empty: the
	// section says it is not configured.
	SCIMBaseURL string
}

// LayoutData is what Config.Layout and Config.LayoutFunc get.
type LayoutData struct {
	Title   string        // page title, e.g. "Team · Acme"
	Lang    string        // the page's language ("en", "de"), for <html lang>
	Head    template.HTML // the stylesheet and script tags to put in <head>
	Content template.HTML // the page body
	OrgID   string
	OrgName string
	Request *http.Request
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the team page. Create it with New.
type Handler struct {
	svc     *invite.Service
	cfg     Config
	log     *slog.Logger
	pages   *template.Template
	jobs    *inviteapi.BulkJobs
	ownJobs bool
	cop     *http.CrossOriginProtection
	static  map[string]staticFile
	version string // content hash of the static files, for cache busting
	limits  *ratelimit.Invites
}

type staticFile struct {
	body        []byte
	contentType string
}

// withDefaults fills zero settings and checks the rest.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.MaxUploadBytes < 0 || cfg.MaxUploadRows < 0 || cfg.PageSize < 0 || cfg.PageSize > 1000 {
		return cfg, errors.New("teampage: Config: MaxUploadBytes, MaxUploadRows and PageSize must not be negative (PageSize at most 1000)")
	}
	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	cfg.BasePath = "/" + strings.Trim(cfg.BasePath, "/")
	cfg.MaxUploadBytes = orInt64(cfg.MaxUploadBytes, invite.DefaultBulkMaxBytes)
	cfg.MaxUploadRows = orInt(cfg.MaxUploadRows, invite.DefaultBulkMaxRows)
	cfg.PageSize = orInt(cfg.PageSize, DefaultPageSize)
	if cfg.Actor == nil {
		cfg.Actor = func(*http.Request) string { return "" }
	}
	if cfg.OrgID == nil {
		cfg.OrgID = httpx.OrgID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orInt64(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// New returns the team page handler for svc.
func New(svc *invite.Service, cfg Config) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("teampage: New: nil Service")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{svc: svc, cfg: cfg, log: cfg.Logger, jobs: cfg.Jobs, cop: cfg.CrossOrigin.Checker()}
	if h.limits, err = newLimits(cfg.RateLimits, svc); err != nil {
		return nil, err
	}
	if h.jobs == nil {
		jobs, err := inviteapi.NewBulkJobs(svc, inviteapi.BulkJobsConfig{Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		h.jobs, h.ownJobs = jobs, true
	}
	pages, err := template.New("teampage").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("teampage: templates: %w", err)
	}
	h.pages = pages
	if err := h.loadStatic(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Handler) loadStatic() error {
	h.static = map[string]staticFile{}
	sum := sha256.New()
	for _, f := range []struct{ name, ct string }{
		{"teampage.css", "text/css; charset=utf-8"},
		{"teampage.js", "text/javascript; charset=utf-8"},
	} {
		b, err := fs.ReadFile(staticFS, "static/"+f.name)
		if err != nil {
			return fmt.Errorf("teampage: static: %w", err)
		}
		sum.Write(b)
		h.static[f.name] = staticFile{body: b, contentType: f.ct}
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	return nil
}

// Close stops the import jobs of the handler's own registry (not of a
// Config.Jobs registry) and waits for them.
func (h *Handler) Close() error {
	if h.ownJobs {
		return h.jobs.Close()
	}
	return nil
}

// Jobs returns the registry running the page's imports.
func (h *Handler) Jobs() *inviteapi.BulkJobs { return h.jobs }

// base returns the page's base path for orgID.
func (h *Handler) base(orgID string) string {
	return strings.ReplaceAll(h.cfg.BasePath, "{orgID}", url.PathEscape(orgID))
}

// reqCtx is what every request handler needs.
type reqCtx struct {
	w     http.ResponseWriter
	r     *http.Request
	ctx   context.Context
	orgID string
	base  string
	actor string
	// extraHead is added to the page's <head> (the job page's refresh).
	extraHead template.HTML
	// lang is the page's language (see Config.Locale); h.org refines it
	// with the organization's locale.
	lang tr
}

// ServeHTTP routes the page's requests.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	orgID := h.cfg.OrgID(r)
	if orgID == "" {
		h.notFound(w, r)
		return
	}
	if h.refuseText(w, r, httpx.CheckPathValue(httpx.OrgParam, orgID)) || h.refuseText(w, r, httpx.CheckQuery(r.URL.Query())) {
		return
	}
	rc := &reqCtx{w: w, r: r, ctx: r.Context(), orgID: orgID, base: h.base(orgID), actor: h.cfg.Actor(r),
		lang: tr(pages.RequestLang(r, h.cfg.Locale, ""))}
	rest := r.URL.Path
	if p, ok := strings.CutPrefix(rest, rc.base); ok && (p == "" || p[0] == '/') {
		rest = p
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) >= 2 && (parts[0] == "members" || parts[0] == "import") {
		name := httpx.UserParam
		if parts[0] == "import" {
			name = httpx.JobParam
		}
		if h.refuseText(w, r, httpx.CheckPathValue(name, parts[1])) {
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := httpx.Check(h.cop, r); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	switch {
	case len(parts) == 1 && parts[0] == "":
		// The add form posts to the page itself, so after a refused add
		// the address bar still shows the page (POST …/members is kept).
		h.route(rc, map[string]func(*reqCtx){http.MethodGet: h.membersPage, http.MethodPost: h.addMember})
	case len(parts) == 1 && parts[0] == "members":
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: h.addMember, http.MethodGet: h.redirectHome})
	case len(parts) == 3 && parts[0] == "members":
		userID, action := parts[1], parts[2]
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.memberAction(rc, userID, action) }})
	case len(parts) == 1 && parts[0] == "import":
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: h.upload, http.MethodGet: h.redirectHome})
	case len(parts) == 2 && parts[0] == "import":
		jobID := parts[1]
		h.route(rc, map[string]func(*reqCtx){http.MethodGet: func(rc *reqCtx) { h.jobPage(rc, jobID) }})
	case len(parts) == 3 && parts[0] == "import":
		jobID := parts[1]
		switch parts[2] {
		case "status":
			h.route(rc, map[string]func(*reqCtx){http.MethodGet: func(rc *reqCtx) { h.jobStatusJSON(rc, jobID) }})
		case "results.csv", "results.json":
			asCSV := parts[2] == "results.csv"
			h.route(rc, map[string]func(*reqCtx){http.MethodGet: func(rc *reqCtx) { h.download(rc, jobID, asCSV) }})
		case "confirm":
			h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.confirm(rc, jobID) }})
		case "cancel":
			h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.cancel(rc, jobID) }})
		default:
			h.notFound(w, r)
		}
	case parts[0] == "directory": // directory.go
		h.directoryRoute(rc, parts[1:])
	case parts[0] == "join": // join.go
		h.joinRoute(rc, parts[1:])
	case parts[0] == "sso": // sso.go
		h.ssoRoute(rc, parts[1:])
	case parts[0] == "approvals": // approvals.go
		h.approvalsRoute(rc, parts[1:])
	case len(parts) == 2 && parts[0] == "_static":
		name := parts[1]
		h.route(rc, map[string]func(*reqCtx){http.MethodGet: func(rc *reqCtx) { h.serveStatic(rc, name) }})
	default:
		h.notFound(w, r)
	}
}

// route calls the handler for the request's method (GET also serves HEAD).
func (h *Handler) route(rc *reqCtx, methods map[string]func(*reqCtx)) {
	handlers := make(map[string]http.HandlerFunc, len(methods))
	for m, fn := range methods {
		handlers[m] = func(http.ResponseWriter, *http.Request) { fn(rc) }
	}
	httpx.Methods(httpx.WithHead(handlers), h.fail).ServeHTTP(rc.w, rc.r)
}

// fail answers a refusal of the routing layer (method, cross-origin) as
// plain text with the kit's status for err.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := httpx.ProblemOf(err)
	h.plainError(w, r, p.Status, strings.ToUpper(p.Message[:1])+p.Message[1:]+".")
}

// refuseText answers a path or query value that breaks the kit's text
// rule (httpx.CheckPathValue, httpx.CheckQuery) with its 4xx status and a
// message naming the field; it reports whether it did (err != nil).
func (h *Handler) refuseText(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return false
	}
	h.addressInvalid(w, r, httpx.ProblemOf(err))
	return true
}

// addressInvalid answers a path or query value the kit refuses: the
// table's status and a sentence naming the field.
func (h *Handler) addressInvalid(w http.ResponseWriter, r *http.Request, p httpx.Problem) {
	if l := h.plainLang(r); l != pages.DefaultLang {
		h.plainError(w, r, p.Status, pages.Tf(l, "team.plain_address", p.Field))
		return
	}
	h.plainError(w, r, p.Status, "The address is not valid: "+p.Message+" (field "+p.Field+").")
}

// plainMessages are the catalog keys of plainError's fixed sentences, so
// they reach a person in the page's language.
var plainMessages = map[string]string{
	"Not found.":                  "team.plain_not_found",
	"Internal error.":             "team.plain_internal",
	"The form could not be read.": "team.plain_form",
}

// plainLang is the language of a plain-text answer (no organization known:
// Config.Locale, then Accept-Language).
func (h *Handler) plainLang(r *http.Request) string {
	return pages.RequestLang(r, h.cfg.Locale, "")
}

func (h *Handler) redirectHome(rc *reqCtx) {
	http.Redirect(rc.w, rc.r, rc.base+"/", http.StatusSeeOther)
}

func (h *Handler) serveStatic(rc *reqCtx, name string) {
	f, ok := h.static[name]
	if !ok {
		h.notFound(rc.w, rc.r)
		return
	}
	hd := rc.w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	if rc.r.URL.Query().Get("v") == h.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	rc.w.Write(f.body)
}

// head is the <head> markup for the page's assets.
func (h *Handler) head(base string) template.HTML {
	var b strings.Builder
	if !h.cfg.NoDefaultCSS {
		fmt.Fprintf(&b, `<link rel="stylesheet" href="%s/_static/teampage.css?v=%s">`, template.HTMLEscapeString(base), h.version)
	}
	fmt.Fprintf(&b, `<script src="%s/_static/teampage.js?v=%s" defer></script>`, template.HTMLEscapeString(base), h.version)
	return template.HTML(b.String())
}

// render executes the named page template and wraps it in the layout.
func (h *Handler) render(rc *reqCtx, status int, name, title, orgName string, data any) {
	var body bytes.Buffer
	if err := h.pages.ExecuteTemplate(&body, name, data); err != nil {
		h.log.ErrorContext(rc.ctx, "teampage: render", "template", name, "err", err)
		h.plainError(rc.w, rc.r, http.StatusInternalServerError, "Internal error.")
		return
	}
	page := LayoutData{
		Title:   title,
		Head:    h.head(rc.base) + rc.extraHead,
		Content: template.HTML(body.String()),
		OrgID:   rc.orgID,
		OrgName: orgName,
		Request: rc.r,
		Lang:    rc.lang.Lang(),
	}
	hd := rc.w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	pages.SetLangHeaders(hd, rc.lang.Lang())
	if hd.Get("X-Frame-Options") == "" {
		hd.Set("X-Frame-Options", "SAMEORIGIN")
	}
	var out bytes.Buffer
	var err error
	switch {
	case h.cfg.LayoutFunc != nil:
		rc.w.WriteHeader(status)
		err = h.cfg.LayoutFunc(rc.w, rc.r, page)
		if err != nil {
			h.log.ErrorContext(rc.ctx, "teampage: layout", "err", err)
		}
		return
	case h.cfg.Layout != nil:
		err = h.cfg.Layout.Execute(&out, page)
	default:
		err = h.pages.ExecuteTemplate(&out, "layout", page)
	}
	if err != nil {
		h.log.ErrorContext(rc.ctx, "teampage: layout", "err", err)
		h.plainError(rc.w, rc.r, http.StatusInternalServerError, "Internal error.")
		return
	}
	rc.w.WriteHeader(status)
	rc.w.Write(out.Bytes())
}

// plainError answers with a minimal text page (its fixed sentences,
// plainMessages, in the request's language).
func (h *Handler) plainError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	lang := h.plainLang(r)
	if key, ok := plainMessages[msg]; ok {
		msg = pages.T(lang, key)
	}
	pages.SetLangHeaders(w.Header(), lang)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.plainError(w, r, http.StatusNotFound, "Not found.")
}

// serverError logs err and answers 500 without details.
func (h *Handler) serverError(rc *reqCtx, err error) {
	h.log.ErrorContext(rc.ctx, "teampage: request failed", "method", rc.r.Method, "path", rc.r.URL.Path, "org_id", rc.orgID, "err", err)
	h.plainError(rc.w, rc.r, http.StatusInternalServerError, "Internal error.")
}
