package inviteapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// Actions of requests to join and email domains.
const (
	ActionJoinRequestsList   Action = "join_requests.list"
	ActionJoinRequestsDecide Action = "join_requests.decide"
	ActionDomainsList        Action = "domains.list"
	ActionDomainsManage      Action = "domains.manage"
)

// joinRoutes are the routes of requests to join and email domains:
//
//	GET    /organizations/{orgID}/join-requests?status=PENDING|APPROVED|DECLINED&pageSize=N
//	GET    /organizations/{orgID}/join-requests/{requestID}
//	POST   /organizations/{orgID}/join-requests/{requestID}/approve  {"roles": ["member"]}
//	POST   /organizations/{orgID}/join-requests/{requestID}/decline  {"reason": "…"}
//	GET    /organizations/{orgID}/domains
//	POST   /organizations/{orgID}/domains                            {"domain": "example.com"}
//	GET    /organizations/{orgID}/domains/{domain}
//	PATCH  /organizations/{orgID}/domains/{domain}                   {"policy": "AUTO_JOIN", "defaultRoles": ["member"]}
//	DELETE /organizations/{orgID}/domains/{domain}
//	POST   /organizations/{orgID}/domains/{domain}/verify
func (h *Handler) joinRoutes() []apiRoute {
	return []apiRoute{
		{"/organizations/{orgID}/join-requests", map[string]http.HandlerFunc{http.MethodGet: h.listJoinRequests}},
		{"/organizations/{orgID}/join-requests/{requestID}", map[string]http.HandlerFunc{http.MethodGet: h.getJoinRequest}},
		{"/organizations/{orgID}/join-requests/{requestID}/approve", map[string]http.HandlerFunc{http.MethodPost: h.approveJoinRequest}},
		{"/organizations/{orgID}/join-requests/{requestID}/decline", map[string]http.HandlerFunc{http.MethodPost: h.declineJoinRequest}},
		{"/organizations/{orgID}/domains", map[string]http.HandlerFunc{http.MethodGet: h.listDomains, http.MethodPost: h.claimDomain}},
		{"/organizations/{orgID}/domains/{domain}", map[string]http.HandlerFunc{http.MethodGet: h.getDomain, http.MethodPatch: h.setDomainPolicy, http.MethodDelete: h.removeDomain}},
		{"/organizations/{orgID}/domains/{domain}/verify", map[string]http.HandlerFunc{http.MethodPost: h.verifyDomain}},
	}
}

// APIJoinRequest is a request to join in the JSON API.
type APIJoinRequest struct {
	ID             string   `json:"id"`
	OrganizationID string   `json:"organizationId"`
	Email          string   `json:"email"`
	Name           string   `json:"name"`
	Message        string   `json:"message"`
	Status         string   `json:"status"`
	Roles          []string `json:"roles"`
	UserID         string   `json:"userId"`
	DecidedBy      string   `json:"decidedBy"`
	Reason         string   `json:"reason"`
	CreateTime     string   `json:"createTime"`
	DecideTime     string   `json:"decideTime"`
}

// NewAPIJoinRequest renders r.
func NewAPIJoinRequest(r store.JoinRequest) APIJoinRequest {
	out := APIJoinRequest{
		ID: r.ID, OrganizationID: r.OrganizationID, Email: r.Email, Name: r.Name, Message: r.Message,
		Status: string(r.Status), Roles: r.Roles, UserID: r.UserID, DecidedBy: r.DecidedBy, Reason: r.Reason,
		CreateTime: formatTime(r.CreateTime),
	}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	if r.DecideTime != nil {
		out.DecideTime = formatTime(*r.DecideTime)
	}
	return out
}

// APIDomain is an email domain claim in the JSON API, with the DNS record
// that proves it.
type APIDomain struct {
	Domain         string    `json:"domain"`
	OrganizationID string    `json:"organizationId"`
	Verified       bool      `json:"verified"`
	VerifiedTime   string    `json:"verifiedTime"`
	CheckTime      string    `json:"checkTime"`
	Policy         string    `json:"policy"`
	DefaultRoles   []string  `json:"defaultRoles"`
	Record         APIRecord `json:"record"`
	CreateTime     string    `json:"createTime"`
	UpdateTime     string    `json:"updateTime"`
}

