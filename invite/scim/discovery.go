package scim

import (
	"net/http"
)

func (h *Handler) serviceProviderConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{SchemaSPConfig},
		"documentationUri": "https://github.com/invitekit/invitekit#directory-sync-scim",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": h.maxRes},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
			"description": "A directory token of the organization, made on its team page (Directory sync).",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": h.base + "/ServiceProviderConfig"},
	})
}

func (h *Handler) resourceTypeList() []any {
	return []any{
		map[string]any{
			"schemas": []string{SchemaResourceType}, "id": "User", "name": "User", "endpoint": "/Users",
			"description": "A member of the organization", "schema": SchemaUser,
			"meta": map[string]any{"resourceType": "ResourceType", "location": h.base + "/ResourceTypes/User"},
		},
		map[string]any{
			"schemas": []string{SchemaResourceType}, "id": "Group", "name": "Group", "endpoint": "/Groups",
			"description": "A directory group (its displayName may map to a role)", "schema": SchemaGroup,
			"meta": map[string]any{"resourceType": "ResourceType", "location": h.base + "/ResourceTypes/Group"},
		},
	}
}

func (h *Handler) resourceTypes(w http.ResponseWriter, r *http.Request, id string) {
	list := h.resourceTypeList()
	if id == "" {
		writeJSON(w, http.StatusOK, listResponse(len(list), 1, list))
		return
	}
	for _, rt := range list {
		if rt.(map[string]any)["id"] == id {
			writeJSON(w, http.StatusOK, rt)
			return
		}
	}
	writeError(w, &Error{Status: http.StatusNotFound, Detail: "no such resource type"})
}

func attr(name, typ string, required bool, mutability, uniqueness string, caseExact bool, sub ...any) map[string]any {
	a := map[string]any{
		"name": name, "type": typ, "multiValued": false, "required": required, "caseExact": caseExact,
		"mutability": mutability, "returned": "default", "uniqueness": uniqueness,
	}
	if len(sub) > 0 {
		a["subAttributes"] = sub
	}
	return a
}

func multi(a map[string]any) map[string]any { a["multiValued"] = true; return a }

func (h *Handler) schemaList() []any {
	user := map[string]any{
		"schemas": []string{SchemaSchema}, "id": SchemaUser, "name": "User", "description": "A member of the organization",
		"attributes": []any{
			attr("userName", "string", true, "readWrite", "server", false),
			attr("externalId", "string", false, "readWrite", "server", true),
			attr("name", "complex", false, "readWrite", "none", false,
				attr("givenName", "string", false, "readWrite", "none", false),
				attr("familyName", "string", false, "readWrite", "none", false),
				attr("formatted", "string", false, "readWrite", "none", false)),
			attr("displayName", "string", false, "readWrite", "none", false),
			attr("locale", "string", false, "readWrite", "none", false),
			multi(attr("emails", "complex", false, "immutable", "none", false,
				attr("value", "string", false, "immutable", "none", false),
				attr("type", "string", false, "immutable", "none", false),
				attr("primary", "boolean", false, "immutable", "none", false))),
			attr("active", "boolean", false, "readWrite", "none", false),
		},
		"meta": map[string]any{"resourceType": "Schema", "location": h.base + "/Schemas/" + SchemaUser},
	}
	group := map[string]any{
		"schemas": []string{SchemaSchema}, "id": SchemaGroup, "name": "Group", "description": "A directory group",
		"attributes": []any{
			attr("displayName", "string", true, "readWrite", "server", false),
			attr("externalId", "string", false, "readWrite", "none", true),
			multi(attr("members", "complex", false, "readWrite", "none", false,
				attr("value", "string", false, "immutable", "none", true),
				attr("$ref", "reference", false, "immutable", "none", true),
				attr("type", "string", false, "immutable", "none", false))),
		},
		"meta": map[string]any{"resourceType": "Schema", "location": h.base + "/Schemas/" + SchemaGroup},
	}
	return []any{user, group}
}

func (h *Handler) schemas(w http.ResponseWriter, r *http.Request, id string) {
	list := h.schemaList()
	if id == "" {
		writeJSON(w, http.StatusOK, listResponse(len(list), 1, list))
		return
	}
	for _, s := range list {
		if s.(map[string]any)["id"] == id {
			writeJSON(w, http.StatusOK, s)
			return
		}
	}
	writeError(w, &Error{Status: http.StatusNotFound, Detail: "no such schema"})
}
