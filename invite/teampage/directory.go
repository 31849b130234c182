package teampage

import (
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// The "Directory sync" section (…/directory): the organization's SCIM
// tokens for Okta or Microsoft Entra ID (create, shown once; rotate;
// revoke; created and last use) and its directory settings (provisioning
// mode, what a DELETE does, which group gives which role). It exists only
// when the store implements store.Directory (invite.Service.CanDirectorySync);
// elsewhere every …/directory address is 404. Like every page of the
// handler it trusts the app to let only the organization's admins in, and
// its POSTs are behind the same cross-origin protection.

// blankMappings is the number of empty group→role rows the form offers
// (a person without JavaScript adds more by saving and coming back).
const blankMappings = 3

// tokenRow is one directory token as the page lists it (never its secret).
type tokenRow struct {
	ID, Name, CreatedBy string
	Created, LastUsed   time.Time // LastUsed zero: never used
	Revoked             time.Time // zero: active
}

// newToken is a token just made: its secret is shown this once.
type newToken struct {
	Name, ID, Secret string
	OldID            string // set for a rotation: the token that still works
}

// mappingRow is one group→role line of the settings form.
type mappingRow struct {
	Group, Role string
	Index       int
}

// directoryForm is the settings form with its values and errors.
type directoryForm struct {
	ProvisionStatus string // ACTIVE or PENDING_INVITE
	DeleteAction    string // deactivate or remove
	Mappings        []mappingRow
	Errors          map[string]string // "mappings", "" (the form)
}

// directoryView is the data of the Directory sync page.
type directoryView struct {
	L           tr // the page's language
	Base, Title string
	Org         store.Organization
	SCIMURL     string // "" when Config.SCIMBaseURL is not set
	Tokens      []tokenRow
	Revoked     []tokenRow
	MaxTokens   int
	New         *newToken
	TokenName   string
	TokenError  string
	Form        directoryForm
	Roles       []store.Role
	Flash       string
	Alert       string
}

// directoryFlashContext binds the section's sealed flashes to it.
const directoryFlashContext = "invitekit/teampage/directory-flash"

// directoryFlashes are the section's success messages' catalog keys, by
// the sealed "done".
var directoryFlashes = map[string]string{
	"revoked":  "team.dir_done_revoked",
	"settings": "team.dir_done_settings",
}

// directoryRoute serves …/directory and below; rest is the path after it.
func (h *Handler) directoryRoute(rc *reqCtx, rest []string) {
	if !h.svc.CanDirectorySync() {
		h.notFound(rc.w, rc.r)
		return
	}
	switch {
	case len(rest) == 0 || len(rest) == 1 && rest[0] == "":
		h.route(rc, map[string]func(*reqCtx){http.MethodGet: h.directoryPage})
	case len(rest) == 1 && rest[0] == "tokens":
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: h.createDirectoryToken, http.MethodGet: h.directoryHome})
	case len(rest) == 1 && rest[0] == "settings":
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: h.saveDirectorySettings, http.MethodGet: h.directoryHome})
	case len(rest) == 3 && rest[0] == "tokens" && validRandomID("dtk_", rest[1]) && (rest[2] == "rotate" || rest[2] == "revoke"):
		id, action := rest[1], rest[2]
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.directoryTokenAction(rc, id, action) }})
	default:
		h.notFound(rc.w, rc.r)
	}
}

