package teampage

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/store"
)

// The "Requests to join" and "Email domains" section (…/join): the
// organization's pending requests to join, each approved with roles or
// declined with a reason (the person gets a mail either way), and its
// email domains: add one, publish the TXT record shown, verify it, choose
// what it grants (nothing, auto-join with roles, may ask to join), remove
// it. It exists only when the store implements both store.JoinRequestStore
// and store.DomainStore (invite.Service.CanJoinRequests); elsewhere every
// …/join address is 404. Like every page of the handler it trusts the app
// to let only the organization's admins in, its POSTs are behind the same
// cross-origin protection, and a refusal shows the error table's message
// (a domain verified elsewhere: only "cannot be verified for this
// organization", and only once the record is there).

// joinView is the data of the section.
type joinView struct {
	L           tr
	Base, Title string
	Org         store.Organization
	Requests    []store.JoinRequest
	Domains     []domainRow
	// ApproveRoles are the approval form's roles, Config.DefaultRoles
	// checked.
	ApproveRoles []roleChoice
	Flash        string
	Alert        string
	NewDomain    string
}

// domainRow is one domain with its record.
type domainRow struct {
	D                       store.Domain
	RecordName, RecordValue string
	ID                      string       // for element ids: the domain with dots as dashes
	Roles                   []roleChoice // its default roles checked
}

// roleChoice is one role checkbox.
type roleChoice struct {
	Name    string
	Checked bool
}

func (h *Handler) roleChoices(checked []string) []roleChoice {
	var out []roleChoice
	for _, r := range h.svc.Roles() {
		out = append(out, roleChoice{Name: r.Name, Checked: slices.Contains(checked, r.Name)})
	}
	return out
}

const joinFlashContext = "invitekit/teampage/join-flash"

var joinFlashes = map[string]string{
	"approved": "team.join_approved",
	"declined": "team.join_declined",
	"added":    "team.domain_added",
	"verified": "team.domain_ok",
	"saved":    "team.domain_saved",
	"removed":  "team.domain_removed",
}

// joinRoute serves …/join and below; rest is the path after it.
func (h *Handler) joinRoute(rc *reqCtx, rest []string) {
	if !h.svc.CanJoinRequests() {
		h.notFound(rc.w, rc.r)
		return
	}
	for _, p := range rest {
		if h.refuseText(rc.w, rc.r, httpx.CheckPathValue("join", p)) {
			return
		}
	}
	switch {
	case len(rest) == 0 || len(rest) == 1 && rest[0] == "":
		h.route(rc, map[string]func(*reqCtx){http.MethodGet: h.joinPage})
	case len(rest) == 3 && rest[0] == "requests" && (rest[2] == "approve" || rest[2] == "decline"):
		id, action := rest[1], rest[2]
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.decideJoin(rc, id, action) }})
	case len(rest) == 1 && rest[0] == "domains":
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: h.addDomain})
	case len(rest) == 3 && rest[0] == "domains" && (rest[2] == "verify" || rest[2] == "policy" || rest[2] == "remove"):
		name, action := rest[1], rest[2]
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.domainAction(rc, name, action) }})
	default:
		h.notFound(rc.w, rc.r)
	}
}

func (h *Handler) joinBack(rc *reqCtx, done, who string) {
	target := rc.base + "/join"
	if b, err := h.svc.Sealer().Seal(joinFlashContext, map[string]string{"done": done, "who": who}); err == nil {
		target += "?flash=" + base64.RawURLEncoding.EncodeToString(b)
	}
	http.Redirect(rc.w, rc.r, target, http.StatusSeeOther)
}

func (h *Handler) joinFlash(rc *reqCtx) string {
	raw, err := base64.RawURLEncoding.DecodeString(rc.r.URL.Query().Get("flash"))
	if err != nil || len(raw) == 0 {
		return ""
	}
	parts, err := h.svc.Sealer().Open(joinFlashContext, raw)
	if err != nil {
		return ""
	}
	key, ok := joinFlashes[parts["done"]]
	if !ok {
		return ""
	}
	if !strings.Contains(rc.lang.T(key), "%s") {
		return rc.lang.T(key)
	}
	return rc.lang.Tf(key, parts["who"])
}

