package mailer

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
)

// Header errors. A value that would change a mail's header structure is
// refused, never sent.
var (
	// ErrHeaderInjection reports a header name or value that contains a
	// line break or another control character.
	ErrHeaderInjection = errors.New("mailer: header value contains a line break or control character")
	// ErrBadAddress reports a From or To value that is not exactly one
	// RFC 5322 address.
	ErrBadAddress = errors.New("mailer: not a single valid email address")
	// ErrBadMessageID reports a Message-ID that is not of the form left@right.
	ErrBadMessageID = errors.New("mailer: invalid message id")
	// ErrReservedHeader reports an extra header that the mailer sets itself
	// (From, To, Subject, Message-ID, Date, MIME and routing headers).
	ErrReservedHeader = errors.New("mailer: header is set by the mailer and cannot be overridden")
)

// maxHeaderText bounds a sanitized subject or display name (in runes). Mail
// clients show far less; the bound keeps a hostile value from producing a
// huge header.
const maxHeaderText = 250

// SanitizeHeaderText turns s into a single-line header text: every control
// character (CR, LF, TAB, NUL, DEL, Unicode line and paragraph separators …)
// becomes a space, runs of spaces collapse into one, the result is trimmed and
// cut to 250 runes. Use it for user-influenced text that ends up in a header
// (subject, display name). It never fails.
func SanitizeHeaderText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	n := 0
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsControl(r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) || unicode.IsSpace(r) {
			space = true
			continue
		}
		need := 1
		if space && b.Len() > 0 {
			need = 2
		}
		if n+need > maxHeaderText {
			break
		}
		if need == 2 {
			b.WriteByte(' ')
			n++
		}
		space = false
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// hasControl reports whether s contains any control character or Unicode
// line/paragraph separator.
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return true
		}
	}
	return false
}

// ParseAddress parses exactly one address such as "ann@example.com" or
// "Ann <ann@example.com>". A value with a raw control character (a CR/LF
// header injection attempt) is refused with ErrHeaderInjection; a list, a
// group or garbage with ErrBadAddress. The display name of the result is
// passed through SanitizeHeaderText, so it is safe to put into a header.
func ParseAddress(s string) (*mail.Address, error) {
	if hasControl(s) {
		return nil, ErrHeaderInjection
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadAddress)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAddress, err)
	}
	// A decoded display name (RFC 2047) may carry line breaks again.
	a.Name = SanitizeHeaderText(a.Name)
	if hasControl(a.Address) || strings.ContainsAny(a.Address, " <>,;\"") || !strings.Contains(a.Address, "@") {
		return nil, fmt.Errorf("%w: %q", ErrBadAddress, a.Address)
	}
	return a, nil
}

// checkMessageID validates a Message-ID given without angle brackets.
func checkMessageID(id string) error {
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || len(id) > 250 {
		return fmt.Errorf("%w: %q", ErrBadMessageID, id)
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("<>\"\\()[],;:", r) {
			return fmt.Errorf("%w: %q", ErrBadMessageID, id)
		}
	}
	return nil
}

// isReservedHeader reports whether the mailer sets the header itself, so
// that Message.Headers may not set it.
func isReservedHeader(name string) bool {
	switch strings.ToLower(name) {
	case "from", "to", "cc", "bcc", "subject", "message-id", "date", "mime-version",
		"content-type", "content-transfer-encoding", "sender", "return-path",
		"received", "dkim-signature":
		return true
	}
	return false
}

// checkHeader validates one extra header of Message.Headers.
func checkHeader(name, value string) error {
	if name == "" || len(name) > 76 {
		return fmt.Errorf("%w: header name %q", ErrHeaderInjection, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("%w: header name %q", ErrHeaderInjection, name)
		}
	}
	if isReservedHeader(name) {
		return fmt.Errorf("%w: %s", ErrReservedHeader, name)
	}
	if hasControl(value) {
		return fmt.Errorf("%w: header %s", ErrHeaderInjection, name)
	}
	return nil
}
