package scim

import (
	"net/http"
	"strings"

	"github.com/invitekit/invitekit/invite"
)

func (h *Handler) users(w http.ResponseWriter, r *http.Request, id string) {
	if id == ".search" {
		writeError(w, &Error{Status: http.StatusNotImplemented, Detail: "POST .search is not supported; use GET with filter"})
		return
	}
	endpoints{list: h.listUsers, create: h.createUser, get: h.getUser, put: h.putUser, del: h.deleteUser}.serve(w, r, id)
}

func userETag(u invite.DirectoryUser) string {
	return etag(u.Membership.UpdateTime, "-"+strings.ToLower(string(u.Membership.Status[0]))+"-"+u.UserName)
}

// renderUser is the SCIM User of a member: only the person's id and
// email and this organization's view of them.
func (h *Handler) renderUser(u invite.DirectoryUser) map[string]any {
	m := u.Membership
	out := map[string]any{
		"schemas":  []any{SchemaUser},
		"id":       u.UserID,
		"userName": u.UserName,
		"name": map[string]any{
			"givenName": m.Profile.FirstName, "familyName": m.Profile.LastName, "formatted": m.Profile.Name,
		},
		"displayName": m.Profile.Name,
		"emails":      []any{map[string]any{"value": u.Email, "type": "work", "primary": true}},
		"active":      u.Active(),
		"meta": map[string]any{
			"resourceType": "User", "created": fmtTime(m.JoinTime), "lastModified": fmtTime(m.UpdateTime),
			"location": h.location("Users", u.UserID), "version": userETag(u),
		},
	}
	if m.ExternalID != "" {
		out["externalId"] = m.ExternalID
	}
	if m.Profile.Locale != "" {
		out["locale"] = m.Profile.Locale
	}
	return out
}

func (h *Handler) writeUser(w http.ResponseWriter, status int, u invite.DirectoryUser) {
	w.Header().Set("ETag", userETag(u))
	if status == http.StatusCreated {
		w.Header().Set("Location", h.location("Users", u.UserID))
	}
	writeJSON(w, status, h.renderUser(u))
}

// userInput reads a User resource (lower-case keys) into the Service's input.
func userInput(res map[string]any) (invite.DirectoryUserInput, *Error) {
	var in invite.DirectoryUserInput
	var e *Error
	str := func(m map[string]any, k string) string {
		if e != nil {
			return ""
		}
		switch v := m[k].(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			e = badRequest("invalidValue", k+" must be a string")
			return ""
		}
	}
	in.UserName = str(res, "username")
	in.ExternalID = str(res, "externalid")
	in.DisplayName = str(res, "displayname")
	in.Locale = str(res, "locale")
	if in.Locale == "" {
		in.Locale = str(res, "preferredlanguage")
	}
	switch n := res["name"].(type) {
	case nil:
	case map[string]any:
		in.GivenName, in.FamilyName = str(n, "givenname"), str(n, "familyname")
		if in.DisplayName == "" {
			in.DisplayName = str(n, "formatted")
		}
	default:
		return in, badRequest("invalidValue", "name must be an object")
	}
	switch list := res["emails"].(type) {
	case nil:
	case []any:
		var first, work, primary string
		for _, x := range list {
			el, ok := x.(map[string]any)
			if !ok {
				return in, badRequest("invalidValue", "emails must be objects")
			}
			v := str(el, "value")
			if first == "" {
				first = v
			}
			if strings.EqualFold(str(el, "type"), "work") && work == "" {
				work = v
			}
			if b, _ := boolOf(el["primary"]); b && primary == "" {
				primary = v
			}
		}
		in.Email = firstNonEmpty(primary, work, first)
	default:
		return in, badRequest("invalidValue", "emails must be an array")
	}
	in.Active = true
	if v, ok := res["active"]; ok && v != nil {
		b, ok := boolOf(v)
		if !ok {
			return in, badRequest("invalidValue", "active must be a boolean")
		}
		in.Active = b
	}
	return in, e
}

