package authflow

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/sessionkeys"
	"github.com/invitekit/invitekit/invite"
)

// DefaultOrganizationsPath is Config.OrganizationsPath's default.
const DefaultOrganizationsPath = "/organizations"

// OrgChoice is one organization on the "My organizations" page.
type OrgChoice struct {
	ID, Name string
	// Href switches to the organization (OrganizationsPath?org=ID).
	Href string
	// Current marks the organization this browser last used.
	Current bool
}

// OrganizationsHandler serves "My organizations" at Config.OrganizationsPath
// (Routes registers it):
//
//   - GET lists the signed-in person's ACTIVE memberships
//     (invite.Service.ListUserOrganizations, by name), each with a link to
//     switch to it; the organization this browser last used (LastOrgCookie)
//     is marked "Current". The page is the template "organizations"
//     (Page.Organizations), in the person's language (Config.Locale).
//   - GET ?org=ID switches: when the person is an ACTIVE member of ID, the
//     organization is remembered (RememberOrganization, and the session's
//     SessionKeyOrgID) and the browser goes to DashboardURL for it (303);
//     otherwise the page answers 403 not_member, naming no organization.
//
// Without a signed-in session (or one ended by "sign out everywhere") it
// redirects to the login route, which comes back here. It changes nothing
// but the remembered choice, which sign-in checks against the person's
// memberships again, so a forged link can only pick another of their own.
func (f *Flow) OrganizationsHandler() http.Handler {
	return f.methods(httpx.WithHead(map[string]http.HandlerFunc{http.MethodGet: f.organizations}))
}

// OrganizationsPath is the "My organizations" route (Config.OrganizationsPath),
// for links such as middleware.PageLinks.Organizations.
func (f *Flow) OrganizationsPath() string { return f.cfg.OrganizationsPath }

func (f *Flow) organizations(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	if err := httpx.CheckQuery(q); err != nil {
		pr := httpx.ProblemOf(err)
		f.renderError(w, r, pageError(err, pr.Field, pr.Message, err))
		return
	}
	userID, err := f.sess.getString(ctx, sessionkeys.UserID)
	if err != nil {
		f.renderError(w, r, err)
		return
	}
	if userID != "" && !f.sessionCurrent(r, userID) {
		userID = ""
	}
	if userID == "" {
		back := f.cfg.OrganizationsPath
		if r.URL.RawQuery != "" {
			back += "?" + q.Encode()
		}
		http.Redirect(w, r, f.LoginURL(back), http.StatusSeeOther)
		return
	}
	orgs, err := f.svc.ListUserOrganizations(ctx, userID)
	if err == nil {
		orgs, err = f.ssoReachable(ctx, orgs) // sso.go
	}
	if err != nil {
		f.renderError(w, r, internalError(err))
		return
	}
	if want := q.Get("org"); want != "" {
		f.switchOrganization(w, r, orgs, want)
		return
	}
	last := ""
	if c, err := r.Cookie(LastOrgCookie); err == nil {
		last = c.Value
	}
	p := f.page("")
	p.Lang = f.lang(r, "")
	p.Title = p.T("orgs.title")
	for _, uo := range orgs {
		p.Organizations = append(p.Organizations, OrgChoice{
			ID: uo.Organization.ID, Name: uo.Organization.Name, Current: uo.Organization.ID == last,
			Href: f.cfg.OrganizationsPath + "?" + url.Values{"org": {uo.Organization.ID}}.Encode(),
		})
	}
	f.render(w, r, "organizations", p)
}

// switchOrganization remembers want and goes to its dashboard, when it is
// one of orgs (the person's ACTIVE memberships).
func (f *Flow) switchOrganization(w http.ResponseWriter, r *http.Request, orgs []invite.UserOrganization, want string) {
	for _, uo := range orgs {
		if uo.Organization.ID != want {
			continue
		}
		if err := f.sess.put(r.Context(), sessionkeys.OrgID, want); err != nil {
			f.renderError(w, r, err)
			return
		}
		RememberOrganization(w, r, want)
		http.Redirect(w, r, f.dashboard(want), http.StatusSeeOther)
		return
	}
	f.renderErrorPage(w, r, pageError(httpx.ErrNotMember, "org", "You are not an active member of this organization.", nil), nil)
}

// sessionCurrent reports whether the session of userID was made in the
// user's current session generation (not ended by "sign out everywhere").
func (f *Flow) sessionCurrent(r *http.Request, userID string) bool {
	had, err := f.sess.getString(r.Context(), sessionkeys.SessionGeneration)
	if err != nil {
		return false
	}
	mine, _ := strconv.ParseInt(had, 10, 64) // missing: 0
	now, err := strconv.ParseInt(f.svc.LoginSessionGeneration(r.Context(), userID), 10, 64)
	return err == nil && mine >= now
}
