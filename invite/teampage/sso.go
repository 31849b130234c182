package teampage

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/invitekit/invitekit/authflow/ssocheck"
	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// The "Single sign-on" section (…/sso): the organization's own OpenID
// Connect connection (its Okta or Entra ID tenant): name, issuer, client
// id and secret (sealed, never shown again), extra scopes, the email
// claim, and whether members must sign in through it. "Test connection"
// fetches the provider's discovery document and keys and says what it
// found; "Save connection" does the same test first and saves only when
// it passes. It exists only when the store keeps SSO connections
// (invite.Service.SSOSupported); elsewhere …/sso is 404. Like every page
// of the handler it trusts the app to let only the organization's admins
// in, and its POSTs are behind the same cross-origin protection.
//
// Below the connection, "Trusted connections" lists the ids of other
// organizations' connections this organization trusts
// (invite.Service.SSOTrust): one is added by the id that organization's
// admin gives (…/sso/trust) and removed again (…/sso/trust/remove). An id
// is never looked up: one of another organization's connection and one no
// connection has are kept alike (an unknown one matches nothing), so the
// form tells nothing about other organizations.

// ssoForm is the connection form with its values and errors.
type ssoForm struct {
	Name, Issuer, ClientID, Scopes, EmailClaim, NameClaim string
	Enforce                                               bool
	Errors                                                map[string]string // by request field: name, issuer, clientId, …
}

// ssoView is the data of the Single sign-on page.
type ssoView struct {
	Base, Title string
	Org         store.Organization
	L           tr
	Conn        *invite.SSOConnection // nil: none yet
	Form        ssoForm
	Trust       []string  // the connection ids the organization trusts
	TrustForm   trustForm // the add form
	Flash       string    // a sealed success message
	Tested      string    // what a passing test found
	Alert       string
	// Fields are the text fields by request name, for the template.
	Fields map[string]ssoField
}

// trustForm is the form that adds a trusted connection id.
type trustForm struct {
	ID, Error string
}

// ssoField is one text field of the form.
type ssoField struct {
	Name, ID, Label, Value, Type, Error string
}

// fields fills v.Fields from v.Form.
func (v *ssoView) fields() {
	f := v.Form
	v.Fields = map[string]ssoField{}
	for _, x := range []ssoField{
		{"name", "ik-sso-name", v.L.T("sso.name"), f.Name, "text", ""},
		{"issuer", "ik-sso-issuer", v.L.T("sso.issuer"), f.Issuer, "url", ""},
		{"clientId", "ik-sso-client", v.L.T("sso.client_id"), f.ClientID, "text", ""},
		{"scopes", "ik-sso-scopes", v.L.T("sso.scopes"), f.Scopes, "text", ""},
		{"emailClaim", "ik-sso-claim", v.L.T("sso.email_claim"), f.EmailClaim, "text", ""},
		{"nameClaim", "ik-sso-name-claim", v.L.T("sso.name_claim"), f.NameClaim, "text", ""},
	} {
		x.Error = f.Errors[x.Name]
		v.Fields[x.Name] = x
	}
}

// ssoFlashContext binds the section's sealed flashes to it.
const ssoFlashContext = "invitekit/teampage/sso-flash"

// ssoRoute serves …/sso and below; rest is the path after it.
func (h *Handler) ssoRoute(rc *reqCtx, rest []string) {
	if !h.svc.SSOSupported() {
		h.notFound(rc.w, rc.r)
		return
	}
	switch {
	case len(rest) == 0 || len(rest) == 1 && rest[0] == "":
		h.route(rc, map[string]func(*reqCtx){http.MethodGet: h.ssoPage, http.MethodPost: func(rc *reqCtx) { h.ssoSubmit(rc, true) }})
	case len(rest) == 1 && rest[0] == "test":
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.ssoSubmit(rc, false) }})
	case len(rest) == 1 && rest[0] == "delete":
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: h.ssoDelete})
	case len(rest) == 1 && rest[0] == "trust":
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.ssoTrust(rc, true) }})
	case len(rest) == 2 && rest[0] == "trust" && rest[1] == "remove":
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.ssoTrust(rc, false) }})
	default:
		h.notFound(rc.w, rc.r)
	}
}

