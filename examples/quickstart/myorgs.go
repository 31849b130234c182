package main

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"

	"github.com/invitekit/invitekit/authflow"
	kitpages "github.com/invitekit/invitekit/internal/pages"
	"github.com/invitekit/invitekit/middleware"
)

var myOrgsBody = template.Must(template.New("orgs").Parse(`<div class="ik-box">
<h1>{{.Title}}</h1>
{{if .Orgs}}<p class="ik-lead">{{.Lead}}</p>
<ul class="ik-list" id="my-orgs">{{range .Orgs}}
<li data-org="{{.ID}}"><span><strong>{{.Name}}</strong>{{if .Current}} <span class="ik-muted">({{$.CurrentLabel}})</span>{{end}}</span>
<a class="ik-btn{{if .Current}} ik-secondary{{end}}" href="/orgs/{{.PathID}}/dashboard">{{.Action}}</a></li>{{end}}
</ul>{{else}}<p class="ik-lead">{{.Empty}}</p>{{end}}
</div>`))

// myOrganizations is "My organizations": the signed-in person's ACTIVE
// memberships (Service.ListUserOrganizations), each with a link to switch
// to it; the organization this browser last used is marked.
func (a *app) myOrganizations(w http.ResponseWriter, r *http.Request) {
	userID := a.sessions.GetString(r.Context(), middleware.SessionKeyUserID)
	if userID == "" {
		http.Redirect(w, r, "/login?return_to=%2Forgs", http.StatusSeeOther)
		return
	}
	orgs, err := a.Service.ListUserOrganizations(r.Context(), userID)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	lang := kitpages.Negotiate("", r.Header.Get("Accept-Language"), "")
	last := ""
	if c, err := r.Cookie(authflow.LastOrgCookie); err == nil {
		last = c.Value
	}
	type row struct {
		ID, PathID, Name, Action string
		Current                  bool
	}
	var rows []row
	for _, uo := range orgs {
		cur := uo.Organization.ID == last
		action := kitpages.Tf(lang, "orgs.switch", uo.Organization.Name)
		if cur {
			action = kitpages.Tf(lang, "orgs.open", uo.Organization.Name)
		}
		rows = append(rows, row{uo.Organization.ID, url.PathEscape(uo.Organization.ID), uo.Organization.Name, action, cur})
	}
	var body bytes.Buffer
	_ = myOrgsBody.Execute(&body, map[string]any{
		"Title": kitpages.T(lang, "orgs.title"), "Lead": kitpages.T(lang, "orgs.lead"), "Empty": kitpages.T(lang, "orgs.empty"),
		"CurrentLabel": kitpages.T(lang, "orgs.current"), "Orgs": rows,
	})
	var b bytes.Buffer
	_ = kitpages.Write(&b, kitpages.Page{Lang: lang, Title: kitpages.T(lang, "orgs.title"), Brand: "invitekit quickstart", Body: template.HTML(body.String())})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}
