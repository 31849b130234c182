package scim

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"
)

// maxFilterLen bounds a filter before it is parsed.
const maxFilterLen = 1024

// eqClause is one "attribute eq value" of a filter, the attribute in lower
// case without the core schema's URN ("username", "externalid",
// "emails.value", "emails.type", "displayname", "id", …).
type eqClause struct {
	attr  string
	value string
}

// parseFilter parses a SCIM filter made of "eq" comparisons joined by
// "and" — the filters directories send — into its clauses. Value paths
// count as their clauses (emails[type eq "work" and value eq "x"]), and
// Entra's emails[type eq "work"].value eq "x", which the RFC 7644 grammar
// (and so filter-parser) lacks, is rewritten to that form first. Anything
// else is invalidFilter.
func parseFilter(raw string) ([]eqClause, *Error) {
	if len(raw) > maxFilterLen {
		return nil, badRequest("invalidFilter", "the filter is too long")
	}
	if !utf8.ValidString(raw) {
		return nil, badRequest("invalidFilter", "the filter is not valid UTF-8")
	}
	if strings.ContainsFunc(raw, isControl) {
		return nil, badRequest("invalidFilter", "the filter holds control characters")
	}
	expr, err := filter.ParseFilter([]byte(upperHexEscapes(rewriteValuePathCompare(raw))))
	if err != nil {
		return nil, badRequest("invalidFilter", "the filter is not valid")
	}
	var out []eqClause
	if e := collect(expr, "", &out); e != nil {
		return nil, e
	}
	return out, nil
}

func collect(expr filter.Expression, prefix string, out *[]eqClause) *Error {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		if e.Operator != filter.AND {
			return badRequest("invalidFilter", "only \"and\" is supported between comparisons")
		}
		if err := collect(e.Left, prefix, out); err != nil {
			return err
		}
		return collect(e.Right, prefix, out)
	case *filter.ValuePath:
		if prefix != "" {
			return badRequest("invalidFilter", "nested value paths are not supported")
		}
		return collect(e.ValueFilter, attrName(e.AttributePath)+".", out)
	case *filter.AttributeExpression:
		if e.Operator != filter.EQ {
			return badRequest("invalidFilter", "only the eq operator is supported")
		}
		s, ok := e.CompareValue.(string)
		if !ok {
			return badRequest("invalidFilter", "compare with a string value")
		}
		v := unescape(s)
		if strings.ContainsFunc(v, isControl) {
			return badRequest("invalidFilter", "the filter holds control characters")
		}
		*out = append(*out, eqClause{attr: prefix + attrName(e.AttributePath), value: v})
		return nil
	}
	return badRequest("invalidFilter", "the filter is not supported")
}

// attrName renders a path in lower case without the core schemas' URNs.
func attrName(p filter.AttributePath) string {
	name := strings.ToLower(p.AttributeName)
	if p.SubAttribute != nil {
		name += "." + strings.ToLower(*p.SubAttribute)
	}
	return name
}

// unescape decodes a filter string's JSON escapes (filter-parser keeps
// them as written).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return s
	}
	return out
}

// rewriteValuePathCompare turns attr[filter].sub op value into
// attr[filter and sub op value] outside quoted strings.
func rewriteValuePathCompare(f string) string {
	var b strings.Builder
	inStr := false
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case inStr:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(f) {
				i++
				b.WriteByte(f[i])
			} else if c == '"' {
				inStr = false
			}
			continue
		case c == '"':
			inStr = true
		case c == ']' && i+1 < len(f) && f[i+1] == '.':
			// ].sub SP op SP value
			j := i + 2
			for j < len(f) && (isNameChar(f[j])) {
				j++
			}
			sub := f[i+2 : j]
			k := j
			for k < len(f) && f[k] == ' ' {
				k++
			}
			m := k
			for m < len(f) && isNameChar(f[m]) {
				m++
			}
			op := f[k:m]
			n := m
			for n < len(f) && f[n] == ' ' {
				n++
			}
			end := valueEnd(f, n)
			if sub == "" || op == "" || end <= n {
				b.WriteByte(c)
				continue
			}
			b.WriteString(" and " + sub + " " + op + " " + f[n:end] + "]")
			i = end - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '$'
}

// valueEnd returns the end of the compare value starting at i (a JSON
// string, or a bare word), or i if there is none.
func valueEnd(f string, i int) int {
	if i >= len(f) {
		return i
	}
	if f[i] != '"' {
		j := i
		for j < len(f) && f[j] != ' ' && f[j] != ')' && f[j] != ']' {
			j++
		}
		return j
	}
	for j := i + 1; j < len(f); j++ {
		switch f[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return i
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// upperHexEscapes upper-cases the hex digits of the \uXXXX escapes in f's
// quoted strings: JSON (and so RFC 7644's compValue) allows either case,
// filter-parser only upper case ("\u00e9" would be invalidFilter).
func upperHexEscapes(f string) string {
	if !strings.Contains(f, `\u`) {
		return f
	}
	b := []byte(f)
	inStr := false
	for i := 0; i < len(b); i++ {
		switch {
		case !inStr:
			inStr = b[i] == '"'
		case b[i] == '"':
			inStr = false
		case b[i] == '\\' && i+1 < len(b):
			i++
			if b[i] != 'u' {
				continue
			}
			for j := i + 1; j < len(b) && j <= i+4 && isHex(b[j]); j++ {
				if b[j] >= 'a' {
					b[j] -= 'a' - 'A'
				}
			}
		}
	}
	return string(b)
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