// APIRecord is the DNS record to publish: TXT at Name with Value.
type APIRecord struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// NewAPIDomain renders d with its record (Service.DomainRecord).
func NewAPIDomain(svc *invite.Service, d store.Domain) APIDomain {
	name, value := svc.DomainRecord(d)
	out := APIDomain{
		Domain: d.Domain, OrganizationID: d.OrganizationID, Verified: d.Verified(), Policy: string(d.Policy),
		DefaultRoles: d.DefaultRoles, Record: APIRecord{Type: "TXT", Name: name, Value: value},
		CreateTime: formatTime(d.CreateTime), UpdateTime: formatTime(d.UpdateTime),
	}
	if out.DefaultRoles == nil {
		out.DefaultRoles = []string{}
	}
	if d.VerifiedTime != nil {
		out.VerifiedTime = formatTime(*d.VerifiedTime)
	}
	if !d.CheckTime.IsZero() {
		out.CheckTime = formatTime(d.CheckTime)
	}
	return out
}

type joinRequestResponse struct {
	JoinRequest APIJoinRequest `json:"joinRequest"`
}

type joinRequestsResponse struct {
	JoinRequests []APIJoinRequest `json:"joinRequests"`
}

type domainResponse struct {
	Domain APIDomain `json:"domain"`
}

type domainsResponse struct {
	Domains []APIDomain `json:"domains"`
}

// pathValue is r's wildcard name, checked by the text rule.
func pathValue(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	return v, httpx.CheckPathValue(name, v)
}

// decodeBody reads and decodes an optional JSON body into v (an empty
// body leaves v as it is).
func (h *Handler) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	return invite.DecodeJSON(body, v)
}

func (h *Handler) listJoinRequests(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	if _, ok := h.authorize(w, r, orgID, ActionJoinRequestsList); !ok {
		return
	}
	q := r.URL.Query()
	limit := 0
	if ps := q.Get("pageSize"); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > invite.MaxListLimit {
			h.fail(w, r, store.Invalid("pageSize", "pageSize must be a number between 1 and %d", invite.MaxListLimit))
			return
		}
		limit = n
	}
	rs, err := h.svc.JoinRequests(r.Context(), orgID, store.JoinRequestStatus(strings.ToUpper(q.Get("status"))), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := joinRequestsResponse{JoinRequests: make([]APIJoinRequest, 0, len(rs))}
	for _, jr := range rs {
		out.JoinRequests = append(out.JoinRequests, NewAPIJoinRequest(jr))
	}
	h.write(w, r, http.StatusOK, out)
}

func (h *Handler) getJoinRequest(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	if _, ok := h.authorize(w, r, orgID, ActionJoinRequestsList); !ok {
		return
	}
	id, err := pathValue(r, "requestID")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	jr, err := h.svc.JoinRequest(r.Context(), orgID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, joinRequestResponse{NewAPIJoinRequest(jr)})
}

func (h *Handler) approveJoinRequest(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Roles []string `json:"roles"`
	}
	h.decideJoinRequest(w, r, &in, func(orgID, id, actor string) (store.JoinRequest, error) {
		_, jr, err := h.svc.ApproveJoinRequest(r.Context(), orgID, id, actor, in.Roles)
		return jr, err
	})
}

func (h *Handler) declineJoinRequest(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reason string `json:"reason"`
	}
	h.decideJoinRequest(w, r, &in, func(orgID, id, actor string) (store.JoinRequest, error) {
		return h.svc.DeclineJoinRequest(r.Context(), orgID, id, actor, in.Reason)
	})
}

