package scim

import (
	"context"
	"net/http"
)

// resource is what POST, PUT, PATCH and DELETE need to know of a resource type
// (User or Group): how to read one, its ETag, its SCIM form (PATCH applies
// operations to it), how to read an input and how to replace it.
type resource[T, In any] struct {
	schema  string // the core schema URN (PATCH paths)
	get     func(ctx context.Context, orgID, id string) (T, error)
	etag    func(T) string
	render  func(T) map[string]any
	input   func(map[string]any) (In, *Error)
	replace func(ctx context.Context, orgID, id string, in In, actorID string) (T, error)
	create  func(ctx context.Context, orgID string, in In, actorID string) (T, error)
}

// create is POST: the body's input, the Service's create. On a refusal
// it has answered and ok is false.
func create[T, In any](h *Handler, w http.ResponseWriter, r *http.Request, rs resource[T, In]) (out T, ok bool) {
	body, e := h.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return out, false
	}
	in, e := rs.input(lowerKeys(body).(map[string]any))
	if e != nil {
		writeError(w, e)
		return out, false
	}
	out, err := rs.create(r.Context(), orgOf(r), in, actorOf(r))
	if err != nil {
		writeError(w, errorOf(err))
		return out, false
	}
	return out, true
}

// current reads the organization's resource id and checks If-Match; on
// a refusal it has answered and ok is false.
func current[T, In any](w http.ResponseWriter, r *http.Request, rs resource[T, In], id string) (cur T, ok bool) {
	cur, err := rs.get(r.Context(), orgOf(r), id)
	if err != nil {
		writeError(w, errorOf(err))
		return cur, false
	}
	if e := checkIfMatch(r, rs.etag(cur)); e != nil {
		writeError(w, e)
		return cur, false
	}
	return cur, true
}

// replace is PUT (patch false: the body is the whole resource) and PATCH
// (the body's operations applied to the current resource): body, current
// resource, If-Match, input, the Service's replace. On a refusal it has
// answered and ok is false.
func replace[T, In any](h *Handler, w http.ResponseWriter, r *http.Request, rs resource[T, In], id string, patch bool) (out T, ok bool) {
	body, e := h.readBody(w, r)
	var ops []patchOp
	if e == nil && patch {
		ops, e = parsePatch(body)
	}
	if e != nil {
		writeError(w, e)
		return out, false
	}
	cur, ok := current(w, r, rs, id)
	if !ok {
		return out, false
	}
	res := lowerKeys(body).(map[string]any)
	if patch {
		res = lowerKeys(rs.render(cur)).(map[string]any)
		if e := applyPatch(res, ops, rs.schema); e != nil {
			writeError(w, e)
			return out, false
		}
	}
	in, e := rs.input(res)
	if e != nil {
		writeError(w, e)
		return out, false
	}
	out, err := rs.replace(r.Context(), orgOf(r), id, in, actorOf(r))
	if err != nil {
		writeError(w, errorOf(err))
		return out, false
	}
	return out, true
}

// remove is DELETE: the current resource, If-Match, then del.
func remove[T, In any](w http.ResponseWriter, r *http.Request, rs resource[T, In], id string, del func(ctx context.Context, orgID, id, actorID string) error) {
	if _, ok := current(w, r, rs, id); !ok {
		return
	}
	if err := del(r.Context(), orgOf(r), id, actorOf(r)); err != nil {
		writeError(w, errorOf(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// endpoints are a resource type's handlers (Users, Groups).
type endpoints struct {
	list, create func(w http.ResponseWriter, r *http.Request)
	get, del     func(w http.ResponseWriter, r *http.Request, id string)
	put          func(w http.ResponseWriter, r *http.Request, id string, patch bool)
}

// serve routes a request for the collection (id "") or one resource;
// any other method is 405 with Allow.
func (ep endpoints) serve(w http.ResponseWriter, r *http.Request, id string) {
	allow := "GET, POST"
	switch m := r.Method; {
	case id == "" && m == http.MethodGet:
		ep.list(w, r)
		return
	case id == "" && m == http.MethodPost:
		ep.create(w, r)
		return
	case id == "":
	case m == http.MethodGet:
		ep.get(w, r, id)
		return
	case m == http.MethodPut, m == http.MethodPatch:
		ep.put(w, r, id, m == http.MethodPatch)
		return
	case m == http.MethodDelete:
		ep.del(w, r, id)
		return
	default:
		allow = "GET, PUT, PATCH, DELETE"
	}
	w.Header().Set("Allow", allow)
	writeError(w, &Error{Status: http.StatusMethodNotAllowed, Detail: "method not allowed"})
}