// boolOf reads a boolean, also as Entra writes it: "True", "False".
func boolOf(v any) (bool, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	if u, ok := create(h, w, r, h.userResource()); ok {
		h.writeUser(w, http.StatusCreated, u)
	}
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, id string) {
	u, err := h.svc.GetDirectoryUser(r.Context(), orgOf(r), id)
	if err != nil {
		writeError(w, errorOf(err))
		return
	}
	h.writeUser(w, http.StatusOK, u)
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	startIndex, count, e := h.pageParams(r)
	if e != nil {
		writeError(w, e)
		return
	}
	f := r.URL.Query().Get("filter")
	var users []invite.DirectoryUser
	var total int
	if f == "" {
		var err error
		if users, total, err = h.svc.ListDirectoryUsers(r.Context(), orgOf(r), startIndex, count); err != nil {
			writeError(w, errorOf(err))
			return
		}
	} else {
		clauses, e := parseFilter(f)
		if e != nil {
			writeError(w, e)
			return
		}
		q, id, e := userQuery(clauses)
		if e != nil {
			writeError(w, e)
			return
		}
		var err error
		if id != "" {
			var u invite.DirectoryUser
			if u, err = h.svc.GetDirectoryUser(r.Context(), orgOf(r), id); err == nil {
				users = []invite.DirectoryUser{u}
				if fs, ferr := h.svc.FindDirectoryUsers(r.Context(), orgOf(r), q); q != (invite.DirectoryQuery{}) && (ferr != nil || len(fs) == 0 || fs[0].UserID != id) {
					users = nil
				}
			} else if errorOf(err).Status == http.StatusNotFound {
				err = nil
			}
		} else {
			users, err = h.svc.FindDirectoryUsers(r.Context(), orgOf(r), q)
		}
		if err != nil {
			writeError(w, errorOf(err))
			return
		}
		total = len(users)
		users = window(users, startIndex, count)
	}
	res := make([]any, len(users))
	for i, u := range users {
		res[i] = h.renderUser(u)
	}
	writeJSON(w, http.StatusOK, listResponse(total, startIndex, res))
}

func window[T any](all []T, startIndex, count int) []T {
	if startIndex > len(all) {
		return nil
	}
	all = all[startIndex-1:]
	return all[:min(count, len(all))]
}

// userQuery turns filter clauses into a DirectoryQuery (and an id).
func userQuery(clauses []eqClause) (invite.DirectoryQuery, string, *Error) {
	var q invite.DirectoryQuery
	var id string
	set := func(dst *string, v string) *Error {
		if *dst != "" && *dst != v {
			return badRequest("invalidFilter", "conflicting comparisons")
		}
		*dst = v
		return nil
	}
	for _, c := range clauses {
		var e *Error
		switch c.attr {
		case "username":
			e = set(&q.UserName, c.value)
		case "externalid":
			e = set(&q.ExternalID, c.value)
		case "id":
			e = set(&id, c.value)
		case "emails", "emails.value":
			e = set(&q.Email, c.value)
		case "emails.type":
			if !strings.EqualFold(c.value, "work") {
				return q, "", badRequest("invalidFilter", "only work emails are kept")
			}
		case "emails.primary":
			if b, _ := boolOf(c.value); !b {
				return q, "", badRequest("invalidFilter", "only the primary email is kept")
			}
		default:
			return q, "", badRequest("invalidFilter", "filter on userName, externalId, id or emails")
		}
		if e != nil {
			return q, "", e
		}
	}
	if q == (invite.DirectoryQuery{}) && id == "" {
		return q, "", badRequest("invalidFilter", "filter on userName, externalId, id or emails")
	}
	return q, id, nil
}

// userResource is the User resource type for POST, PUT, PATCH and DELETE.
func (h *Handler) userResource() resource[invite.DirectoryUser, invite.DirectoryUserInput] {
	return resource[invite.DirectoryUser, invite.DirectoryUserInput]{
		schema: SchemaUser, get: h.svc.GetDirectoryUser, etag: userETag, render: h.renderUser,
		input: userInput, replace: h.svc.ReplaceDirectoryUser, create: h.svc.ProvisionDirectoryUser,
	}
}

func (h *Handler) putUser(w http.ResponseWriter, r *http.Request, id string, patch bool) {
	if u, ok := replace(h, w, r, h.userResource(), id, patch); ok {
		h.writeUser(w, http.StatusOK, u)
	}
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, id string) {
	remove(w, r, h.userResource(), id, h.svc.DeprovisionDirectoryUser)
}
