package devidp

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/invitekit/invitekit/internal/pages"
)

// devStorage is the example storage with the app's post-logout redirect
// URIs registered, so RP-initiated logout can return to the app.
type devStorage struct {
	*storage.Storage
	postLogout []string
}

func (s devStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return devClient{c, s.postLogout}, nil
}

type devClient struct {
	op.Client
	postLogout []string
}

func (c devClient) PostLogoutRedirectURIs() []string { return c.postLogout }

// pagesHandler serves the provider's own pages in the kit's look: the
// login form (it names the app, states the password, pre-fills the
// login_hint) and the signed-out page (with a link back to the app); it
// passes everything else, and a correct login, to next.
type pagesHandler struct {
	next    http.Handler
	st      *storage.Storage
	appName string
	appURL  string
}

var loginBody = template.Must(template.New("login").Parse(`<div class="ik-box">
<h1>{{.Title}}</h1>
<p class="ik-lead">{{.Lead}}</p>
{{if .Error}}<p class="ik-error" role="alert" id="login-error">{{.Error}}</p>{{end}}
<form method="post" action="/login/username">
<input type="hidden" name="id" value="{{.ID}}">
<label for="username">{{.EmailLabel}}</label>
<input id="username" name="username" type="email" autocomplete="username" required value="{{.Hint}}"{{if not .Hint}} autofocus{{end}}>
<label for="password">{{.PasswordLabel}}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required aria-describedby="password-hint"{{if .Hint}} autofocus{{end}}>
<p class="ik-muted" id="password-hint">{{.PasswordHint}}</p>
<button type="submit">{{.Submit}}</button>
</form>
</div>`))

var signedOutBody = template.Must(template.New("out").Parse(`<div class="ik-box">
<h1>{{.Title}}</h1>
<p class="ik-lead" role="status">{{.Body}}</p>
{{if .AppURL}}<p><a class="ik-btn" id="back-to-app" href="{{.AppURL}}">{{.Back}}</a></p>{{end}}
</div>`))

func (h *pagesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/login/username" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		_ = r.ParseForm()
		id := r.FormValue("authRequestID")
		h.login(w, r, http.StatusOK, id, h.loginHint(r.Context(), id), "")
	case r.URL.Path == "/login/username" && r.Method == http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		user := strings.TrimSpace(r.PostForm.Get("username"))
		if r.PostForm.Get("password") != Password || !strings.Contains(user, "@") {
			lang := pages.RequestLang(r, nil, "")
			h.login(w, r, http.StatusUnauthorized, r.PostForm.Get("id"), user, pages.Tf(lang, "dev.wrong", Password))
			return
		}
		h.next.ServeHTTP(w, r)
	case r.URL.Path == "/logged-out":
		h.signedOut(w, r)
	default:
		h.next.ServeHTTP(w, r)
	}
}

func (h *pagesHandler) loginHint(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	ar, err := h.st.AuthRequestByID(ctx, id)
	if err != nil {
		return ""
	}
	if sar, ok := ar.(*storage.AuthRequest); ok {
		return sar.LoginHint
	}
	return ""
}

func (h *pagesHandler) login(w http.ResponseWriter, r *http.Request, status int, id, hint, errMsg string) {
	lang := pages.RequestLang(r, nil, "")
	pw := "<code>" + Password + "</code>"
	var body bytes.Buffer
	_ = loginBody.Execute(&body, map[string]any{
		"Title":         pages.Tf(lang, "dev.title", h.appName),
		"Lead":          template.HTML(pages.Tf(lang, "dev.lead", pw)),
		"Error":         errMsg,
		"ID":            id,
		"Hint":          hint,
		"EmailLabel":    pages.T(lang, "dev.email"),
		"PasswordLabel": pages.T(lang, "dev.password"),
		"PasswordHint":  template.HTML(pages.Tf(lang, "dev.password_hint", pw)),
		"Submit":        pages.T(lang, "dev.submit"),
	})
	h.write(w, status, lang, pages.Tf(lang, "dev.title", h.appName), body.Bytes())
}

func (h *pagesHandler) signedOut(w http.ResponseWriter, r *http.Request) {
	lang := pages.RequestLang(r, nil, "")
	var body bytes.Buffer
	_ = signedOutBody.Execute(&body, map[string]any{
		"Title":  pages.T(lang, "signed_out.title"),
		"Body":   pages.T(lang, "dev.signed_out"),
		"AppURL": h.appURL,
		"Back":   pages.Tf(lang, "dev.back", h.appName),
	})
	h.write(w, http.StatusOK, lang, pages.T(lang, "signed_out.title"), body.Bytes())
}

func (h *pagesHandler) write(w http.ResponseWriter, status int, lang, title string, body []byte) {
	var b bytes.Buffer
	_ = pages.Write(&b, pages.Page{Lang: lang, Title: title, Note: pages.T(lang, "dev.note"), Body: template.HTML(body)})
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Language", lang)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
