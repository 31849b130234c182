package teampage

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/pages"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
)

// statusOptions are the filter choices, in display order.
var statusOptions = []struct {
	value store.MembershipStatus
	key   string // catalog key of the label
}{
	{store.StatusPendingInvite, "team.st_pending"},
	{store.StatusActive, "team.st_active"},
	{store.StatusInactive, "team.st_inactive"},
	{store.StatusInviteExpired, "team.st_expired"},
	{store.StatusPendingApproval, "team.st_held"},
}

type option struct {
	Value, Label string
	Selected     bool
}

// filters are the list's query parameters, carried through every action.
type filters struct {
	Q, Status, After string
}

func (f filters) query() url.Values {
	v := url.Values{}
	if f.Q != "" {
		v.Set("q", f.Q)
	}
	if f.Status != "" {
		v.Set("status", f.Status)
	}
	if f.After != "" {
		v.Set("after", f.After)
	}
	return v
}

func readFilters(r *http.Request) filters {
	get := func(k string) string {
		if r.Method == http.MethodPost {
			return strings.TrimSpace(r.PostFormValue(k))
		}
		return strings.TrimSpace(r.URL.Query().Get(k))
	}
	return filters{Q: get("q"), Status: strings.ToUpper(get("status")), After: get("after")}
}

// memberRow is one member as the table shows it.
type memberRow struct {
	UserID, Email, Name string
	Roles               []string
	HasRole             map[string]bool
	Status              store.MembershipStatus
	StatusLabel         string
	InvitedAt           time.Time
	ExpiresAt           time.Time
	InvitedBy           string
	Pending             bool // PENDING_INVITE or INVITE_EXPIRED
	Active, Inactive    bool
	Self                bool
}

// addForm is the "add a person" form with its values and errors.
type addForm struct {
	Email, FirstName, LastName string
	Roles                      map[string]bool
	Send                       bool
	Errors                     map[string]string // "email", "first_name", "last_name", "roles", "" (the form)
}

// linkView shows a freshly made invite link once.
type linkView struct {
	Email, URL string
}

// membersView is the data of the members page.
type membersView struct {
	L             tr // the page's language
	Base, Title   string
	Org           store.Organization
	Roles         []store.Role
	AdminRole     string
	Members       []memberRow
	Filters       filters
	FilterQuery   string // encoded filters for links
	StatusOptions []option
	Next          string
	Flash         string
	Alert         string
	Add           addForm
	Link          *linkView
	Jobs          []inviteapi.BulkJobStatus
	ImportError   string
	MaxUpload     string
	MaxRows       int
	Now           time.Time
	SignOut       bool // the store can revoke sessions: offer "Sign out everywhere"
	Directory     bool // the store can sync a directory: link the Directory sync section
	Join          bool // the store keeps join requests and domains: link their section (join.go)
	Approvals     bool // the actor approves held invites: link the approval queue
	SSO           bool // the store keeps SSO connections: link the Single sign-on section (sso.go)
}

// flashes are the success messages' catalog keys, by the sealed "done".
var flashes = map[string]string{
	"invited":     "team.done_invited",
	"added":       "team.done_added",
	"held":        "team.done_held",
	"resent":      "team.done_resent",
	"revoked":     "team.done_revoked",
	"deactivated": "team.done_deactivated",
	"reactivated": "team.done_reactivated",
	"signedout":   "team.done_signedout",
	"roles":       "team.done_roles",
	"canceled":    "team.done_canceled",
}

// flashContext binds a sealed flash to its use, so a sealed blob made for
// something else never opens as a flash.
const flashContext = "invitekit/teampage/flash"

