package invite

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/invitekit/invitekit/store"
)

// The checks of an InviteRequest, compiled. Validating a request through
// reflection (checkText's walk, which builds every field's path, and the
// validator's struct walk) is most of what an invite costs the Service, so
// checkInvite first asks these two functions whether the request is
// acceptable; only when one says no does it run the reflective check, whose
// first problem, with its full field path and code, is what the caller gets.
// Each function is a verdict only: it must say yes exactly when its
// reflective counterpart finds nothing (TestInviteChecksMatchReflection
// compares them on generated requests, TestInviteCheckedFields fails when a
// field or tag of InviteRequest or ProfileInput changes).

// inviteTextOK reports whether checkText(req, prefix) returns nil.
func inviteTextOK(req *InviteRequest) bool {
	if !lineOK(req.Email) || !lineOK(req.ExternalID) || !textMapOK(req.Metadata) ||
		store.TextProblem(req.InvitedBy, store.MaxIDLen, store.TextLine) != "" {
		return false
	}
	for _, r := range req.Roles {
		if !lineOK(r) {
			return false
		}
	}
	p := req.UserProfile
	return p == nil || lineOK(p.FirstName) && lineOK(p.LastName) && lineOK(p.Name) && lineOK(p.Locale) &&
		lineOK(p.PhoneNumber) && textMapOK(p.Metadata) && textMapOK(p.CustomAttributes)
}

// lineOK reports whether s is one line of text (store.TextLine).
func lineOK(s string) bool { return store.TextProblem(s, 0, store.TextLine) == "" }

// textMapOK is checkTextMap's verdict: keys are one line, values may span
// lines.
func textMapOK(m map[string]string) bool {
	for k, v := range m {
		if !lineOK(k) || store.TextProblem(v, 0, store.TextMultiline) != "" {
			return false
		}
	}
	return true
}

// inviteTagsOK reports whether the validate tags of req pass
// (s.checkTags(req, prefix) returns nil), for a req whose Email is
// NormalizeEmail's output: a non-empty ASCII address of at most 254
// characters that the "email" tag accepts (TestNormalizedEmailPassesTag).
func (s *Service) inviteTagsOK(req *InviteRequest) bool {
	if req.Email == "" || len(req.Email) > maxEmailLen || !s.rolesOK(req.Roles) ||
		!textUpTo(req.ExternalID, MaxExternalIDLen) || !metadataOK(req.Metadata) {
		return false
	}
	p := req.UserProfile
	return p == nil || textUpTo(p.FirstName, MaxNameLen) && textUpTo(p.LastName, MaxNameLen) &&
		textUpTo(p.Name, MaxDisplayNameLen) && localeOK(p.Locale) && (p.PhoneNumber == "" || isE164(p.PhoneNumber)) &&
		metadataOK(p.Metadata) && metadataOK(p.CustomAttributes)
}

// rolesOK is "dive,role".
func (s *Service) rolesOK(roles []string) bool {
	for _, r := range roles {
		if !s.roleSet[r] {
			return false
		}
	}
	return true
}

// textUpTo is "omitempty,max=n,nocontrol".
func textUpTo(v string, n int) bool {
	return v == "" || utf8.RuneCountInString(v) <= n && !hasControl(v)
}

// localeOK is "omitempty,max=35,bcp47_language_tag".
func localeOK(v string) bool {
	if v == "" {
		return true
	}
	if utf8.RuneCountInString(v) > 35 {
		return false
	}
	_, err := language.Parse(v)
	return err == nil
}

// isE164 is the validator's "e164", ^\+?[1-9]\d{7,14}$.
func isE164(v string) bool {
	v = strings.TrimPrefix(v, "+")
	if len(v) < 8 || len(v) > 15 || v[0] == '0' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// metadataOK is "omitempty,mdcount,dive,keys,mdkey,endkeys,mdvalue".
func metadataOK(m map[string]string) bool {
	if len(m) > MaxMetadataPairs {
		return false
	}
	for k, v := range m {
		if n := utf8.RuneCountInString(k); n < MinMetadataKeyLen || n > MaxMetadataKeyLen {
			return false
		}
		if n := utf8.RuneCountInString(v); n < MinMetadataValLen || n > MaxMetadataValLen {
			return false
		}
	}
	return true
}
