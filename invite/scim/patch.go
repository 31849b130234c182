package scim

import (
	"encoding/json"
	"fmt"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// maxPatchOps bounds the operations of one PATCH request.
const maxPatchOps = 1000

// patchOp is one operation of a PatchOp request.
type patchOp struct {
	op    string // add, replace or remove (lower case)
	path  string
	value any
}

// parsePatch checks a PatchOp request body and returns its operations.
func parsePatch(body map[string]any) ([]patchOp, *Error) {
	body = lowerKeys(body).(map[string]any)
	if !hasSchema(body, SchemaPatchOp) {
		return nil, badRequest("invalidSyntax", "schemas must be ["+SchemaPatchOp+"]")
	}
	raw, ok := body["operations"].([]any)
	if !ok || len(raw) == 0 {
		return nil, badRequest("invalidSyntax", "Operations must be a non-empty array")
	}
	if len(raw) > maxPatchOps {
		return nil, badRequest("tooMany", "too many operations")
	}
	ops := make([]patchOp, 0, len(raw))
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, badRequest("invalidSyntax", "each operation must be an object")
		}
		op, _ := m["op"].(string)
		op = strings.ToLower(op)
		if op != "add" && op != "replace" && op != "remove" {
			return nil, badRequest("invalidSyntax", "op must be add, replace or remove")
		}
		path, _ := m["path"].(string)
		if _, isStr := m["path"].(string); m["path"] != nil && !isStr {
			return nil, badRequest("invalidPath", "path must be a string")
		}
		v, hasValue := m["value"]
		if op != "remove" && (!hasValue || v == nil) {
			return nil, badRequest("invalidValue", op+" needs a value")
		}
		if op == "remove" && path == "" {
			return nil, badRequest("noTarget", "remove needs a path")
		}
		ops = append(ops, patchOp{op: op, path: path, value: v})
	}
	return ops, nil
}

func hasSchema(body map[string]any, urn string) bool {
	list, _ := body["schemas"].([]any)
	for _, s := range list {
		if str, ok := s.(string); ok && strings.EqualFold(str, urn) {
			return true
		}
	}
	return false
}

// lowerKeys returns v with every object key in lower case (SCIM attribute
// names are case-insensitive, RFC 7643 §2.1).
func lowerKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ToLower(k)] = lowerKeys(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = lowerKeys(e)
		}
		return out
	}
	return v
}

// applyPatch applies ops, in order, to res (a resource with lower-case
// keys, changed in place). Attributes of schemas other than coreURN (the
// enterprise extension) are accepted and ignored.
func applyPatch(res map[string]any, ops []patchOp, coreURN string) *Error {
	for _, op := range ops {
		v := lowerKeys(op.value)
		if op.path == "" {
			obj, ok := v.(map[string]any)
			if !ok {
				return badRequest("invalidValue", op.op+" without a path needs an object value")
			}
			for k, e := range obj {
				// Entra: {"name.givenName": "…"} and URN-qualified keys.
				if strings.Contains(k, ".") || strings.HasPrefix(k, "urn:") {
					if err := applyPath(res, op.op, k, e, coreURN); err != nil {
						return err
					}
					continue
				}
				setAttr(res, op.op, k, e)
			}
			continue
		}
		if err := applyPath(res, op.op, op.path, v, coreURN); err != nil {
			return err
		}
	}
	return nil
}

// setAttr adds or replaces one top-level attribute: objects merge
// (RFC 7644 §3.5.2.1/3), multi-valued add appends, the rest is replaced.
func setAttr(res map[string]any, op, k string, v any) {
	switch nv := v.(type) {
	case map[string]any:
		if cur, ok := res[k].(map[string]any); ok {
			for sk, sv := range nv {
				cur[sk] = sv
			}
			return
		}
	case []any:
		if cur, ok := res[k].([]any); ok && op == "add" {
			res[k] = appendDistinct(cur, nv)
			return
		}
	}
	res[k] = v
}

