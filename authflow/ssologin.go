package authflow

import (
	"net/http"
	"strings"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/invite"
)

// EmailFirstHandler serves the email-first sign-in page (GET, at
// LoginPath + "/sso"): without ?email= it asks for the person's work
// email; with it, the organization that verified the email's domain
// (invite.Service.OrganizationForVerifiedDomain) is looked up, and when it
// has its own SSO connection the browser goes to LoginPath?org=<id>
// (login_hint = the email), otherwise to the app's provider. return_to is
// kept (a relative path only). The page changes nothing, so it is a GET
// form; it says the same for an unknown domain as for a domain without a
// connection (both go to the app's provider).
func (f *Flow) EmailFirstHandler() http.Handler {
	return f.methods(httpx.WithHead(map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
		if !f.allow(ratelimit.RouteLogin, w, r) {
			return
		}
		q := r.URL.Query()
		returnTo := q.Get("return_to")
		if len(q["return_to"]) > 1 || CheckReturnTo(returnTo) != nil {
			f.renderError(w, r, pageError(httpx.ErrReturnToInvalid, "return_to", "return_to must be a relative path on this site.", nil))
			return
		}
		p := f.page("")
		p.Lang = f.lang(r, "")
		p.Title = p.T("sso.title")
		p.ReturnTo = returnTo
		raw, asked := q["email"]
		if !asked {
			f.render(w, r, "sso_email", p)
			return
		}
		email, err := invite.NormalizeEmail(strings.Join(raw, ""))
		if err != nil || len(raw) != 1 {
			p.Status = http.StatusUnprocessableEntity
			p.Email = truncate(strings.Join(raw, ""), 254)
			p.Message = p.T("sso.invalid")
			f.render(w, r, "sso_email", p)
			return
		}
		orgID := ""
		if org, _, err := f.svc.OrganizationForVerifiedDomain(r.Context(), email); err == nil {
			if conn, err := f.connection(r.Context(), org.ID); err == nil && conn != nil {
				orgID = org.ID
			}
		}
		target := f.loginURLFor(orgID, returnTo)
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		http.Redirect(w, r, target+sep+"login_hint="+urlQuery(email), http.StatusSeeOther)
	}}))
}
