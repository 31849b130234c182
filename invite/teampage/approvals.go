package teampage

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// The approval queue (…/approvals): the organization's invites held for
// approval, each with Approve and Reject (with a reason the inviter is
// told). Only approvers see it (invite.Config.ApproverRole; the acting
// user is Config.Actor's; an empty actor is the app and may): anyone else
// gets 403. It exists only when the store implements store.ApprovalStore;
// elsewhere every …/approvals address is 404. Its POSTs are behind the
// page's cross-origin protection.

// approvalsView is the data of the approval queue.
type approvalsView struct {
	L           tr
	Base, Title string
	Org         store.Organization
	Held        []invite.HeldInvite
	Flash       string
	Alert       string
	// Errors are per request id: the reject reason's error.
	Errors map[string]string
	Reason map[string]string // the typed reasons, kept after a refusal
}

const approvalsFlashContext = "invitekit/teampage/approvals-flash"

var approvalsFlashes = map[string]string{
	"approved": "team.appr_done_approved",
	"rejected": "team.appr_done_rejected",
}

// approvalsRoute serves …/approvals and below.
func (h *Handler) approvalsRoute(rc *reqCtx, rest []string) {
	if !h.svc.CanHoldInvites() {
		h.notFound(rc.w, rc.r)
		return
	}
	switch {
	case len(rest) == 0 || len(rest) == 1 && rest[0] == "":
		h.route(rc, map[string]func(*reqCtx){http.MethodGet: h.approvalsPage})
	case len(rest) == 2 && validApprovalID(rest[0]) && (rest[1] == "approve" || rest[1] == "reject"):
		id, action := rest[0], rest[1]
		h.route(rc, map[string]func(*reqCtx){http.MethodPost: func(rc *reqCtx) { h.approvalAction(rc, id, action) }})
	default:
		h.notFound(rc.w, rc.r)
	}
}

// validApprovalID accepts the shape of an approval request's id ("apr_"
// and lower-case letters and digits); anything else is 404 before any read.
func validApprovalID(id string) bool {
	rest, ok := strings.CutPrefix(id, "apr_")
	if !ok || rest == "" || len(id) > 64 {
		return false
	}
	for _, c := range rest {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func (h *Handler) approvalsPage(rc *reqCtx) {
	org, ok := h.org(rc)
	if !ok {
		return
	}
	flash := ""
	if raw, err := base64.RawURLEncoding.DecodeString(rc.r.URL.Query().Get("flash")); err == nil && len(raw) > 0 {
		if parts, err := h.svc.Sealer().Open(approvalsFlashContext, raw); err == nil {
			if key, ok := approvalsFlashes[parts["done"]]; ok {
				flash = rc.lang.Tf(key, parts["who"])
			}
		}
	}
	h.renderApprovals(rc, http.StatusOK, org, func(v *approvalsView) { v.Flash = flash })
}

func (h *Handler) renderApprovals(rc *reqCtx, status int, org store.Organization, edit func(*approvalsView)) {
	held, err := h.svc.HeldInvites(rc.ctx, rc.orgID, rc.actor, 0)
	if errors.Is(err, invite.ErrNotApprover) {
		h.plainError(rc.w, rc.r, http.StatusForbidden, rc.lang.T("team.appr_forbidden"))
		return
	}
	if err != nil {
		h.serverError(rc, err)
		return
	}
	v := &approvalsView{L: rc.lang, Base: rc.base, Title: rc.lang.T("team.appr_title"), Org: org, Held: held,
		Errors: map[string]string{}, Reason: map[string]string{}}
	if edit != nil {
		edit(v)
	}
	h.render(rc, status, "approvals", v.Title+" · "+org.Name, org.Name, v)
}

// approvalAction approves or rejects one held invite, then shows the
// queue again (a redirect with a sealed flash, or the page with the
// refusal).
func (h *Handler) approvalAction(rc *reqCtx, id, action string) {
	rc.r.Body = http.MaxBytesReader(rc.w, rc.r.Body, maxFormBytes)
	if err := rc.r.ParseForm(); err != nil {
		h.plainError(rc.w, rc.r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	org, ok := h.org(rc)
	if !ok {
		return
	}
	var (
		r   store.ApprovalRequest
		err error
	)
	reason := rc.r.PostFormValue("reason")
	if action == "approve" {
		r, _, err = h.svc.ApproveInvite(rc.ctx, rc.orgID, id, rc.actor, invite.ApproveRequest{})
	} else {
		r, err = h.svc.RejectInvite(rc.ctx, rc.orgID, id, rc.actor, invite.RejectRequest{Reason: reason})
	}
	if err != nil {
		h.approvalRefused(rc, org, id, reason, err)
		return
	}
	done := "approved"
	if action == "reject" {
		done = "rejected"
	}
	target := rc.base + "/approvals"
	if b, err := h.svc.Sealer().Seal(approvalsFlashContext, map[string]string{"done": done, "who": r.Email}); err == nil {
		target += "?flash=" + base64.RawURLEncoding.EncodeToString(b)
	}
	http.Redirect(rc.w, rc.r, target, http.StatusSeeOther)
}

// approvalRefused shows the queue with why the decision was refused: the
// reason's error beside its field, or an alert (already decided, expired).
func (h *Handler) approvalRefused(rc *reqCtx, org store.Organization, id, reason string, err error) {
	p := httpx.ProblemOf(err)
	switch {
	case errors.Is(err, invite.ErrNotApprover):
		h.plainError(rc.w, rc.r, http.StatusForbidden, rc.lang.T("team.appr_forbidden"))
		return
	case errors.Is(err, invite.ErrNotFound):
		h.notFound(rc.w, rc.r)
		return
	case p.Status >= 500:
		h.serverError(rc, err)
		return
	}
	h.renderApprovals(rc, p.Status, org, func(v *approvalsView) {
		var fe *store.FieldError
		switch {
		case errors.As(err, &fe) && fe.Field == "reason":
			v.Errors[id] = rc.lang.T("team.appr_reason_required")
			if strings.TrimSpace(reason) != "" {
				v.Errors[id] = rc.lang.T("team.appr_reason_invalid")
			}
			v.Reason[id] = reason
		case errors.Is(err, invite.ErrAlreadyDecided):
			v.Alert = rc.lang.T("team.appr_already_decided")
		case errors.Is(err, invite.ErrApprovalExpired):
			v.Alert = rc.lang.T("team.appr_expired")
		default:
			v.Alert = p.Message
		}
	})
}

// canApprove reports whether the page's actor sees the approval queue.
func (h *Handler) canApprove(rc *reqCtx) bool {
	if !h.svc.CanHoldInvites() {
		return false
	}
	if rc.actor == "" {
		return true
	}
	ok, err := h.svc.CanApprove(rc.ctx, rc.orgID, rc.actor)
	return err == nil && ok
}
