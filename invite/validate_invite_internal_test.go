package invite

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/store/memstore"
)

// TestInviteCheckedFields fails when a field or validate tag of
// InviteRequest or ProfileInput changes: inviteTextOK and inviteTagsOK
// (validate_invite.go) know each field, and a field they do not know would
// go unchecked whenever they say yes. Update them, then this list.
func TestInviteCheckedFields(t *testing.T) {
	want := map[reflect.Type]string{
		reflect.TypeFor[InviteRequest](): `Email string required,max=254,email; ExternalID string omitempty,max=255,nocontrol; ` +
			`UserProfile *invite.ProfileInput ; Metadata map[string]string omitempty,mdcount,dive,keys,mdkey,endkeys,mdvalue; ` +
			`Roles []string dive,role; SendInvitationEmail *bool ; ReturnAcceptLink bool ; InvitedBy string `,
		reflect.TypeFor[ProfileInput](): `FirstName string omitempty,max=100,nocontrol; LastName string omitempty,max=100,nocontrol; ` +
			`Name string omitempty,max=200,nocontrol; Locale string omitempty,max=35,bcp47_language_tag; PhoneNumber string omitempty,e164; ` +
			`Metadata map[string]string omitempty,mdcount,dive,keys,mdkey,endkeys,mdvalue; ` +
			`CustomAttributes map[string]string omitempty,mdcount,dive,keys,mdkey,endkeys,mdvalue`,
	}
	for typ, w := range want {
		var fs []string
		for i := range typ.NumField() {
			f := typ.Field(i)
			fs = append(fs, f.Name+" "+f.Type.String()+" "+f.Tag.Get("validate"))
		}
		if got := strings.Join(fs, "; "); got != w {
			t.Errorf("%v fields changed: update inviteTextOK and inviteTagsOK, then this test\n got %s\nwant %s", typ, got, w)
		}
	}
}

