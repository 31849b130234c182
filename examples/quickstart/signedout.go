package main

import (
	"bytes"
	"html/template"
	"net/http"

	kitpages "github.com/invitekit/invitekit/internal/pages"
)

// signedOut is the app's own "you are signed out" page, where sign-out
// returns (authflow's EndSessionRedirect, the provider's
// post_logout_redirect_uri), in the kit's look and the visitor's language.
func signedOut(w http.ResponseWriter, r *http.Request) {
	lang := kitpages.RequestLang(r, nil, "")
	body := template.HTML(`<div class="ik-box"><h1>` + template.HTMLEscapeString(kitpages.T(lang, "signed_out.title")) +
		`</h1><p class="ik-lead" role="status">` + template.HTMLEscapeString(kitpages.T(lang, "signed_out.body")) +
		`</p><ul class="ik-steps"><li><a class="ik-btn" id="sign-in-again" href="/login">` + template.HTMLEscapeString(kitpages.T(lang, "step.signin")) +
		`</a></li><li><a class="ik-btn ik-secondary" href="/">` + template.HTMLEscapeString(kitpages.T(lang, "step.home")) + `</a></li></ul></div>`)
	var b bytes.Buffer
	_ = kitpages.Write(&b, kitpages.Page{Lang: lang, Title: kitpages.T(lang, "signed_out.title"), Brand: "invitekit quickstart", Body: body})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}