func (h *Handler) renderJoin(rc *reqCtx, status int, edit func(*joinView)) {
	org, ok := h.org(rc)
	if !ok {
		return
	}
	v := &joinView{L: rc.lang, Base: rc.base, Title: rc.lang.T("team.join_title"), Org: org, ApproveRoles: h.roleChoices(h.svc.DefaultRoles())}
	var err error
	if v.Requests, err = h.svc.JoinRequests(rc.ctx, rc.orgID, store.JoinRequestPending, 0); err != nil {
		h.serverError(rc, err)
		return
	}
	ds, err := h.svc.Domains(rc.ctx, rc.orgID)
	if err != nil {
		h.serverError(rc, err)
		return
	}
	for _, d := range ds {
		name, value := h.svc.DomainRecord(d)
		v.Domains = append(v.Domains, domainRow{D: d, RecordName: name, RecordValue: value, ID: strings.ReplaceAll(d.Domain, ".", "-"), Roles: h.roleChoices(d.DefaultRoles)})
	}
	if edit != nil {
		edit(v)
	}
	h.render(rc, status, "join", v.Title+" · "+org.Name, org.Name, v)
}

func (h *Handler) joinPage(rc *reqCtx) {
	flash := h.joinFlash(rc)
	h.renderJoin(rc, http.StatusOK, func(v *joinView) { v.Flash = flash })
}

// joinRefused shows the section again with err's message (the error
// table's status and words).
func (h *Handler) joinRefused(rc *reqCtx, err error, edit func(*joinView)) {
	p := httpx.ProblemOf(err)
	if p.Status >= 500 && p.Code == "internal" {
		h.serverError(rc, err)
		return
	}
	h.renderJoin(rc, p.Status, func(v *joinView) {
		v.Alert = joinMessage(rc.lang, err)
		if edit != nil {
			edit(v)
		}
	})
}

func (h *Handler) parseJoinForm(rc *reqCtx) bool {
	rc.r.Body = http.MaxBytesReader(rc.w, rc.r.Body, maxFormBytes)
	if err := rc.r.ParseForm(); err != nil {
		h.plainError(rc.w, rc.r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

func (h *Handler) decideJoin(rc *reqCtx, id, action string) {
	if !h.parseJoinForm(rc) {
		return
	}
	var err error
	var who string
	if action == "approve" {
		var jr store.JoinRequest
		_, jr, err = h.svc.ApproveJoinRequest(rc.ctx, rc.orgID, id, rc.actor, rc.r.PostForm["roles"])
		who = jr.Email
	} else {
		var jr store.JoinRequest
		jr, err = h.svc.DeclineJoinRequest(rc.ctx, rc.orgID, id, rc.actor, rc.r.PostFormValue("reason"))
		who = jr.Email
	}
	if err != nil {
		h.joinRefused(rc, err, nil)
		return
	}
	h.joinBack(rc, action+"d", who)
}

func (h *Handler) addDomain(rc *reqCtx) {
	if !h.parseJoinForm(rc) {
		return
	}
	name := rc.r.PostFormValue("domain")
	d, err := h.svc.ClaimDomain(rc.ctx, rc.orgID, rc.actor, name)
	if err != nil {
		h.joinRefused(rc, err, func(v *joinView) { v.NewDomain = name })
		return
	}
	h.joinBack(rc, "added", d.Domain)
}

func (h *Handler) domainAction(rc *reqCtx, name, action string) {
	if !h.parseJoinForm(rc) {
		return
	}
	var err error
	switch action {
	case "verify":
		_, err = h.svc.VerifyDomain(rc.ctx, rc.orgID, rc.actor, name)
	case "policy":
		_, err = h.svc.SetDomainPolicy(rc.ctx, rc.orgID, rc.actor, name, store.DomainPolicy(rc.r.PostFormValue("policy")), rc.r.PostForm["roles"])
	case "remove":
		err = h.svc.RemoveDomain(rc.ctx, rc.orgID, rc.actor, name)
	}
	if err != nil {
		h.joinRefused(rc, err, nil)
		return
	}
	done := map[string]string{"verify": "verified", "policy": "saved", "remove": "removed"}[action]
	h.joinBack(rc, done, name)
}

// joinMessages are the section's words for the errors of domains (the
// rest as on the members page).
var joinMessages = []struct {
	err error
	key string
}{
	{store.ErrDomainClaimed, "team.err_domain_claimed"},
	{store.ErrDomainUnavailable, "team.err_domain_unavailable"},
	{store.ErrDomainRecordMissing, "team.err_domain_record"},
	{store.ErrDomainLookupFailed, "team.err_domain_lookup"},
}

func joinMessage(l tr, err error) string {
	for _, m := range joinMessages {
		if errors.Is(err, m.err) {
			return l.T(m.key)
		}
	}
	_, msg := errorMessageIn(l, err)
	return msg
}