func (h *Handler) ssoView(rc *reqCtx, org store.Organization) (*ssoView, error) {
	v := &ssoView{Base: rc.base, Org: org, L: rc.lang, Form: ssoForm{Errors: map[string]string{}}}
	v.Title = v.L.T("sso.section")
	c, err := h.svc.SSOConnection(rc.ctx, rc.orgID)
	switch {
	case errors.Is(err, invite.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		v.Conn = &c
		v.Form = ssoForm{Name: c.Name, Issuer: c.Issuer, ClientID: c.ClientID, EmailClaim: c.EmailClaim, NameClaim: c.NameClaim,
			Scopes: strings.Join(extraScopes(c.Scopes), " "), Enforce: c.Enforce, Errors: map[string]string{}}
	}
	if v.Trust, err = h.svc.SSOTrust(rc.ctx, rc.orgID); err != nil {
		return nil, err
	}
	return v, nil
}

// extraScopes leaves out the scopes every connection asks for.
func extraScopes(s []string) []string {
	var out []string
	for _, x := range s {
		if x != "openid" && x != "profile" && x != "email" {
			out = append(out, x)
		}
	}
	return out
}

func (h *Handler) renderSSO(rc *reqCtx, status int, org store.Organization, edit func(*ssoView)) {
	v, err := h.ssoView(rc, org)
	if err != nil {
		h.serverError(rc, err)
		return
	}
	if edit != nil {
		edit(v)
	}
	v.fields()
	h.render(rc, status, "sso", v.Title+" · "+org.Name, org.Name, v)
}

func (h *Handler) ssoPage(rc *reqCtx) {
	org, ok := h.org(rc)
	if !ok {
		return
	}
	flash := h.ssoFlash(rc)
	h.renderSSO(rc, http.StatusOK, org, func(v *ssoView) { v.Flash = flash })
}

// ssoRequest reads the form into a request (the secret only when typed).
func ssoRequest(rc *reqCtx) (invite.SSOConnectionRequest, ssoForm) {
	f := rc.r.PostForm
	form := ssoForm{Name: f.Get("name"), Issuer: strings.TrimSpace(f.Get("issuer")), ClientID: strings.TrimSpace(f.Get("clientId")),
		Scopes: f.Get("scopes"), EmailClaim: strings.TrimSpace(f.Get("emailClaim")),
		NameClaim: strings.TrimSpace(f.Get("nameClaim")), Enforce: f.Get("enforce") == "on", Errors: map[string]string{}}
	req := invite.SSOConnectionRequest{Name: form.Name, Issuer: form.Issuer, ClientID: form.ClientID,
		Scopes: strings.Fields(form.Scopes), EmailClaim: form.EmailClaim, NameClaim: form.NameClaim, Enforce: form.Enforce}
	if s := f.Get("clientSecret"); s != "" {
		req.ClientSecret = &s
	}
	return req, form
}

// formOrg reads a POST's form (bounded) and the organization; false when
// it answered already.
func (h *Handler) formOrg(rc *reqCtx) (store.Organization, bool) {
	rc.r.Body = http.MaxBytesReader(rc.w, rc.r.Body, maxFormBytes)
	if err := rc.r.ParseForm(); err != nil {
		h.plainError(rc.w, rc.r, http.StatusBadRequest, "The form could not be read.")
		return store.Organization{}, false
	}
	return h.org(rc)
}

// ssoSubmit tests the connection typed into the form and, when save,
// saves it once the test passed.
func (h *Handler) ssoSubmit(rc *reqCtx, save bool) {
	org, ok := h.formOrg(rc)
	if !ok {
		return
	}
	req, form := ssoRequest(rc)
	err := invite.CheckSSOConnectionRequest(req)
	var res ssocheck.Result
	if err == nil {
		res, err = ssocheck.Check(rc.ctx, nil, req.Issuer)
	}
	if err == nil && save {
		_, err = h.svc.SaveSSOConnection(rc.ctx, rc.orgID, req, rc.actor)
	}
	if err != nil {
		p := httpx.ProblemOf(err)
		if p.Status >= 500 && !errors.Is(err, store.ErrSSOUnsupported) {
			h.serverError(rc, err)
			return
		}
		field := p.Field
		if strings.HasPrefix(field, "scopes") {
			field = "scopes"
		}
		form.Errors[field] = p.Message
		h.renderSSO(rc, p.Status, org, func(v *ssoView) {
			v.Form = form
			v.Alert = p.Message
		})
		return
	}
	if !save {
		h.renderSSO(rc, http.StatusOK, org, func(v *ssoView) {
			v.Form = form
			v.Tested = v.L.Tf("sso.test_ok", res.Keys)
		})
		return
	}
	h.ssoBack(rc, "saved")
}

func (h *Handler) ssoDelete(rc *reqCtx) {
	if _, ok := h.org(rc); !ok {
		return
	}
	err := h.svc.DeleteSSOConnection(rc.ctx, rc.orgID, rc.actor)
	if err != nil && !errors.Is(err, invite.ErrNotFound) {
		h.serverError(rc, err)
		return
	}
	h.ssoBack(rc, "deleted")
}

// trustField is the add form's field (its request name, as errors name it).
const trustField = "connectionId"

// ssoTrust adds (add) or removes the form's connectionId in the
// organization's trusted list. The id only has to be one the kit could
// have made ("ssc_…", the text rule) and not the organization's own
// connection; whether another organization has it is never asked.
func (h *Handler) ssoTrust(rc *reqCtx, add bool) {
	org, ok := h.formOrg(rc)
	if !ok {
		return
	}
	id := strings.TrimSpace(rc.r.PostForm.Get(trustField))
	err := h.checkTrustID(rc, id, add)
	var ids []string
	if err == nil {
		ids, err = h.svc.SSOTrust(rc.ctx, rc.orgID)
	}
	if err == nil {
		switch has := slices.Contains(ids, id); {
		case add && !has:
			err = h.svc.SetSSOTrust(rc.ctx, rc.orgID, append(ids, id), rc.actor)
		case !add && has:
			err = h.svc.SetSSOTrust(rc.ctx, rc.orgID, slices.DeleteFunc(ids, func(x string) bool { return x == id }), rc.actor)
		}
	}
	var fe *invite.FieldError
	switch {
	case errors.As(err, &fe):
		msg := personMessage(rc.lang, fe)
		h.renderSSO(rc, httpx.Status(err), org, func(v *ssoView) {
			v.Alert = msg
			if add {
				v.TrustForm = trustForm{ID: id, Error: msg}
			}
		})
	case err != nil:
		h.serverError(rc, err)
	case add:
		h.ssoBack(rc, "trusted")
	default:
		h.ssoBack(rc, "untrusted")
	}
}

// checkTrustID refuses an id no connection can have and, when adding,
// the organization's own connection (it needs no trust).
func (h *Handler) checkTrustID(rc *reqCtx, id string, add bool) error {
	if err := store.CheckText(trustField, id, store.MaxIDLen, store.TextLine); err != nil {
		return err
	}
	if !strings.HasPrefix(id, "ssc_") || len(id) == len("ssc_") {
		return store.Invalid(trustField, "%s", rc.lang.T("sso.trust_bad_id"))
	}
	if !add {
		return nil
	}
	c, err := h.svc.SSOConnection(rc.ctx, rc.orgID)
	switch {
	case errors.Is(err, invite.ErrNotFound):
		return nil
	case err != nil:
		return err
	case c.ID == id:
		return store.Invalid(trustField, "%s", rc.lang.T("sso.trust_own"))
	}
	return nil
}

// ssoBack redirects to the section with a sealed flash.
func (h *Handler) ssoBack(rc *reqCtx, done string) {
	target := rc.base + "/sso"
	if b, err := h.svc.Sealer().Seal(ssoFlashContext, map[string]string{"done": done}); err == nil {
		target += "?flash=" + base64.RawURLEncoding.EncodeToString(b)
	}
	http.Redirect(rc.w, rc.r, target, http.StatusSeeOther)
}

// ssoFlash is the message of a flash sealed by ssoBack ("" for none).
func (h *Handler) ssoFlash(rc *reqCtx) string {
	raw, err := base64.RawURLEncoding.DecodeString(rc.r.URL.Query().Get("flash"))
	if err != nil || len(raw) == 0 {
		return ""
	}
	parts, err := h.svc.Sealer().Open(ssoFlashContext, raw)
	if err != nil {
		return ""
	}
	switch parts["done"] {
	case "saved", "deleted", "trusted", "untrusted":
		return rc.lang.T("sso." + parts["done"])
	}
	return ""
}
