package invite

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"strings"
)

// Invitation tokens.
//
// A token is "<invitationID>.<verifier>": the invitation id is the selector
// (it finds the row and grants nothing by itself), the verifier is
// base64url(32 bytes from crypto/rand), 256 bits. The store keeps only
// SHA-256(verifier); a presented verifier is hashed and compared with
// crypto/subtle.ConstantTimeCompare, or, on a store.GuardedAcceptLoginer,
// its hash is compared by the store (a hash of a 256-bit secret: timing
// can reveal only how much of an unknown hash matches, not a verifier). Tokens are never logged, never put in
// events and never stored in clear text (the outbox holds the accept link
// sealed with the kit's secret key).

const (
	verifierBytes = 32
	// verifierLen is the length of base64url(32 bytes) without padding.
	verifierLen = 43
	// maxSelectorLen bounds the invitation id part of a token.
	maxSelectorLen = 64
	// maxTokenLen bounds a whole token before any parsing or hashing.
	maxTokenLen = maxSelectorLen + 1 + verifierLen
)

// newVerifier returns a fresh verifier and its SHA-256 hash.
func newVerifier() (verifier string, hash []byte) {
	var b [verifierBytes]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	verifier = base64.RawURLEncoding.EncodeToString(b[:])
	return verifier, hashVerifier(verifier)
}

// hashVerifier returns SHA-256 of the verifier's text.
func hashVerifier(verifier string) []byte {
	h := sha256.Sum256([]byte(verifier))
	return h[:]
}

// verifierMatches reports, in constant time, whether verifier hashes to want.
func verifierMatches(verifier string, want []byte) bool {
	return subtle.ConstantTimeCompare(hashVerifier(verifier), want) == 1
}

// formatToken joins an invitation id and a verifier into a token.
func formatToken(invitationID, verifier string) string {
	return invitationID + "." + verifier
}

// parseToken splits a token into its invitation id and verifier. It checks
// only the shape; any failure is ErrInvalidToken (never echoing the token).
func parseToken(token string) (invitationID, verifier string, err error) {
	if len(token) > maxTokenLen {
		return "", "", ErrInvalidToken
	}
	id, v, ok := strings.Cut(token, ".")
	if !ok || !validSelector(id) || !validVerifier(v) {
		return "", "", ErrInvalidToken
	}
	return id, v, nil
}

// validSelector accepts ids shaped like store.NewID("inv") output.
func validSelector(id string) bool {
	rest, ok := strings.CutPrefix(id, "inv_")
	if !ok || rest == "" || len(id) > maxSelectorLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validVerifier accepts exactly 43 base64url characters.
func validVerifier(v string) bool {
	if len(v) != verifierLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// acceptLink returns the accept page URL carrying the token as the "token"
// query parameter (other query parameters of AcceptURL are kept): what
// setting "token" in the URL's query and encoding it gives (keys sorted),
// from the parts newLinkParts made once.
func (s *Service) acceptLink(token string) string {
	return s.link.head + url.QueryEscape(token) + s.link.tail
}

// linkParts are an accept link without its token: head ends in "token=".
type linkParts struct{ head, tail string }

// newLinkParts splits the accept URL u around the value of its "token"
// query parameter.
func newLinkParts(u *url.URL) linkParts {
	before, after := url.Values{}, url.Values{}
	for k, vs := range u.Query() {
		switch {
		case k < "token":
			before[k] = vs
		case k > "token":
			after[k] = vs
		}
	}
	bare := *u
	bare.RawQuery, bare.ForceQuery, bare.Fragment, bare.RawFragment = "", false, "", ""
	p := linkParts{head: bare.String() + "?"}
	if len(before) > 0 {
		p.head += before.Encode() + "&"
	}
	p.head += "token="
	if len(after) > 0 {
		p.tail = "&" + after.Encode()
	}
	if u.Fragment != "" {
		p.tail += "#" + u.EscapedFragment()
	}
	return p
}

// TokenFromLink extracts the token from an accept link made by the Service
// (the "token" query parameter). It returns "" when there is none.
func TokenFromLink(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}