// validRandomID accepts the shape of an id made by store.NewRandomID with
// prefix (a directory token's "dtk_": prefix, then lower-case letters and
// digits); anything else is 404 before any read.
func validRandomID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" || len(id) > 64 {
		return false
	}
	for _, c := range rest {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func (h *Handler) directoryHome(rc *reqCtx) {
	http.Redirect(rc.w, rc.r, rc.base+"/directory", http.StatusSeeOther)
}

// directoryBack redirects to the section with a sealed flash.
func (h *Handler) directoryBack(rc *reqCtx, done, who string) {
	target := rc.base + "/directory"
	if b, err := h.svc.Sealer().Seal(directoryFlashContext, map[string]string{"done": done, "who": who}); err == nil {
		target += "?flash=" + base64.RawURLEncoding.EncodeToString(b)
	}
	http.Redirect(rc.w, rc.r, target, http.StatusSeeOther)
}

// directoryFlash is the message of a flash sealed by directoryBack ("" for
// none, or one this app did not seal).
func (h *Handler) directoryFlash(rc *reqCtx) string {
	raw, err := base64.RawURLEncoding.DecodeString(rc.r.URL.Query().Get("flash"))
	if err != nil || len(raw) == 0 {
		return ""
	}
	parts, err := h.svc.Sealer().Open(directoryFlashContext, raw)
	if err != nil {
		return ""
	}
	key, ok := directoryFlashes[parts["done"]]
	if !ok {
		return ""
	}
	if !strings.Contains(rc.lang.T(key), "%s") {
		return rc.lang.T(key)
	}
	return rc.lang.Tf(key, parts["who"])
}

// loadDirectoryView builds the page: tokens, settings, roles.
func (h *Handler) loadDirectoryView(rc *reqCtx, org store.Organization) (*directoryView, error) {
	v := &directoryView{
		L: rc.lang, Base: rc.base, Title: rc.lang.T("team.dir_title"), Org: org, SCIMURL: h.cfg.SCIMBaseURL,
		MaxTokens: invite.MaxDirectoryTokens, Roles: h.svc.Roles(),
	}
	toks, err := h.svc.ListDirectoryTokens(rc.ctx, rc.orgID)
	if err != nil {
		return nil, err
	}
	creators := map[string]string{}
	for _, t := range toks {
		row := tokenRow{ID: t.ID, Name: t.Name, Created: t.CreateTime, CreatedBy: h.memberEmail(rc, t.CreatedBy, creators)}
		if t.LastUsedTime != nil {
			row.LastUsed = *t.LastUsedTime
		}
		if t.RevokeTime != nil {
			row.Revoked = *t.RevokeTime
			v.Revoked = append(v.Revoked, row)
			continue
		}
		v.Tokens = append(v.Tokens, row)
	}
	slices.Reverse(v.Revoked) // the latest revocations first
	ds, err := h.svc.DirectorySettings(rc.ctx, rc.orgID)
	if err != nil {
		return nil, err
	}
	v.Form = directoryForm{ProvisionStatus: string(ds.ProvisionStatus), DeleteAction: ds.DeleteAction, Errors: map[string]string{}}
	for _, g := range slices.Sorted(maps.Keys(ds.GroupRoles)) {
		v.Form.Mappings = append(v.Form.Mappings, mappingRow{Group: g, Role: ds.GroupRoles[g]})
	}
	v.Form.Mappings = withBlankRows(v.Form.Mappings)
	return v, nil
}

// withBlankRows numbers rows and adds the empty ones of the form.
func withBlankRows(rows []mappingRow) []mappingRow {
	for range blankMappings {
		rows = append(rows, mappingRow{})
	}
	for i := range rows {
		rows[i].Index = i
	}
	return rows
}

// memberEmail is the email of orgID's member id (cached in seen), the id
// itself when it is no member (any more), "" for "".
func (h *Handler) memberEmail(rc *reqCtx, id string, seen map[string]string) string {
	if id == "" {
		return ""
	}
	if e, ok := seen[id]; ok {
		return e
	}
	e := id
	if m, err := h.svc.GetMember(rc.ctx, rc.orgID, invite.UserRef{ID: id}); err == nil {
		e = m.User.Email
	}
	seen[id] = e
	return e
}

func (h *Handler) renderDirectory(rc *reqCtx, status int, org store.Organization, edit func(*directoryView)) {
	v, err := h.loadDirectoryView(rc, org)
	if err != nil {
		h.serverError(rc, err)
		return
	}
	if edit != nil {
		edit(v)
	}
	h.render(rc, status, "directory", v.Title+" · "+org.Name, org.Name, v)
}

func (h *Handler) directoryPage(rc *reqCtx) {
	org, ok := h.org(rc)
	if !ok {
		return
	}
	flash := h.directoryFlash(rc)
	h.renderDirectory(rc, http.StatusOK, org, func(v *directoryView) { v.Flash = flash })
}

// parseDirectoryForm reads a form of the section (at most maxFormBytes).
func (h *Handler) parseDirectoryForm(rc *reqCtx) (store.Organization, bool) {
	rc.r.Body = http.MaxBytesReader(rc.w, rc.r.Body, maxFormBytes)
	if err := rc.r.ParseForm(); err != nil {
		h.plainError(rc.w, rc.r, http.StatusBadRequest, "The form could not be read.")
		return store.Organization{}, false
	}
	return h.org(rc)
}

// createDirectoryToken makes a token and shows its secret once (the
// answer to the POST itself: the secret is never in a URL or a cookie).
func (h *Handler) createDirectoryToken(rc *reqCtx) {
	org, ok := h.parseDirectoryForm(rc)
	if !ok {
		return
	}
	name := strings.TrimSpace(rc.r.PostFormValue("name"))
	secret, tok, err := h.svc.CreateDirectoryToken(rc.ctx, rc.orgID, name, rc.actor)
	if err != nil {
		h.directoryFailed(rc, org, err, func(v *directoryView, msg string) { v.TokenName, v.TokenError = name, msg })
		return
	}
	h.renderDirectory(rc, http.StatusOK, org, func(v *directoryView) {
		v.New = &newToken{Name: tok.Name, ID: tok.ID, Secret: secret}
	})
}

func (h *Handler) directoryTokenAction(rc *reqCtx, id, action string) {
	org, ok := h.parseDirectoryForm(rc)
	if !ok {
		return
	}
	name := id
	if toks, err := h.svc.ListDirectoryTokens(rc.ctx, rc.orgID); err == nil {
		i := slices.IndexFunc(toks, func(t store.DirectoryToken) bool { return t.ID == id })
		if i < 0 { // no token of this organization: the same 404 for any id
			h.notFound(rc.w, rc.r)
			return
		}
		name = toks[i].Name
	}
	switch action {
	case "revoke":
		if err := h.svc.RevokeDirectoryToken(rc.ctx, rc.orgID, id, rc.actor); err != nil {
			h.directoryFailed(rc, org, err, nil)
			return
		}
		h.directoryBack(rc, "revoked", name)
	case "rotate":
		secret, tok, err := h.svc.RotateDirectoryToken(rc.ctx, rc.orgID, id, rc.actor)
		if err != nil {
			h.directoryFailed(rc, org, err, nil)
			return
		}
		h.renderDirectory(rc, http.StatusOK, org, func(v *directoryView) {
			v.New = &newToken{Name: tok.Name, ID: tok.ID, Secret: secret, OldID: id}
		})
	}
}

func (h *Handler) saveDirectorySettings(rc *reqCtx) {
	org, ok := h.parseDirectoryForm(rc)
	if !ok {
		return
	}
	form := directoryForm{
		ProvisionStatus: rc.r.PostFormValue("provision_status"),
		DeleteAction:    rc.r.PostFormValue("delete_action"),
		Errors:          map[string]string{},
	}
	groups, roles := rc.r.PostForm["group"], rc.r.PostForm["role"]
	mapping := map[string]string{}
	for i := range max(len(groups), len(roles)) {
		var row mappingRow
		if i < len(groups) {
			row.Group = strings.TrimSpace(groups[i])
		}
		if i < len(roles) {
			row.Role = roles[i]
		}
		l := rc.lang
		switch {
		case row.Group == "" && row.Role == "":
			continue
		case row.Group == "":
			form.Errors["mappings"] = l.Tf("team.dir_err_row_group", len(form.Mappings)+1)
		case row.Role == "":
			form.Errors["mappings"] = l.Tf("team.dir_err_row_role", row.Group)
		case !h.isRole(row.Role):
			form.Errors["mappings"] = l.Tf("team.dir_err_role", row.Role)
		case utf8.RuneCountInString(row.Group) > invite.MaxGroupNameLen || strings.IndexFunc(row.Group, unicode.IsControl) >= 0:
			form.Errors["mappings"] = l.Tf("team.dir_err_group_name", invite.MaxGroupNameLen)
		case mapping[row.Group] != "":
			form.Errors["mappings"] = l.Tf("team.dir_err_twice", row.Group)
		default:
			mapping[row.Group] = row.Role
		}
		form.Mappings = append(form.Mappings, row)
	}
	if len(mapping) > invite.MaxGroupRoleMappings {
		form.Errors["mappings"] = rc.lang.Tf("team.dir_err_mappings", invite.MaxGroupRoleMappings)
	}
	if !slices.Contains([]string{"", string(store.StatusActive), string(store.StatusPendingInvite)}, form.ProvisionStatus) ||
		!slices.Contains([]string{"", store.DeleteDeactivate, store.DeleteRemove}, form.DeleteAction) {
		form.Errors[""] = rc.lang.T("team.dir_err_choice")
	}
	var err error
	if len(form.Errors) == 0 {
		_, err = h.svc.SetDirectorySettings(rc.ctx, rc.orgID, store.DirectorySettings{
			ProvisionStatus: store.MembershipStatus(form.ProvisionStatus), DeleteAction: form.DeleteAction, GroupRoles: mapping,
		}, rc.actor)
		if err == nil {
			h.directoryBack(rc, "settings", "")
			return
		}
	}
	form.Mappings = withBlankRows(form.Mappings)
	status := http.StatusUnprocessableEntity
	if err != nil {
		status = httpx.Status(err)
		if status >= 500 {
			h.serverError(rc, err)
			return
		}
		var fe *invite.FieldError
		key := ""
		if errors.As(err, &fe) && fe.Field == "groupRoles" {
			key = "mappings"
		}
		form.Errors[key] = directoryMessage(rc.lang, err)
	}
	h.renderDirectory(rc, status, org, func(v *directoryView) { v.Form = form })
}

// directoryFailed re-renders the section with the refusal of err: set
// puts the message where it belongs (nil: the page's alert). A token of
// no token of this organization is 404 (as is any unknown id).
func (h *Handler) directoryFailed(rc *reqCtx, org store.Organization, err error, set func(*directoryView, string)) {
	status := httpx.Status(err)
	switch {
	case errors.Is(err, invite.ErrNotFound):
		h.notFound(rc.w, rc.r)
		return
	case status >= 500:
		h.serverError(rc, err)
		return
	}
	msg := directoryMessage(rc.lang, err)
	h.renderDirectory(rc, status, org, func(v *directoryView) {
		if set != nil {
			set(v, msg)
			return
		}
		v.Alert = msg
	})
}

// directoryMessage is a person's sentence, in l, for a refusal of the
// section (the Service's field errors by their field: the page checks
// the mapping itself first, so these are the rest).
func directoryMessage(l tr, err error) string {
	var fe *invite.FieldError
	switch {
	case errors.As(err, &fe) && fe.Field == "name" && strings.Contains(fe.Message, "active directory tokens"):
		return l.Tf("team.dir_err_too_many", invite.MaxDirectoryTokens)
	case errors.As(err, &fe) && fe.Field == "name":
		return l.Tf("team.dir_err_name", invite.MaxTokenNameLen)
	case errors.As(err, &fe) && fe.Field == "groupRoles":
		return l.Tf("team.dir_err_group_name", invite.MaxGroupNameLen)
	case errors.As(err, &fe):
		return l.T("team.dir_err_choice")
	case errors.Is(err, invite.ErrWrongStatus):
		return l.T("team.dir_err_revoked")
	}
	return l.T("team.err_other")
}

// isRole reports whether name is one of the app's roles.
func (h *Handler) isRole(name string) bool {
	return slices.ContainsFunc(h.svc.Roles(), func(r store.Role) bool { return r.Name == name })
}
