package authflow

import (
	"net/http"

	"github.com/invitekit/invitekit/store"
)

// LastOrgCookie names the cookie that remembers the organization a person
// last used in this browser (see RememberOrganization). It holds only an
// organization id, which sign-in checks against the person's ACTIVE
// memberships, so a forged value can only pick another of their own.
const LastOrgCookie = "invitekit_last_org"

// RememberOrganization records orgID as the organization this browser
// last used; call it from a page of the organization (the dashboard). A
// returning member with several organizations then lands on that one
// after sign-in, not on the first. The cookie outlives sign-out.
func RememberOrganization(w http.ResponseWriter, r *http.Request, orgID string) {
	if orgID == "" || len(orgID) > store.MaxIDLen {
		return
	}
	if c, err := r.Cookie(LastOrgCookie); err == nil && c.Value == orgID {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: LastOrgCookie, Value: orgID, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

// landingOrg is the organization a sign-in lands on: the one this browser
// last used when it is among ms (the ACTIVE memberships), else the first.
func landingOrg(r *http.Request, ms []store.Membership) string {
	if len(ms) == 0 {
		return ""
	}
	if c, err := r.Cookie(LastOrgCookie); err == nil {
		for _, m := range ms {
			if m.OrganizationID == c.Value {
				return m.OrganizationID
			}
		}
	}
	return ms[0].OrganizationID
}
