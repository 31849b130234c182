package webhookapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/invitekit/invitekit/internal/httpx"
)

// ErrPreconditionFailed: a PATCH or DELETE whose If-Match names no
// current entity tag of the endpoint (412 precondition_failed); nothing
// was written.
var ErrPreconditionFailed = httpx.ErrPreconditionFailed

// etag is the entity tag of an endpoint at revision rev: a strong tag
// (RFC 9110 8.8.3), the revision quoted. Every change of what the API
// shows of an endpoint counts its revision up, so one tag is one
// representation, byte for byte.
func etag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }

// ifMatch returns the condition of r's If-Match (RFC 9110 13.1.1), nil
// when it has none. The condition accepts a revision whose etag one of
// the listed tags equals by the strong comparison (a weak tag, W/"…",
// never does), or any revision for "*". A field that is not a list of
// entity tags matches nothing: the request is refused as if the endpoint
// had changed, never carried out without its condition.
func ifMatch(r *http.Request) func(rev int64) bool {
	fields := r.Header.Values("If-Match")
	if len(fields) == 0 {
		return nil
	}
	var tags []string
	for _, f := range fields {
		list, ok := entityTags(f)
		if !ok {
			return func(int64) bool { return false }
		}
		tags = append(tags, list...)
	}
	return func(rev int64) bool {
		for _, t := range tags {
			if t == "*" || t == etag(rev) {
				return true
			}
		}
		return false
	}
}

// entityTags parses one If-Match field value: "*" or a comma-separated
// list of entity-tags (empty elements allowed, RFC 9110 5.6.1). Weak tags
// are left out (they never match strongly); ok is false when the value
// is neither.
func entityTags(v string) (tags []string, ok bool) {
	if strings.TrimSpace(v) == "*" {
		return []string{"*"}, true
	}
	for {
		v = strings.TrimLeft(v, " \t,")
		if v == "" {
			return tags, true
		}
		weak := strings.HasPrefix(v, "W/")
		if weak {
			v = v[2:]
		}
		if !strings.HasPrefix(v, `"`) {
			return nil, false
		}
		end := strings.IndexByte(v[1:], '"')
		if end < 0 {
			return nil, false
		}
		tag := v[:end+2]
		for _, c := range []byte(tag[1 : len(tag)-1]) {
			if c != 0x21 && (c < 0x23 || c == 0x7f) { // etagc: %x21 / %x23-7E / obs-text
				return nil, false
			}
		}
		if !weak {
			tags = append(tags, tag)
		}
		v = strings.TrimLeft(v[end+2:], " \t")
		if v != "" && v[0] != ',' {
			return nil, false
		}
	}
}
