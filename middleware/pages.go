package middleware

import (
	"bytes"
	"net/http"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/pages"
)

// PageLinks are the links of the default refusal pages' next steps. A
// step whose link is empty is not offered; "go home" always is.
type PageLinks struct {
	// Home is the app's home page (default "/").
	Home string
	// Logout is the sign-out page (authflow's LogoutHandler), offered to
	// someone signed in with the wrong account.
	Logout string
	// Organizations is the "My organizations" page, offered to switch to
	// an organization the person belongs to.
	Organizations string
	// OrgDefaultLang, when set, gives an organization's default language
	// (the last choice after the user's and Accept-Language).
	OrgDefaultLang func(r *http.Request) string
}

// writeRefusalPage writes the refusal page for p, chosen by p.Code from
// the error table, in the language the request negotiates.
func (m *Middleware) writeRefusalPage(w http.ResponseWriter, r *http.Request, p httpx.Problem) {
	org := ""
	if m.pages.OrgDefaultLang != nil {
		org = m.pages.OrgDefaultLang(r)
	}
	lang := pages.RequestLang(r, m.locale, org)
	retry := ""
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		retry = returnTo(r)
	}
	rf := pages.Refusal{Lang: lang, Status: p.Status, Code: p.Code, Message: p.Message, Links: pages.Links{
		Home:          m.pages.Home,
		SignIn:        m.LoginURL(r),
		SignOut:       m.pages.Logout,
		Organizations: m.pages.Organizations,
		Retry:         retry,
	}}
	var b bytes.Buffer
	_ = pages.WriteRefusal(&b, rf, "")
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	pages.SetLangHeaders(h, lang)
	w.WriteHeader(p.Status)
	_, _ = w.Write(b.Bytes())
}