func appendDistinct(cur, add []any) []any {
	for _, a := range add {
		dup := false
		for _, c := range cur {
			if jsonEqual(a, c) {
				dup = true
				break
			}
		}
		if !dup {
			cur = append(cur, a)
		}
	}
	return cur
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func applyPath(res map[string]any, op, raw string, v any, coreURN string) *Error {
	p, err := filter.ParsePath([]byte(upperHexEscapes(raw)))
	if err != nil {
		return badRequest("invalidPath", "the path is not valid")
	}
	if pre := p.AttributePath.URIPrefix; pre != nil && !strings.EqualFold(*pre, coreURN) {
		return nil // an extension's attribute: not kept
	}
	if p.AttributePath.URIPrefix == nil && strings.HasPrefix(strings.ToLower(raw), "urn:") {
		return nil // a URN with no attribute of the core schema
	}
	attr := strings.ToLower(p.AttributePath.AttributeName)
	sub := ""
	if p.AttributePath.SubAttribute != nil {
		sub = strings.ToLower(*p.AttributePath.SubAttribute)
	}
	if p.SubAttribute != nil {
		sub = strings.ToLower(*p.SubAttribute)
	}
	if p.ValueExpression == nil {
		if sub == "" {
			if op == "remove" {
				if list, ok := res[attr].([]any); ok && v != nil {
					// Entra: remove members with a value list.
					res[attr] = removeListed(list, v)
					return nil
				}
				delete(res, attr)
				return nil
			}
			setAttr(res, op, attr, v)
			return nil
		}
		cur, _ := res[attr].(map[string]any)
		if cur == nil {
			if op == "remove" {
				return nil
			}
			cur = map[string]any{}
			res[attr] = cur
		}
		if op == "remove" {
			delete(cur, sub)
		} else {
			cur[sub] = v
		}
		return nil
	}
	// attr[filter] or attr[filter].sub on a multi-valued attribute.
	list, _ := res[attr].([]any)
	matched := false
	kept := list[:0:0]
	for _, e := range list {
		el, ok := e.(map[string]any)
		if !ok || !matches(el, p.ValueExpression) {
			kept = append(kept, e)
			continue
		}
		matched = true
		switch {
		case op == "remove" && sub == "":
			continue // drop the element
		case op == "remove":
			delete(el, sub)
		case sub == "":
			obj, ok := v.(map[string]any)
			if !ok {
				return badRequest("invalidValue", "the value of a filtered path must be an object")
			}
			for k, x := range obj {
				el[k] = x
			}
		default:
			el[sub] = v
		}
		kept = append(kept, el)
	}
	if !matched && op != "remove" {
		// Entra replaces emails[type eq "work"].value on a user without
		// one: add the element the filter describes.
		el := map[string]any{}
		if err := seed(el, p.ValueExpression); err != nil {
			return err
		}
		if sub != "" {
			el[sub] = v
		} else if obj, ok := v.(map[string]any); ok {
			for k, x := range obj {
				el[k] = x
			}
		}
		kept = append(kept, el)
	}
	res[attr] = kept
	return nil
}

// removeListed drops from list the elements whose "value" is in v (a list
// of {"value": …} objects).
func removeListed(list []any, v any) []any {
	drop := map[string]bool{}
	vs, _ := v.([]any)
	for _, x := range vs {
		if m, ok := x.(map[string]any); ok {
			drop[fmt.Sprint(m["value"])] = true
		}
	}
	out := list[:0:0]
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && drop[fmt.Sprint(m["value"])] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// matches evaluates a value filter (eq and "and"; strings compare
// case-insensitively) on one element of a multi-valued attribute.
func matches(el map[string]any, e filter.Expression) bool {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		l, r := matches(el, x.Left), matches(el, x.Right)
		if x.Operator == filter.AND {
			return l && r
		}
		return l || r
	case *filter.AttributeExpression:
		got, ok := el[attrName(x.AttributePath)]
		switch x.Operator {
		case filter.PR:
			return ok && got != nil
		case filter.EQ:
			want := x.CompareValue
			if s, isStr := want.(string); isStr {
				want = unescape(s)
			}
			return ok && strings.EqualFold(fmt.Sprint(got), fmt.Sprint(want))
		case filter.NE:
			return !ok || !strings.EqualFold(fmt.Sprint(got), fmt.Sprint(x.CompareValue))
		}
	}
	return false
}

// seed sets the attributes an "eq … and eq …" filter names on el.
func seed(el map[string]any, e filter.Expression) *Error {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		if x.Operator != filter.AND {
			return badRequest("noTarget", "no element matches the path's filter")
		}
		if err := seed(el, x.Left); err != nil {
			return err
		}
		return seed(el, x.Right)
	case *filter.AttributeExpression:
		if x.Operator != filter.EQ {
			return badRequest("noTarget", "no element matches the path's filter")
		}
		v := x.CompareValue
		if s, ok := v.(string); ok {
			v = unescape(s)
		}
		el[attrName(x.AttributePath)] = v
		return nil
	}
	return badRequest("noTarget", "no element matches the path's filter")
}