// TestInviteChecksMatchReflection compares the compiled verdicts with the
// reflective checks they stand in for, on requests drawn from values at and
// around every limit.
func TestInviteChecksMatchReflection(t *testing.T) {
	svc, err := New(memstore.New(), Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example.com/accept",
		Roles: []string{"admin", "member"}})
	if err != nil {
		t.Fatal(err)
	}
	long := func(n int, r string) string { return strings.Repeat(r, n) }
	texts := []string{"", "Ann", " Ann ", "a\tb", "a\nb", "a\x00b", "a\x7fb", "a\u0085b", "\xff", "é", "\u200b",
		long(100, "a"), long(101, "a"), long(100, "é"), long(101, "é"), long(200, "b"), long(201, "b"), long(255, "c"), long(256, "c")}
	ids := []string{"", "usr_1", long(128, "u"), long(129, "u"), "usr\n"}
	locales := []string{"", "en", "de-CH", "EN-us", "zz-ZZZZZ", "not a tag", "x", "en-", long(35, "a"), "en-" + long(32, "a"), "i-klingon", "de\x00",
		"en-x-aaaaaaaa-bbbbbbbb-cccccccc-ddd", "en-x-aaaaaaaa-bbbbbbbb-cccccccc-dddd"}
	phones := []string{"", "+14155550100", "14155550100", "+1415555010", "+0415555010", "+1234567", "+12345678", "123456789012345",
		"1234567890123456", "+123456789012345", "++14155550100", "+1415555010a", "+", "+١٢٣٤٥٦٧٨٩", "+14155550100\n"}
	emails := []string{"ann@example.com", "a@b.co", long(64, "a") + "@" + long(63, "b") + "." + long(63, "c") + "." + long(57, "d") + ".com"}
	roles := [][]string{nil, {}, {"member"}, {"admin", "member"}, {"owner"}, {"member", "member"}, {""}, {"member\n"}}
	keys := []string{"ab", "abc", long(25, "k"), long(26, "k"), "ké€", "k\x00y", "ke\ny", "\xffkey"}
	vals := []string{"", "v", long(256, "v"), long(257, "v"), long(256, "é"), "a\nb", "a\tb", "a\x00b", "\xff"}
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func(xs []string) string { return xs[rnd.IntN(len(xs))] }
	meta := func() map[string]string {
		switch rnd.IntN(6) {
		case 0:
			return nil
		case 1:
			return map[string]string{}
		case 2: // the limit on entries
			m := map[string]string{}
			for i := range 20 + rnd.IntN(2) {
				m[fmt.Sprintf("key%d", i)] = "v"
			}
			return m
		}
		m := map[string]string{}
		for range 1 + rnd.IntN(3) {
			m[pick(keys)] = pick(vals)
		}
		return m
	}
	var textYes, tagsYes, tagsNo int
	for i := range 20000 {
		req := InviteRequest{Email: pick(emails), ExternalID: pick(texts), Metadata: meta(), Roles: roles[rnd.IntN(len(roles))], InvitedBy: pick(ids)}
		if rnd.IntN(4) == 0 {
			req.Email = pick(texts)
		}
		if rnd.IntN(3) > 0 {
			req.UserProfile = &ProfileInput{FirstName: pick(texts), LastName: pick(texts), Name: pick(texts), Locale: pick(locales),
				PhoneNumber: pick(phones), Metadata: meta(), CustomAttributes: meta()}
			if rnd.IntN(2) == 0 { // mostly well-formed, so that the other fields decide
				*req.UserProfile = ProfileInput{FirstName: "Ann", Locale: pick(locales), PhoneNumber: pick(phones), Metadata: meta()}
			}
		}
		if rnd.IntN(2) == 0 {
			req.ExternalID, req.InvitedBy = "ext-1", "usr_1"
		}
		want := checkText(&req, "") == nil
		if got := inviteTextOK(&req); got != want {
			t.Fatalf("request %d: inviteTextOK = %v, checkText says %v: %#v %#v", i, got, want, req, req.UserProfile)
		}
		if !want {
			continue
		}
		textYes++
		if _, err := NormalizeEmail(req.Email); err != nil {
			continue // checkInvite stops before the tags
		}
		want = svc.checkTags(&req, "") == nil
		if got := svc.inviteTagsOK(&req); got != want {
			t.Fatalf("request %d: inviteTagsOK = %v, checkTags says %v (%v): %#v %#v", i, got, want, svc.checkTags(&req, ""), req, req.UserProfile)
		}
		if want {
			tagsYes++
		} else {
			tagsNo++
		}
	}
	if textYes < 1000 || tagsYes < 300 || tagsNo < 300 {
		t.Fatalf("too few requests reached the checks: %d text, %d/%d tags", textYes, tagsYes, tagsNo)
	}
}

// TestNormalizedEmailPassesTag: what NormalizeEmail accepts, the "email"
// tag accepts (inviteTagsOK relies on it), for addresses made of every
// character NormalizeEmail allows; and it is the address lowercased.
func TestNormalizedEmailPassesTag(t *testing.T) {
	svc, err := New(memstore.New(), Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example.com/accept"})
	if err != nil {
		t.Fatal(err)
	}
	const local, domain = "abcxyzABZ0189!#$%&'*+-/=?^_`{|}~.", "abcxyzABZ0189-."
	rnd := rand.New(rand.NewPCG(3, 4))
	word := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		return string(b)
	}
	accepted := 0
	for range 50000 {
		addr := word(local, 1+rnd.IntN(8)) + "@" + word(domain, 1+rnd.IntN(12)) + word(".abcz", rnd.IntN(3))
		norm, err := NormalizeEmail(addr)
		if err != nil {
			continue
		}
		accepted++
		if want := strings.ToLower(addr); norm != want {
			t.Fatalf("NormalizeEmail(%q) = %q, want %q", addr, norm, want)
		}
		if err := svc.validate.Var(norm, "email"); err != nil {
			t.Fatalf("NormalizeEmail accepts %q (%q), the email tag does not: %v", addr, norm, err)
		}
	}
	if accepted < 2000 {
		t.Fatalf("only %d generated addresses were accepted", accepted)
	}
}
