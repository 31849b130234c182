package inviteapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// Approval before invitation: the held invites and the approval rules.
//
//	GET    /organizations/{orgID}/approvals                        held invites waiting (?pageSize=)
//	GET    /organizations/{orgID}/approvals/{approvalID}           one request, any status
//	POST   /organizations/{orgID}/approvals/{approvalID}/approve   {"roles": [...]} (optional body)
//	POST   /organizations/{orgID}/approvals/{approvalID}/reject    {"reason": "..."}
//	GET    /organizations/{orgID}/approval-rules
//	PUT    /organizations/{orgID}/approval-rules                   {"all", "roles", "inviterRoles", "outsideDomains", "domains"}
//
// The approvals routes also need the acting user to hold
// invite.Config.ApproverRole (403 not_approver); an app-scoped caller
// (actor "") may. Of two approvers deciding at once, the second gets 409
// approval_decided.

// Actions of approval before invitation.
const (
	ActionApprovalsList   Action = "approvals.list"
	ActionApprovalsDecide Action = "approvals.decide"
	ActionRulesGet        Action = "approval_rules.get"
	ActionRulesSet        Action = "approval_rules.set"
)

func (h *Handler) approvalRoutes() []apiRoute {
	return []apiRoute{
		{"/organizations/{orgID}/approvals", map[string]http.HandlerFunc{http.MethodGet: h.listApprovals}},
		{"/organizations/{orgID}/approvals/{approvalID}", map[string]http.HandlerFunc{http.MethodGet: h.getApproval}},
		{"/organizations/{orgID}/approvals/{approvalID}/approve", map[string]http.HandlerFunc{http.MethodPost: h.approve}},
		{"/organizations/{orgID}/approvals/{approvalID}/reject", map[string]http.HandlerFunc{http.MethodPost: h.reject}},
		{"/organizations/{orgID}/approval-rules", map[string]http.HandlerFunc{http.MethodGet: h.getRules, http.MethodPut: h.setRules}},
	}
}

