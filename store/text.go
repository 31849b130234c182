package store

import (
	"fmt"
	"unicode/utf8"
)

// The kit's one rule for text. Every text input — the arguments and
// request fields of invite.Service, JSON bodies, CSV cells and JSON lines
// of a bulk import, path values (orgID, userID, jobID) and query values
// of the HTTP handlers, the organization a middleware resolver finds —
// passes TextProblem before it is used, so no value reaches a store that
// a store could refuse (PostgreSQL refuses NUL and invalid UTF-8; SQLite
// would keep them). A value that breaks the rule is refused with the
// field named; it is never repaired.
//
// The rule:
//
//   - the value is valid UTF-8: bytes that are no UTF-8, overlong
//     encodings ("\xc0\xaf") and encoded surrogates ("\xed\xa0\x80") are
//     refused (where the input is JSON, the raw bytes are checked before
//     decoding, which would replace them with U+FFFD);
//   - it holds no NUL and no other control character: C0 (U+0000–U+001F),
//     DEL (U+007F) and C1 (U+0080–U+009F). Only multi-line text
//     (TextMultiline: metadata values) may hold tab, line feed and
//     carriage return; everything else — ids, emails, names, keys, roles,
//     tokens, path and query values — is one line (TextLine);
//   - it has at most max characters (runes), when max > 0; fields with a
//     limit of their own (names, emails, metadata) refuse longer values
//     with that limit.
//
// Format characters (such as U+200B or the bidirectional marks) are text
// and allowed.

// TextKind says which control characters a value may hold.
type TextKind uint8

const (
	// TextLine is one line of text: no control character at all.
	TextLine TextKind = iota
	// TextMultiline may also hold tab, line feed and carriage return.
	TextMultiline
)

// MaxIDLen bounds an id given as input (organization, user, actor,
// invitation and job ids): longer values cannot be ids of the kit.
const MaxIDLen = 128

// TextProblem is the rule: "" when s is acceptable text of kind with at
// most max characters (max <= 0: no limit), else what is wrong, as a
// predicate for a message ("is not valid UTF-8", "must not contain a NUL
// byte", "must not contain control characters", "must be at most 64
// characters").
func TextProblem(s string, max int, kind TextKind) string {
	n := 0
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return "is not valid UTF-8"
			}
		case r == 0:
			return "must not contain a NUL byte"
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			if kind != TextMultiline || (r != '\t' && r != '\n' && r != '\r') {
				if kind == TextMultiline {
					return "must not contain control characters other than tab and line breaks"
				}
				return "must not contain control characters"
			}
		}
		n++
	}
	if max > 0 && n > max {
		return fmt.Sprintf("must be at most %d characters", max)
	}
	return ""
}

// CheckText applies the rule (TextProblem) to the value of field: nil, or
// a CodeInvalidArgument *FieldError naming field ("userProfile.firstName
// must not contain a NUL byte").
func CheckText(field, s string, max int, kind TextKind) error {
	if p := TextProblem(s, max, kind); p != "" {
		return Invalid(field, "%s %s", orValue(field), p)
	}
	return nil
}

func orValue(field string) string {
	if field == "" {
		return "the value"
	}
	return field
}
