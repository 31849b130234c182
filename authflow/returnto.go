package authflow

import (
	"net/url"

	"github.com/invitekit/invitekit/internal/httpx"
)

// maxReturnTo bounds a return_to value.
const maxReturnTo = 2048

// CheckReturnTo validates a post-login redirect target. Only a path on
// this site is allowed: it must start with a single "/", contain only
// printable ASCII (no spaces, no control characters, no backslash), and
// parse without a scheme, host or user info. So "//evil.com",
// "https://evil.com", "/\evil.com" and "/\t/evil.com" are all refused.
// An empty value is allowed and means "the dashboard".
func CheckReturnTo(s string) error {
	bad := func(msg string) error {
		return pageError(httpx.ErrReturnToInvalid, "return_to", msg, nil)
	}
	if s == "" {
		return nil
	}
	if len(s) > maxReturnTo {
		return bad("return_to is too long.")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '\\' {
			return bad("return_to must be a relative path without spaces, control characters or backslashes.")
		}
	}
	if s[0] != '/' || (len(s) > 1 && s[1] == '/') {
		return bad("return_to must be a relative path on this site, starting with a single \"/\".")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return bad("return_to must be a relative path on this site.")
	}
	return nil
}