// APIApproval is a held invite (an approval request) in JSON.
type APIApproval struct {
	ID          string   `json:"id"`
	UserID      string   `json:"userId"`
	Email       string   `json:"email"`
	Name        string   `json:"name,omitempty"`
	Roles       []string `json:"roles"`
	InvitedBy   string   `json:"invitedBy"`
	InviterName string   `json:"inviterName,omitempty"`
	Surface     string   `json:"surface"`
	HoldReason  string   `json:"holdReason"`
	Status      string   `json:"status"`
	Expired     bool     `json:"expired"`
	CreateTime  string   `json:"createTime"`
	ExpireTime  string   `json:"expireTime"`
	DecidedBy   string   `json:"decidedBy,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	DecideTime  string   `json:"decideTime,omitempty"`
}

func newAPIApproval(r store.ApprovalRequest, now time.Time) APIApproval {
	a := APIApproval{
		ID: r.ID, UserID: r.UserID, Email: r.Email, Roles: r.Roles, InvitedBy: r.InvitedBy, Surface: r.Surface,
		HoldReason: r.HoldReason, Status: string(r.Status), CreateTime: formatTime(r.CreateTime), ExpireTime: formatTime(r.ExpireTime),
		DecidedBy: r.DecidedBy, Reason: r.Reason,
		Expired: r.Status == store.ApprovalPending && !now.Before(r.ExpireTime),
	}
	if a.Roles == nil {
		a.Roles = []string{}
	}
	if r.DecideTime != nil {
		a.DecideTime = formatTime(*r.DecideTime)
	}
	return a
}

type approvalsResponse struct {
	Approvals []APIApproval `json:"approvals"`
}

type approvalResponse struct {
	Approval APIApproval `json:"approval"`
	// User is the member after an approval (PENDING_INVITE).
	User *APIUser `json:"user,omitempty"`
}

// APIApprovalRules is an organization's approval rules in JSON.
type APIApprovalRules struct {
	All            bool     `json:"all"`
	Roles          []string `json:"roles"`
	InviterRoles   []string `json:"inviterRoles"`
	OutsideDomains bool     `json:"outsideDomains"`
	Domains        []string `json:"domains"`
	Revision       int64    `json:"revision"`
	UpdateTime     string   `json:"updateTime,omitempty"`
}

func newAPIRules(r store.ApprovalRules) APIApprovalRules {
	out := APIApprovalRules{All: r.All, Roles: nonNilList(r.Roles), InviterRoles: nonNilList(r.InviterRoles),
		OutsideDomains: r.OutsideDomains, Domains: nonNilList(r.Domains), Revision: r.Revision}
	if !r.UpdateTime.IsZero() {
		out.UpdateTime = formatTime(r.UpdateTime)
	}
	return out
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (h *Handler) listApprovals(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	actor, ok := h.authorize(w, r, orgID, ActionApprovalsList)
	if !ok {
		return
	}
	limit := 0
	if ps := r.URL.Query().Get("pageSize"); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > invite.MaxListLimit {
			h.fail(w, r, store.Invalid("pageSize", "pageSize must be a number between 1 and %d", invite.MaxListLimit))
			return
		}
		limit = n
	}
	held, err := h.svc.HeldInvites(r.Context(), orgID, actor, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.svc.Now()
	resp := approvalsResponse{Approvals: make([]APIApproval, 0, len(held))}
	for _, hi := range held {
		a := newAPIApproval(hi.ApprovalRequest, now)
		a.Name, a.InviterName = hi.Name, hi.InviterName
		resp.Approvals = append(resp.Approvals, a)
	}
	h.write(w, r, http.StatusOK, resp)
}

func (h *Handler) getApproval(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	actor, ok := h.authorize(w, r, orgID, ActionApprovalsList)
	if !ok {
		return
	}
	ar, err := h.svc.ApprovalRequest(r.Context(), orgID, r.PathValue("approvalID"), actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, approvalResponse{Approval: newAPIApproval(ar, h.svc.Now())})
}

// decideBody reads an optional JSON body (empty is {}).
func (h *Handler) decideBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return true
	}
	body, err := h.readBody(w, r)
	if err == nil && len(body) > 0 {
		err = invite.DecodeJSON(body, v)
	}
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	return true
}

func (h *Handler) approve(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	actor, ok := h.authorize(w, r, orgID, ActionApprovalsDecide)
	if !ok {
		return
	}
	var req invite.ApproveRequest
	if !h.decideBody(w, r, &req) {
		return
	}
	ar, m, err := h.svc.ApproveInvite(r.Context(), orgID, r.PathValue("approvalID"), actor, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	resp := approvalResponse{Approval: newAPIApproval(ar, h.svc.Now())}
	if u, err := h.svc.GetMember(r.Context(), orgID, invite.UserRef{ID: m.UserID}); err == nil {
		au := h.render(u.User, u.Membership)
		resp.User = &au
	}
	h.write(w, r, http.StatusOK, resp)
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	actor, ok := h.authorize(w, r, orgID, ActionApprovalsDecide)
	if !ok {
		return
	}
	var req invite.RejectRequest
	if !h.decideBody(w, r, &req) {
		return
	}
	ar, err := h.svc.RejectInvite(r.Context(), orgID, r.PathValue("approvalID"), actor, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, approvalResponse{Approval: newAPIApproval(ar, h.svc.Now())})
}

func (h *Handler) getRules(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	if _, ok := h.authorize(w, r, orgID, ActionRulesGet); !ok {
		return
	}
	rules, err := h.svc.ApprovalRules(r.Context(), orgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, newAPIRules(rules))
}

func (h *Handler) setRules(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	actor, ok := h.authorize(w, r, orgID, ActionRulesSet)
	if !ok {
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in invite.ApprovalRulesInput
	if err := invite.DecodeJSON(body, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	rules, err := h.svc.SetApprovalRules(r.Context(), orgID, in, actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, newAPIRules(rules))
}