// decideJoinRequest authorizes a decision, reads {requestID} and the
// optional body into in, runs decide and answers the request.
func (h *Handler) decideJoinRequest(w http.ResponseWriter, r *http.Request, in any, decide func(orgID, id, actor string) (store.JoinRequest, error)) {
	orgID := httpx.OrgID(r)
	actor, ok := h.authorize(w, r, orgID, ActionJoinRequestsDecide)
	if !ok {
		return
	}
	id, err := pathValue(r, "requestID")
	if err == nil {
		err = h.decodeBody(w, r, in)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	jr, err := decide(orgID, id, actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, joinRequestResponse{NewAPIJoinRequest(jr)})
}

func (h *Handler) listDomains(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	if _, ok := h.authorize(w, r, orgID, ActionDomainsList); !ok {
		return
	}
	ds, err := h.svc.Domains(r.Context(), orgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := domainsResponse{Domains: make([]APIDomain, 0, len(ds))}
	for _, d := range ds {
		out.Domains = append(out.Domains, NewAPIDomain(h.svc, d))
	}
	h.write(w, r, http.StatusOK, out)
}

func (h *Handler) claimDomain(w http.ResponseWriter, r *http.Request) {
	orgID := httpx.OrgID(r)
	actor, ok := h.authorize(w, r, orgID, ActionDomainsManage)
	if !ok {
		return
	}
	var in struct {
		Domain string `json:"domain"`
	}
	body, err := h.readBody(w, r)
	if err == nil {
		err = invite.DecodeJSON(body, &in)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.svc.Organization(r.Context(), orgID); err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.svc.ClaimDomain(r.Context(), orgID, actor, in.Domain)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, domainResponse{NewAPIDomain(h.svc, d)})
}

// domainOf authorizes action and reads the {domain} wildcard.
func (h *Handler) domainOf(w http.ResponseWriter, r *http.Request, action Action) (orgID, actor, domain string, ok bool) {
	orgID = httpx.OrgID(r)
	if actor, ok = h.authorize(w, r, orgID, action); !ok {
		return "", "", "", false
	}
	domain, err := pathValue(r, "domain")
	if err != nil {
		h.fail(w, r, err)
		return "", "", "", false
	}
	return orgID, actor, domain, true
}

func (h *Handler) respondDomain(w http.ResponseWriter, r *http.Request, d store.Domain, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, domainResponse{NewAPIDomain(h.svc, d)})
}

func (h *Handler) getDomain(w http.ResponseWriter, r *http.Request) {
	orgID, _, domain, ok := h.domainOf(w, r, ActionDomainsList)
	if !ok {
		return
	}
	d, err := h.svc.Domain(r.Context(), orgID, domain)
	h.respondDomain(w, r, d, err)
}

func (h *Handler) setDomainPolicy(w http.ResponseWriter, r *http.Request) {
	orgID, actor, domain, ok := h.domainOf(w, r, ActionDomainsManage)
	if !ok {
		return
	}
	var in struct {
		Policy       string   `json:"policy"`
		DefaultRoles []string `json:"defaultRoles"`
	}
	body, err := h.readBody(w, r)
	if err == nil {
		err = invite.DecodeJSON(body, &in)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.svc.SetDomainPolicy(r.Context(), orgID, actor, domain, store.DomainPolicy(in.Policy), in.DefaultRoles)
	h.respondDomain(w, r, d, err)
}

func (h *Handler) removeDomain(w http.ResponseWriter, r *http.Request) {
	orgID, actor, domain, ok := h.domainOf(w, r, ActionDomainsManage)
	if !ok {
		return
	}
	if err := h.svc.RemoveDomain(r.Context(), orgID, actor, domain); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) verifyDomain(w http.ResponseWriter, r *http.Request) {
	orgID, actor, domain, ok := h.domainOf(w, r, ActionDomainsManage)
	if !ok {
		return
	}
	d, err := h.svc.VerifyDomain(r.Context(), orgID, actor, domain)
	if err != nil && httpx.Status(err) == http.StatusServiceUnavailable {
		httpx.SetRetryAfter(w, httpx.RateLimited(time.Minute))
	}
	h.respondDomain(w, r, d, err)
}
