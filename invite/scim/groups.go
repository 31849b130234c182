package scim

import (
	"net/http"
	"strings"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

func (h *Handler) groups(w http.ResponseWriter, r *http.Request, id string) {
	endpoints{list: h.listGroups, create: h.createGroup, get: h.getGroup, put: h.putGroup, del: h.deleteGroup}.serve(w, r, id)
}

func groupETag(g store.DirectoryGroup) string { return etag(g.UpdateTime, "") }

// excludesMembers reports excludedAttributes=members (Okta and Entra ask
// so on large groups).
func excludesMembers(r *http.Request) bool {
	for _, a := range strings.Split(r.URL.Query().Get("excludedAttributes"), ",") {
		if strings.EqualFold(strings.TrimSpace(a), "members") {
			return true
		}
	}
	return false
}

func (h *Handler) renderGroup(g store.DirectoryGroup, withMembers bool) map[string]any {
	out := map[string]any{
		"schemas":     []any{SchemaGroup},
		"id":          g.ID,
		"displayName": g.DisplayName,
		"meta": map[string]any{
			"resourceType": "Group", "created": fmtTime(g.CreateTime), "lastModified": fmtTime(g.UpdateTime),
			"location": h.location("Groups", g.ID), "version": groupETag(g),
		},
	}
	if g.ExternalID != "" {
		out["externalId"] = g.ExternalID
	}
	if withMembers {
		ms := make([]any, len(g.Members))
		for i, id := range g.Members {
			ms[i] = map[string]any{"value": id, "$ref": h.location("Users", id), "type": "User"}
		}
		out["members"] = ms
	}
	return out
}

func (h *Handler) writeGroup(w http.ResponseWriter, r *http.Request, status int, g store.DirectoryGroup) {
	w.Header().Set("ETag", groupETag(g))
	if status == http.StatusCreated {
		w.Header().Set("Location", h.location("Groups", g.ID))
	}
	writeJSON(w, status, h.renderGroup(g, !excludesMembers(r)))
}

func groupInput(res map[string]any) (invite.DirectoryGroupInput, *Error) {
	var in invite.DirectoryGroupInput
	var ok bool
	if v := res["displayname"]; v != nil {
		if in.DisplayName, ok = v.(string); !ok {
			return in, badRequest("invalidValue", "displayName must be a string")
		}
	}
	if v := res["externalid"]; v != nil {
		if in.ExternalID, ok = v.(string); !ok {
			return in, badRequest("invalidValue", "externalId must be a string")
		}
	}
	switch list := res["members"].(type) {
	case nil:
	case []any:
		for _, x := range list {
			el, ok := x.(map[string]any)
			if !ok {
				return in, badRequest("invalidValue", "members must be objects")
			}
			id, ok := el["value"].(string)
			if !ok || id == "" {
				return in, badRequest("invalidValue", "a member needs a value (the user's id)")
			}
			in.Members = append(in.Members, id)
		}
	default:
		return in, badRequest("invalidValue", "members must be an array")
	}
	return in, nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) {
	if g, ok := create(h, w, r, h.groupResource()); ok {
		h.writeGroup(w, r, http.StatusCreated, g)
	}
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, id string) {
	g, err := h.svc.GetDirectoryGroup(r.Context(), orgOf(r), id)
	if err != nil {
		writeError(w, errorOf(err))
		return
	}
	h.writeGroup(w, r, http.StatusOK, g)
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) {
	startIndex, count, e := h.pageParams(r)
	if e != nil {
		writeError(w, e)
		return
	}
	var keep func(store.DirectoryGroup) bool
	if f := r.URL.Query().Get("filter"); f != "" {
		clauses, e := parseFilter(f)
		if e != nil {
			writeError(w, e)
			return
		}
		for _, c := range clauses {
			switch c.attr {
			case "displayname", "externalid", "id", "members", "members.value":
			default:
				writeError(w, badRequest("invalidFilter", "filter on displayName, externalId, id or members"))
				return
			}
		}
		keep = func(g store.DirectoryGroup) bool {
			for _, c := range clauses {
				switch c.attr {
				case "displayname":
					if g.DisplayName != c.value { // caseExact false, but unique exactly: compare as stored
						if !strings.EqualFold(g.DisplayName, c.value) {
							return false
						}
					}
				case "externalid":
					if g.ExternalID != c.value {
						return false
					}
				case "id":
					if g.ID != c.value {
						return false
					}
				default: // members: Okta and Entra ask whether a user is in the group
					found := false
					for _, m := range g.Members {
						found = found || m == c.value
					}
					if !found {
						return false
					}
				}
			}
			return true
		}
	}
	all, err := h.svc.ListDirectoryGroups(r.Context(), orgOf(r))
	if err != nil {
		writeError(w, errorOf(err))
		return
	}
	if keep != nil {
		kept := all[:0]
		for _, g := range all {
			if keep(g) {
				kept = append(kept, g)
			}
		}
		all = kept
	}
	page := window(all, startIndex, count)
	res := make([]any, len(page))
	for i, g := range page {
		res[i] = h.renderGroup(g, !excludesMembers(r))
	}
	writeJSON(w, http.StatusOK, listResponse(len(all), startIndex, res))
}

// groupResource is the Group resource type for POST, PUT, PATCH and DELETE.
func (h *Handler) groupResource() resource[store.DirectoryGroup, invite.DirectoryGroupInput] {
	return resource[store.DirectoryGroup, invite.DirectoryGroupInput]{
		schema: SchemaGroup, get: h.svc.GetDirectoryGroup, etag: groupETag,
		render: func(g store.DirectoryGroup) map[string]any { return h.renderGroup(g, true) },
		input:  groupInput, replace: h.svc.ReplaceDirectoryGroup, create: h.svc.CreateDirectoryGroup,
	}
}

// putGroup is PUT (the group in the answer) and PATCH (204, as Okta and
// Entra expect of a members change, with the new ETag).
func (h *Handler) putGroup(w http.ResponseWriter, r *http.Request, id string, patch bool) {
	g, ok := replace(h, w, r, h.groupResource(), id, patch)
	switch {
	case !ok:
	case patch:
		w.Header().Set("ETag", groupETag(g))
		w.WriteHeader(http.StatusNoContent)
	default:
		h.writeGroup(w, r, http.StatusOK, g)
	}
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, id string) {
	remove(w, r, h.groupResource(), id, h.svc.DeleteDirectoryGroup)
}
