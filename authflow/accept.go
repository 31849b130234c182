package authflow

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/internal/sessionkeys"
	"github.com/invitekit/invitekit/invite"
)

// maxFormBytes bounds the accept and logout form bodies.
const maxFormBytes = 16 << 10

// AcceptHandler serves the accept link: GET shows the invitation (spends
// nothing); POST (behind http.CrossOriginProtection) either starts joining
// — the invitation id goes into the session and the browser to login — or,
// for an expired link, asks the admins for a new invitation. While the
// provider cannot be discovered, joining answers 503 (provider_unavailable)
// instead of redirecting to a login that cannot start; the invitation is
// kept in the session, so the page's "try signing in again" link resumes.
func (f *Flow) AcceptHandler() http.Handler {
	return f.methods(httpx.WithHead(map[string]http.HandlerFunc{
		http.MethodGet:  f.acceptGet,
		http.MethodPost: f.cop.Handler(http.HandlerFunc(f.acceptPost)).ServeHTTP,
	}))
}

func (f *Flow) acceptGet(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		f.renderError(w, r, pageError(httpx.ErrMissingToken, "token",
			"This invitation link is incomplete: it has no token. Open the link from your invitation email again.", nil))
		return
	}
	info, err := f.svc.LookupInvitation(r.Context(), token)
	if err != nil {
		f.renderInviteError(w, r, err, info, token)
		return
	}
	p := f.page("")
	p.OrgLocale = info.Organization.Locale
	p.Lang = f.lang(r, p.OrgLocale)
	p.Title = p.Tf("accept.title", info.Organization.Name)
	p.OrgName = info.Organization.Name
	p.InviterName = info.InviterName
	p.Email = info.Invitation.Email
	p.ExpireTime = info.Invitation.ExpireTime
	p.Token = token
	p.AllowJoinAsSignedIn = f.cfg.AllowJoinAsSignedIn
	f.render(w, r, "accept", p)
}

// renderInviteError renders a LookupInvitation failure with what the page
// can still show: an expired link offers to ask for a new one, a used one
// links to sign-in.
func (f *Flow) renderInviteError(w http.ResponseWriter, r *http.Request, err error, info invite.InvitationInfo, token string) {
	f.renderErrorPage(w, r, inviteError(err), func(p *Page) {
		p.OrgName = info.Organization.Name
		p.OrgLocale = info.Organization.Locale
		switch {
		case errors.Is(err, invite.ErrInviteExpired):
			p.CanRequestNew = true
			p.Token = token
		case errors.Is(err, invite.ErrInviteUsed):
			p.LoginURL = f.cfg.LoginPath
		}
	})
}

func (f *Flow) acceptPost(w http.ResponseWriter, r *http.Request) {
	if !f.allow(ratelimit.RouteAccept, w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		f.renderError(w, r, pageError(httpx.ErrBadRequest, "", "The form could not be read.", err))
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		f.renderError(w, r, pageError(httpx.ErrMissingToken, "token",
			"The form has no invitation token. Open the link from your invitation email again.", nil))
		return
	}
	action := r.PostForm.Get("action")
	switch action {
	case "", "join", "join_as_signed_in":
	case "request_new":
		f.requestNew(w, r, token)
		return
	default:
		f.renderError(w, r, pageError(httpx.ErrBadRequest, "action", "Unknown action.", nil))
		return
	}
	if action == "join_as_signed_in" && !f.cfg.AllowJoinAsSignedIn {
		f.renderError(w, r, pageError(httpx.ErrBadRequest, "action",
			"Joining with a different account is not enabled here.", nil))
		return
	}
	info, err := f.svc.LookupInvitation(r.Context(), token)
	if err != nil {
		f.renderInviteError(w, r, err, info, token)
		return
	}
	join := ""
	if action == "join_as_signed_in" {
		join = "1"
	}
	ctx := r.Context()
	if err := f.sess.put(ctx,
		SessionKeyInvitationID, info.Invitation.ID,
		sessionkeys.InvitationEmail, info.Invitation.Email,
		sessionkeys.JoinAsSignedIn, join,
	); err != nil {
		f.renderError(w, r, err)
		return
	}
	f.log.InfoContext(ctx, "authflow: invitation opened", "org_id", info.Invitation.OrganizationID, "invitation_id", info.Invitation.ID)
	// An organization with its own connection signs the invitee in
	// through it (sso.go).
	login, conn, err := f.loginPathFor(ctx, info.Invitation.OrganizationID)
	if err != nil {
		f.renderError(w, r, err)
		return
	}
	if _, err := f.remoteFor(ctx, conn); err != nil {
		f.renderErrorPage(w, r, err, func(p *Page) { p.LoginURL = login })
		return
	}
	http.Redirect(w, r, login, http.StatusSeeOther)
}

func (f *Flow) requestNew(w http.ResponseWriter, r *http.Request, token string) {
	err := f.svc.RequestNewInvitation(r.Context(), token)
	if errors.Is(err, invite.ErrWrongStatus) {
		// Still valid: just use it.
		http.Redirect(w, r, f.cfg.AcceptPath+"?token="+url.QueryEscape(token), http.StatusSeeOther)
		return
	}
	if err != nil {
		f.renderError(w, r, inviteError(err))
		return
	}
	p := f.page("")
	p.Lang = f.lang(r, "")
	p.Title = p.T("requested.title")
	p.Message = p.T("requested.body")
	f.render(w, r, "message", p)
}