// sealFlash seals the flash message's parts (the "flash" query value): the
// page shows text the server wrote, never text taken from the URL.
func (h *Handler) sealFlash(done, who string) string {
	b, err := h.svc.Sealer().Seal(flashContext, map[string]string{"done": done, "who": who})
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// flashText is the success message of a sealed flash ("" when there is
// none, or it was not sealed by this app).
func (h *Handler) flashText(l tr, q url.Values) string {
	raw, err := base64.RawURLEncoding.DecodeString(q.Get("flash"))
	if err != nil || len(raw) == 0 {
		return ""
	}
	parts, err := h.svc.Sealer().Open(flashContext, raw)
	if err != nil {
		return ""
	}
	key, ok := flashes[parts["done"]]
	if !ok {
		return ""
	}
	who := parts["who"]
	if who == "" {
		who = l.T("team.the_member")
	}
	f := l.T(key)
	if !strings.Contains(f, "%s") {
		return f
	}
	return l.Tf(key, who)
}

// loadView builds the members page for the current filters.
func (h *Handler) loadView(rc *reqCtx, org store.Organization, f filters) (*membersView, error) {
	v := &membersView{
		L:         rc.lang,
		Base:      rc.base,
		Title:     h.pageTitle(rc.lang),
		Org:       org,
		Roles:     h.svc.Roles(),
		AdminRole: h.svc.AdminRole(),
		Filters:   f,
		MaxUpload: formatBytes(h.cfg.MaxUploadBytes),
		MaxRows:   h.cfg.MaxUploadRows,
		Now:       h.svc.Now(),
		SignOut:   h.svc.CanSignOutEverywhere(),
		Directory: h.svc.CanDirectorySync(),
		Join:      h.svc.CanJoinRequests(),
		Approvals: h.canApprove(rc),
		SSO:       h.svc.SSOSupported(),
		Add:       addForm{Send: true, Roles: map[string]bool{}, Errors: map[string]string{}},
	}
	v.FilterQuery = f.query().Encode()
	v.StatusOptions = append(v.StatusOptions, option{Value: "", Label: rc.lang.T("team.st_all"), Selected: f.Status == ""})
	for _, o := range statusOptions {
		v.StatusOptions = append(v.StatusOptions, option{Value: string(o.value), Label: rc.lang.T(o.key), Selected: string(o.value) == f.Status})
	}
	page, err := h.svc.ListMembers(rc.ctx, rc.orgID, store.ListOptions{
		Status: store.MembershipStatus(f.Status), Query: f.Q, After: f.After, Limit: h.cfg.PageSize,
	})
	if err != nil {
		var fe *invite.FieldError
		if !errors.As(err, &fe) {
			return nil, err
		}
		// A bad filter or cursor: show the error, list nothing.
		v.Alert = fe.Message
	}
	v.Next = page.Next
	inviters := map[string]string{}
	for _, m := range page.Members {
		v.Members = append(v.Members, h.row(rc, m, v.Now, inviters))
	}
	v.Jobs = h.jobs.List(rc.orgID)
	if len(v.Jobs) > 5 {
		v.Jobs = v.Jobs[:5]
	}
	return v, nil
}

func (h *Handler) row(rc *reqCtx, m store.Member, now time.Time, inviters map[string]string) memberRow {
	st := m.Membership.EffectiveStatus(now)
	row := memberRow{
		UserID:      m.User.ID,
		Email:       m.User.Email,
		Name:        displayName(m.Membership.Profile),
		Roles:       m.Membership.Roles,
		HasRole:     map[string]bool{},
		Status:      st,
		StatusLabel: rc.lang.Status(st),
		InvitedAt:   m.Membership.JoinTime,
		Pending:     st == store.StatusPendingInvite || st == store.StatusInviteExpired,
		Active:      st == store.StatusActive,
		Inactive:    st == store.StatusInactive,
		Self:        rc.actor != "" && rc.actor == m.User.ID,
	}
	for _, r := range m.Membership.Roles {
		row.HasRole[r] = true
	}
	if row.Pending {
		row.ExpiresAt = m.Membership.InviteExpireTime
	}
	if id := m.Membership.InvitedBy; id != "" {
		name, ok := inviters[id]
		if !ok {
			name = id
			if mem, err := h.svc.GetMember(rc.ctx, rc.orgID, invite.UserRef{ID: id}); err == nil {
				name = mem.User.Email
			}
			inviters[id] = name
		}
		row.InvitedBy = name
	}
	return row
}

// displayName is the member's name as this organization knows them.
func displayName(p store.MemberProfile) string {
	if p.Name != "" {
		return p.Name
	}
	return strings.TrimSpace(p.FirstName + " " + p.LastName)
}

// org loads the organization or answers 404.
func (h *Handler) org(rc *reqCtx) (store.Organization, bool) {
	org, err := h.svc.Organization(rc.ctx, rc.orgID)
	if err != nil {
		switch p := httpx.ProblemOf(err); {
		case errors.Is(err, invite.ErrNotFound):
			h.notFound(rc.w, rc.r)
		case p.Status < 500: // an id no organization can have
			h.addressInvalid(rc.w, rc.r, p)
		default:
			h.serverError(rc, err)
		}
		return store.Organization{}, false
	}
	rc.lang = tr(pages.RequestLang(rc.r, h.cfg.Locale, org.Locale))
	return org, true
}

// pageTitle is Config.Title, or "Team" in the page's language.
func (h *Handler) pageTitle(l tr) string {
	if h.cfg.Title != "" {
		return h.cfg.Title
	}
	return l.T("team.title")
}

func (h *Handler) title(rc *reqCtx, org store.Organization) string {
	return h.pageTitle(rc.lang) + " · " + org.Name
}

func (h *Handler) membersPage(rc *reqCtx) {
	org, ok := h.org(rc)
	if !ok {
		return
	}
	v, err := h.loadView(rc, org, readFilters(rc.r))
	if err != nil {
		h.serverError(rc, err)
		return
	}
	v.Flash = h.flashText(rc.lang, rc.r.URL.Query())
	status := http.StatusOK
	if v.Alert != "" {
		status = http.StatusUnprocessableEntity
	}
	h.render(rc, status, "members", h.title(rc, org), org.Name, v)
}

// back redirects to the list with the filters and a flash message.
func (h *Handler) back(rc *reqCtx, f filters, done, who string) {
	q := f.query()
	if done != "" {
		q.Set("flash", h.sealFlash(done, who))
	}
	target := rc.base + "/"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(rc.w, rc.r, target, http.StatusSeeOther)
}

// maxFormBytes bounds the non-upload forms.
const maxFormBytes = 64 << 10

func (h *Handler) parseForm(rc *reqCtx) bool {
	rc.r.Body = http.MaxBytesReader(rc.w, rc.r.Body, maxFormBytes)
	if err := rc.r.ParseForm(); err != nil {
		h.plainError(rc.w, rc.r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	// The list filters ride along into the redirect: they meet the text
	// rule before the action (the form's own fields meet it in the Service).
	filters := url.Values{}
	for _, k := range []string{"q", "status", "after"} {
		if v, ok := rc.r.PostForm[k]; ok {
			filters[k] = v
		}
	}
	return !h.refuseText(rc.w, rc.r, httpx.CheckQuery(filters))
}

func (h *Handler) addMember(rc *reqCtx) {
	if !h.parseForm(rc) {
		return
	}
	org, ok := h.org(rc)
	if !ok {
		return
	}
	f := readFilters(rc.r)
	form := addForm{
		Email:     strings.TrimSpace(rc.r.PostFormValue("email")),
		FirstName: strings.TrimSpace(rc.r.PostFormValue("first_name")),
		LastName:  strings.TrimSpace(rc.r.PostFormValue("last_name")),
		Send:      rc.r.PostFormValue("send_email") != "",
		Roles:     map[string]bool{},
		Errors:    map[string]string{},
	}
	var roles []string
	for _, r := range rc.r.PostForm["roles"] {
		if !form.Roles[r] {
			form.Roles[r] = true
			roles = append(roles, r)
		}
	}
	send := form.Send
	req := invite.InviteRequest{Email: form.Email, Roles: roles, SendInvitationEmail: &send, InvitedBy: rc.actor}
	if form.FirstName != "" || form.LastName != "" {
		req.UserProfile = &invite.ProfileInput{FirstName: form.FirstName, LastName: form.LastName}
	}
	var res *invite.InviteResult
	err := h.limitInvite(rc)
	if err == nil {
		res, err = h.svc.CreateUserAndMembership(invite.WithSurface(rc.ctx, invite.SurfaceTeamPage), rc.orgID, req)
	}
	if err == nil {
		done := "invited"
		switch res.Membership.Status {
		case store.StatusActive:
			done = "added"
		case store.StatusPendingApproval:
			done = "held"
		}
		h.back(rc, f, done, res.User.Email)
		return
	}
	status := httpx.Status(err)
	if status >= 500 {
		h.serverError(rc, err)
		return
	}
	httpx.SetRetryAfter(rc.w, err)
	var fe *invite.FieldError
	var pe *invite.PolicyError
	switch {
	case errors.As(err, &fe):
		form.Errors[formField(fe.Field)] = personMessage(rc.lang, fe)
	case errors.As(err, &pe):
		form.Errors[""] = rc.lang.Tf("team.err_policy", pe.Reason)
	case errors.Is(err, invite.ErrAlreadyInvited):
		form.Errors["email"] = rc.lang.T("team.err_invited")
	case errors.Is(err, invite.ErrAlreadyMember):
		form.Errors["email"] = rc.lang.T("team.err_member")
	case errors.Is(err, invite.ErrExternalIDTaken):
		form.Errors["email"] = rc.lang.T("team.err_external_id")
	default:
		_, msg := errorMessageIn(rc.lang, err)
		form.Errors[""] = msg
	}
	v, lerr := h.loadView(rc, org, f)
	if lerr != nil {
		h.serverError(rc, lerr)
		return
	}
	v.Add = form
	h.render(rc, status, "members", h.title(rc, org), org.Name, v)
}

// formField maps a FieldError field to the add form's field names.
func formField(f string) string {
	switch {
	case f == "email":
		return "email"
	case f == "userProfile.firstName":
		return "first_name"
	case f == "userProfile.lastName":
		return "last_name"
	case strings.HasPrefix(f, "roles"):
		return "roles"
	}
	return ""
}

// errorMessage is a safe, human message for a Service error, in English.
func errorMessage(err error) (status int, msg string) {
	return errorMessageIn(tr(pages.DefaultLang), err)
}

// errorMessageIn is errorMessage in the page's language l.
func errorMessageIn(l tr, err error) (status int, msg string) {
	status = httpx.Status(err)
	var fe *invite.FieldError
	var pe *invite.PolicyError
	switch {
	case errors.As(err, &fe):
		return status, personMessage(l, fe)
	case errors.As(err, &pe):
		return status, l.Tf("team.err_policy", pe.Reason)
	case errors.Is(err, invite.ErrWrongStatus):
		return status, l.T("team.err_status")
	case errors.Is(err, invite.ErrNotFound):
		return status, l.T("team.err_gone")
	case errors.Is(err, invite.ErrInviteRevoked), errors.Is(err, invite.ErrInviteUsed):
		return status, l.T("team.err_inv_final")
	case errors.Is(err, invite.ErrLastAdmin):
		return status, l.T("team.err_last_admin")
	case errors.Is(err, httpx.ErrRateLimited):
		return status, rateLimitMessage(l, err)
	}
	return status, l.T("team.err_other")
}

// memberActions are the per-member POST actions.
var memberActions = []string{"resend", "revoke", "deactivate", "reactivate", "roles", "link", "signout"}

func (h *Handler) memberAction(rc *reqCtx, userID, action string) {
	if !slices.Contains(memberActions, action) {
		h.notFound(rc.w, rc.r)
		return
	}
	if !h.parseForm(rc) {
		return
	}
	org, ok := h.org(rc)
	if !ok {
		return
	}
	f := readFilters(rc.r)
	mem, err := h.svc.GetMember(rc.ctx, rc.orgID, invite.UserRef{ID: userID})
	if err != nil {
		h.actionFailed(rc, org, f, err, "")
		return
	}
	who := mem.User.Email
	self := rc.actor != "" && rc.actor == userID
	switch action {
	case "resend":
		if err = h.limitResend(rc, userID); err == nil {
			_, err = h.svc.ResendInvitation(rc.ctx, rc.orgID, userID, rc.actor)
		}
		h.afterAction(rc, org, f, err, "resent", who)
	case "revoke":
		err = h.svc.RevokeInvitation(rc.ctx, rc.orgID, userID, rc.actor)
		h.afterAction(rc, org, f, err, "revoked", who)
	case "deactivate":
		if self {
			h.actionFailed(rc, org, f, nil, rc.lang.T("team.err_self_deact"))
			return
		}
		_, err = h.svc.DeactivateMembership(rc.ctx, rc.orgID, userID, rc.actor)
		h.afterAction(rc, org, f, err, "deactivated", who)
	case "reactivate":
		_, err = h.svc.ReactivateMembership(rc.ctx, rc.orgID, userID, rc.actor)
		h.afterAction(rc, org, f, err, "reactivated", who)
	case "signout":
		// Every session of the member ends (ACTIVE members of this
		// organization only; the event goes to its feed).
		_, err = h.svc.SignOutMemberEverywhere(rc.ctx, rc.orgID, userID, rc.actor)
		h.afterAction(rc, org, f, err, "signedout", who)
	case "roles":
		roles := []string{}
		for _, r := range rc.r.PostForm["roles"] {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
		switch {
		case len(roles) == 0:
			h.actionFailed(rc, org, f, nil, rc.lang.Tf("team.err_no_role", who))
			return
		case self && mem.Membership.HasRole(h.svc.AdminRole()) && !slices.Contains(roles, h.svc.AdminRole()):
			h.actionFailed(rc, org, f, nil, rc.lang.Tf("team.err_self_admin", h.svc.AdminRole()))
			return
		}
		_, err = h.svc.UpdateMembership(rc.ctx, rc.orgID, userID, invite.UpdateRequest{Roles: &roles}, rc.actor)
		h.afterAction(rc, org, f, err, "roles", who)
	case "link":
		link, err := h.svc.InviteLink(rc.ctx, rc.orgID, userID, rc.actor)
		if err != nil {
			h.actionFailed(rc, org, f, err, "")
			return
		}
		v, lerr := h.loadView(rc, org, f)
		if lerr != nil {
			h.serverError(rc, lerr)
			return
		}
		v.Link = &linkView{Email: who, URL: link}
		h.render(rc, http.StatusOK, "members", h.title(rc, org), org.Name, v)
	}
}

func (h *Handler) afterAction(rc *reqCtx, org store.Organization, f filters, err error, done, who string) {
	if err != nil {
		h.actionFailed(rc, org, f, err, "")
		return
	}
	h.back(rc, f, done, who)
}

// actionFailed re-renders the list with an alert (msg, or err's message).
func (h *Handler) actionFailed(rc *reqCtx, org store.Organization, f filters, err error, msg string) {
	status := http.StatusConflict
	if err != nil {
		if httpx.Status(err) >= 500 {
			h.serverError(rc, err)
			return
		}
		httpx.SetRetryAfter(rc.w, err)
		status, msg = errorMessageIn(rc.lang, err)
	}
	v, lerr := h.loadView(rc, org, f)
	if lerr != nil {
		h.serverError(rc, lerr)
		return
	}
	v.Alert = msg
	h.render(rc, status, "members", h.title(rc, org), org.Name, v)
}
