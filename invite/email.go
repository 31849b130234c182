package invite

import (
	"errors"
	"strings"
)

// Limits of an email address (RFC 5321 §4.5.3.1).
const (
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxDomainLen = 253
	maxLabelLen  = 63
)

// NormalizeEmail returns the canonical form of an email address: surrounding
// white space trimmed, local part and domain lowercased. One user exists per
// normalized email.
//
// It accepts only a bare address (addr-spec) in ASCII: a dot-atom local
// part of at most 64 characters and a domain of at least two LDH labels
// whose last label starts and ends with a letter, at most 254 characters in
// all. It rejects display names ("Ann <ann@example.com>"), quoted local
// parts, comments, IP-literal domains, control characters (CR, LF, …),
// inner white space, more or fewer than one "@", and non-ASCII addresses
// (write internationalized domains in their xn-- form).
//
// The error is a *FieldError for field "email" with a message that says
// what is wrong; it never echoes the input.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("email", "email is required")
	}
	if len(s) > maxEmailLen {
		return "", invalid("email", "email must be at most %d characters", maxEmailLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return "", invalid("email", "email must not contain control characters")
		case c >= 0x80:
			return "", invalid("email", "email must be ASCII (write an internationalized domain in its xn-- form)")
		case c == ' ':
			return "", invalid("email", "email must be a bare address without a display name or spaces")
		case c == '<' || c == '>' || c == '"' || c == '(' || c == ')' || c == ',' || c == ';' || c == ':' || c == '[' || c == ']' || c == '\\':
			return "", invalid("email", "email must be a bare address like name@example.com")
		}
	}
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return "", invalid("email", "email must contain an @")
	}
	if strings.IndexByte(s[at+1:], '@') >= 0 {
		return "", invalid("email", "email must contain exactly one @")
	}
	s = lowerASCII(s) // s is ASCII here
	local, domain := s[:at], s[at+1:]
	if err := checkLocal(local); err != nil {
		return "", invalid("email", "email local part %s", err)
	}
	if err := checkDomain(domain); err != nil {
		return "", invalid("email", "email domain %s", err)
	}
	return s, nil
}

// lowerASCII lowercases the ASCII string s, without a copy when it has no
// upper case letter.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// checkLocal validates a lowercased dot-atom local part.
func checkLocal(local string) error {
	switch {
	case local == "":
		return errors.New("is empty")
	case len(local) > maxLocalLen:
		return errors.New("must be at most 64 characters")
	case local[0] == '.' || local[len(local)-1] == '.':
		return errors.New("must not start or end with a dot")
	case strings.Contains(local, ".."):
		return errors.New("must not contain two dots in a row")
	}
	for i := 0; i < len(local); i++ {
		if !isAtext(local[i]) && local[i] != '.' {
			return errors.New("contains a character that is not allowed")
		}
	}
	return nil
}

// isAtext reports whether c is an RFC 5322 atext character (ASCII).
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// checkDomain validates a lowercased host name of two or more LDH labels.
func checkDomain(domain string) error {
	if domain == "" {
		return errors.New("is empty")
	}
	if len(domain) > maxDomainLen {
		return errors.New("must be at most 253 characters")
	}
	if strings.IndexByte(domain, '.') < 0 {
		return errors.New("must have at least two labels, like example.com")
	}
	var tld string
	for l := range strings.SplitSeq(domain, ".") {
		tld = l
		if l == "" {
			return errors.New("must not have an empty label")
		}
		if len(l) > maxLabelLen {
			return errors.New("labels must be at most 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("labels must not start or end with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return errors.New("may contain only letters, digits, hyphens and dots")
			}
		}
	}
	if !isLetter(tld[0]) || !isLetter(tld[len(tld)-1]) {
		return errors.New("must end in a top-level domain that starts and ends with a letter")
	}
	return nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' }
