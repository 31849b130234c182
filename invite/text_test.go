package invite_test

import (
	"context"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

// hostileText are values the kit's text rule refuses in any field.
var hostileText = []struct{ name, v string }{
	{"NUL", "ab\x00cd"},
	{"invalid UTF-8", "Jos\xe9"},
	{"overlong", "ab\xc0\xafcd"},
	{"surrogate", "ab\xed\xa0\x80"},
	{"C1 control", "ab\u0085cd"},
	{"escape", "ab\x1b[2Jcd"},
}

// inviteField is one text field of an InviteRequest: where it is, its
// limit, and how to put a value there.
type inviteField struct {
	field string // the full path the refusal names
	max   int    // a value of max+1 characters is too long (0: no own limit)
	set   func(r *invite.InviteRequest, v string)
	// keyField: the value goes into a key; a refused key is named by its map.
	keyField bool
}

func profile(r *invite.InviteRequest) *invite.ProfileInput {
	if r.UserProfile == nil {
		r.UserProfile = &invite.ProfileInput{}
	}
	return r.UserProfile
}

var inviteFields = []inviteField{
	{field: "email", max: 254, set: func(r *invite.InviteRequest, v string) { r.Email = v }},
	{field: "externalId", max: invite.MaxExternalIDLen, set: func(r *invite.InviteRequest, v string) { r.ExternalID = v }},
	{field: "userProfile.firstName", max: invite.MaxNameLen, set: func(r *invite.InviteRequest, v string) { profile(r).FirstName = v }},
	{field: "userProfile.lastName", max: invite.MaxNameLen, set: func(r *invite.InviteRequest, v string) { profile(r).LastName = v }},
	{field: "userProfile.name", max: invite.MaxDisplayNameLen, set: func(r *invite.InviteRequest, v string) { profile(r).Name = v }},
	{field: "userProfile.locale", max: 35, set: func(r *invite.InviteRequest, v string) { profile(r).Locale = v }},
	{field: "userProfile.phoneNumber", max: 16, set: func(r *invite.InviteRequest, v string) { profile(r).PhoneNumber = v }},
	{field: "metadata.plan", max: invite.MaxMetadataValLen, set: func(r *invite.InviteRequest, v string) { r.Metadata = map[string]string{"plan": v} }},
	{field: "metadata", keyField: true, max: invite.MaxMetadataKeyLen, set: func(r *invite.InviteRequest, v string) { r.Metadata = map[string]string{v: "x"} }},
	{field: "userProfile.metadata.tier", max: invite.MaxMetadataValLen, set: func(r *invite.InviteRequest, v string) { profile(r).Metadata = map[string]string{"tier": v} }},
	{field: "userProfile.metadata", keyField: true, max: invite.MaxMetadataKeyLen, set: func(r *invite.InviteRequest, v string) { profile(r).Metadata = map[string]string{v: "x"} }},
	{field: "userProfile.customAttributes.dept", max: invite.MaxMetadataValLen, set: func(r *invite.InviteRequest, v string) {
		profile(r).CustomAttributes = map[string]string{"dept": v}
	}},
	{field: "userProfile.customAttributes", keyField: true, max: invite.MaxMetadataKeyLen, set: func(r *invite.InviteRequest, v string) {
		profile(r).CustomAttributes = map[string]string{v: "x"}
	}},
	{field: "roles[1]", max: 64, set: func(r *invite.InviteRequest, v string) { r.Roles = []string{"member", v} }},
	{field: "invitedBy", max: store.MaxIDLen, set: func(r *invite.InviteRequest, v string) { r.InvitedBy = v }},
}

// oversized is a value one character over max that is otherwise fine for
// the field, and the field an oversized value is refused on.
func oversized(f inviteField) (v, field string) {
	switch f.field {
	case "email":
		return strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".com", f.field
	case "userProfile.phoneNumber":
		return "+" + strings.Repeat("1", f.max), f.field
	}
	v = strings.Repeat("é", f.max+1)
	if f.keyField {
		return v, f.field + "." + v // a key that is only too long is named
	}
	return v, f.field
}

// TestServiceAppliesTextRule sends every hostile value, and an oversized
// one, in every text field of an invite, of an organization and of an
// update, and as every id argument of the Service's methods, on SQLite and
// PostgreSQL (which would refuse NUL and invalid UTF-8 with a 500): each is
// refused with a *FieldError naming the field, and nothing changes.
func TestServiceAppliesTextRule(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			st := sc.Open(t)
			ctx := context.Background()
			e := newEnv(t, st, nil)
			e.Org(t, "org_a")
			admin := e.AddActive(t, "org_a", "boss@example.com", "admin")
			bob := e.Invite(t, "org_a", "bob@example.com")
			orgs := []string{"org_a"}
			emails := []string{"boss@example.com", "bob@example.com", "new@example.com"}
			tried := 0
			refused := func(t *testing.T, what, field string, err error) {
				t.Helper()
				tried++
				assertFieldError(t, err, invite.CodeInvalidArgument, field)
			}

			// Every field of an invite (and of an organization's admin).
			for _, f := range inviteFields {
				values := append([]struct{ name, v string }{}, hostileText...)
				over, overField := oversized(f)
				for _, h := range append(values, struct{ name, v string }{"oversized", over}) {
					want := f.field
					if h.name == "oversized" {
						want = overField
					}
					before := takeSnapshot(t, st, orgs, emails)
					req := invite.InviteRequest{Email: "new@example.com"}
					f.set(&req, h.v)
					_, err := e.Svc.CreateUserAndMembership(ctx, "org_a", req)
					refused(t, f.field+" "+h.name, want, err)
					adminReq := invite.InviteRequest{Email: "new@example.com"}
					f.set(&adminReq, h.v)
					_, _, err = e.Svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_new", Name: "New", Admin: &adminReq})
					refused(t, "admin."+f.field+" "+h.name, "admin."+want, err)
					assertUnchanged(t, before, takeSnapshot(t, st, orgs, emails))
				}
			}

			// Every text argument of every other Service method.
			type call struct {
				field string
				max   int
				run   func(v string) error
			}
			uid := bob.User.ID
			calls := []call{
				{"orgID", store.MaxIDLen, func(v string) error {
					_, err := e.Svc.CreateUserAndMembership(ctx, v, invite.InviteRequest{Email: "new@example.com"})
					return err
				}},
				{"orgID", store.MaxIDLen, func(v string) error { _, err := e.Svc.Organization(ctx, v); return err }},
				{"orgID", store.MaxIDLen, func(v string) error { _, err := e.Svc.ResendInvitation(ctx, v, uid, ""); return err }},
				{"userID", store.MaxIDLen, func(v string) error { _, err := e.Svc.ResendInvitation(ctx, "org_a", v, ""); return err }},
				{"actorID", store.MaxIDLen, func(v string) error { _, err := e.Svc.ResendInvitation(ctx, "org_a", uid, v); return err }},
				{"userID", store.MaxIDLen, func(v string) error { _, err := e.Svc.InviteLink(ctx, "org_a", v, ""); return err }},
				{"orgID", store.MaxIDLen, func(v string) error { return e.Svc.RevokeInvitation(ctx, v, uid, "") }},
				{"userID", store.MaxIDLen, func(v string) error { return e.Svc.RevokeInvitation(ctx, "org_a", v, "") }},
				{"actorID", store.MaxIDLen, func(v string) error { return e.Svc.RevokeInvitation(ctx, "org_a", uid, v) }},
				{"orgID", store.MaxIDLen, func(v string) error { _, err := e.Svc.DeactivateMembership(ctx, v, uid, ""); return err }},
				{"userID", store.MaxIDLen, func(v string) error { _, err := e.Svc.DeactivateMembership(ctx, "org_a", v, ""); return err }},
				{"actorID", store.MaxIDLen, func(v string) error { _, err := e.Svc.ReactivateMembership(ctx, "org_a", uid, v); return err }},
				{"orgID", store.MaxIDLen, func(v string) error {
					_, err := e.Svc.UpdateMembership(ctx, v, uid, invite.UpdateRequest{}, "")
					return err
				}},
				{"userID", store.MaxIDLen, func(v string) error {
					_, err := e.Svc.UpdateMembership(ctx, "org_a", v, invite.UpdateRequest{}, "")
					return err
				}},
				{"actorID", store.MaxIDLen, func(v string) error {
					_, err := e.Svc.UpdateMembership(ctx, "org_a", uid, invite.UpdateRequest{Metadata: map[string]string{"plan": "x"}}, v)
					return err
				}},
				{"metadata.plan", invite.MaxMetadataValLen, func(v string) error {
					_, err := e.Svc.UpdateMembership(ctx, "org_a", uid, invite.UpdateRequest{Metadata: map[string]string{"plan": v}}, "")
					return err
				}},
				{"roles[0]", 64, func(v string) error {
					_, err := e.Svc.UpdateMembership(ctx, "org_a", uid, invite.UpdateRequest{Roles: &[]string{v}}, "")
					return err
				}},
				{"orgID", store.MaxIDLen, func(v string) error { _, err := e.Svc.GetMember(ctx, v, invite.UserRef{ID: uid}); return err }},
				{"userID", store.MaxIDLen, func(v string) error { _, err := e.Svc.GetMember(ctx, "org_a", invite.UserRef{ID: v}); return err }},
				{"email", 254, func(v string) error { _, err := e.Svc.GetMember(ctx, "org_a", invite.UserRef{Email: v}); return err }},
				{"externalId", invite.MaxExternalIDLen, func(v string) error {
					_, err := e.Svc.GetMember(ctx, "org_a", invite.UserRef{ExternalID: v})
					return err
				}},
				{"orgID", store.MaxIDLen, func(v string) error { _, err := e.Svc.ListMembers(ctx, v, store.ListOptions{}); return err }},
				{"q", 256, func(v string) error {
					_, err := e.Svc.ListMembers(ctx, "org_a", store.ListOptions{Query: v})
					return err
				}},
				{"pageToken", 256, func(v string) error {
					_, err := e.Svc.ListMembers(ctx, "org_a", store.ListOptions{After: v})
					return err
				}},
				{"status", 20, func(v string) error {
					_, err := e.Svc.ListMembers(ctx, "org_a", store.ListOptions{Status: store.MembershipStatus(v)})
					return err
				}},
				{"orgID", store.MaxIDLen, func(v string) error { _, err := e.Svc.Events(ctx, v, 0, 10); return err }},
				{"orgID", store.MaxIDLen, func(v string) error { _, err := e.Svc.DeadLetters(ctx, v, 10); return err }},
				{"orgID", store.MaxIDLen, func(v string) error {
					_, err := e.Svc.BulkInvite(ctx, v, strings.NewReader("email\nnew@example.com\n"), invite.BulkOptions{})
					return err
				}},
				{"actorID", store.MaxIDLen, func(v string) error {
					_, err := e.Svc.BulkInvite(ctx, "org_a", strings.NewReader("email\nnew@example.com\n"), invite.BulkOptions{ActorID: v})
					return err
				}},
				{"id", 64, func(v string) error {
					_, _, err := e.Svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: v, Name: "N"})
					return err
				}},
				{"name", invite.MaxDisplayNameLen, func(v string) error {
					_, _, err := e.Svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_new", Name: v})
					return err
				}},
				{"metadata.plan", invite.MaxMetadataValLen, func(v string) error {
					_, _, err := e.Svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_new", Name: "N", Metadata: map[string]string{"plan": v}})
					return err
				}},
				{"createdBy", store.MaxIDLen, func(v string) error {
					_, _, err := e.Svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_new", Name: "N", CreatedBy: v})
					return err
				}},
			}
			for _, c := range calls {
				for _, h := range append(append([]struct{ name, v string }{}, hostileText...), struct{ name, v string }{"oversized", strings.Repeat("x", c.max+1)}) {
					before := takeSnapshot(t, st, append(orgs, "org_new"), emails)
					field := c.field
					if c.field == "status" && h.name == "oversized" {
						field = "status" // not a status
					}
					refused(t, c.field+" "+h.name, field, c.run(h.v))
					assertUnchanged(t, before, takeSnapshot(t, st, append(orgs, "org_new"), emails))
				}
			}
			// An id no one can have is no admin (and reaches no store).
			for _, h := range hostileText {
				if ok, err := e.Svc.IsAdmin(ctx, h.v, admin.User.ID); ok || err != nil {
					t.Errorf("IsAdmin(%q): %v, %v", h.v, ok, err)
				}
				if ok, err := e.Svc.IsAdmin(ctx, "org_a", h.v); ok || err != nil {
					t.Errorf("IsAdmin(user %q): %v, %v", h.v, ok, err)
				}
			}
			t.Logf("%d hostile Service inputs refused", tried)
		})
	}
}

// TestTextRuleKeepsGoodText: what the rule allows is kept as sent (tabs
// and line breaks in metadata values, non-ASCII everywhere, format
// characters), on every store.
func TestTextRuleKeepsGoodText(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			e := newEnv(t, sc.Open(t), nil)
			e.Org(t, "org_a")
			ctx := context.Background()
			md := map[string]string{"note": "line 1\r\nline 2\tend", "naïve": "日本語 \u200b😀"}
			res, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{
				Email: "ok@example.com", ExternalID: "ext-é-1", Metadata: md,
				UserProfile: &invite.ProfileInput{FirstName: "José", LastName: "Ĳssel\u200e", CustomAttributes: map[string]string{"dept": "R&D\n2"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			m, err := e.Svc.GetMember(ctx, "org_a", invite.UserRef{ExternalID: "ext-é-1"})
			if err != nil || m.User.ID != res.User.ID {
				t.Fatalf("GetMember: %+v %v", m, err)
			}
			if m.Membership.Metadata["note"] != md["note"] || m.Membership.Metadata["naïve"] != md["naïve"] ||
				m.Membership.Profile.FirstName != "José" || m.Membership.Profile.CustomAttributes["dept"] != "R&D\n2" {
				t.Fatalf("kept %+v", m.Membership)
			}
		})
	}
}

func TestDecodeNamesFullPaths(t *testing.T) {
	tests := []struct {
		name, body, code, field string
	}{
		{"invalid UTF-8 in a profile field", "{\"email\":\"a@b.co\",\"userProfile\":{\"firstName\":\"Jos\xe9\"}}", invite.CodeMalformedRequest, "userProfile.firstName"},
		{"overlong in a metadata value", "{\"email\":\"a@b.co\",\"metadata\":{\"plan\":\"\xc0\xaf\"}}", invite.CodeMalformedRequest, "metadata.plan"},
		{"invalid UTF-8 in a custom attribute key", "{\"email\":\"a@b.co\",\"userProfile\":{\"customAttributes\":{\"d\xffpt\":\"x\"}}}", invite.CodeMalformedRequest, "userProfile.customAttributes"},
		{"unpaired surrogate escape", `{"email":"a@b.co","externalId":"x\ud800"}`, invite.CodeMalformedRequest, "externalId"},
		{"invalid UTF-8 in a role", "{\"email\":\"a@b.co\",\"roles\":[\"member\",\"\xe9\"]}", invite.CodeMalformedRequest, "roles[1]"},
		{"nested unknown field", `{"email":"a@b.co","userProfile":{"nickname":"n"}}`, invite.CodeMalformedRequest, "userProfile.nickname"},
		{"top-level unknown field", `{"email":"a@b.co","sendInvitationEmails":true}`, invite.CodeMalformedRequest, "sendInvitationEmails"},
		{"metadata value of the wrong type", `{"email":"a@b.co","metadata":{"plan":1}}`, invite.CodeMalformedRequest, "metadata.plan"},
		{"profile field of the wrong type", `{"email":"a@b.co","userProfile":{"firstName":7}}`, invite.CodeMalformedRequest, "userProfile.firstName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := invite.DecodeInviteRequest([]byte(tt.body))
			assertFieldError(t, err, tt.code, tt.field)
		})
	}
	// NUL arrives escaped: decoding keeps it, and the Service refuses it.
	req, err := invite.DecodeInviteRequest([]byte(`{"email":"a@b.co","metadata":{"plan":"x\u0000y"}}`))
	if err != nil || req.Metadata["plan"] != "x\x00y" {
		t.Fatalf("decode: %+v %v", req, err)
	}
	e := newEnv(t, openSQLite(t), nil)
	e.Org(t, "org_a")
	_, err = e.Svc.CreateUserAndMembership(context.Background(), "org_a", req)
	assertFieldError(t, err, invite.CodeInvalidArgument, "metadata.plan")
	// An update names its fields the same way.
	_, err = invite.DecodeUpdateRequest([]byte("{\"metadata\":{\"k\xe9y\":\"v\"}}"))
	assertFieldError(t, err, invite.CodeMalformedRequest, "metadata")
	_, err = invite.DecodeUpdateRequest([]byte(`{"roles":["member"],"metadata":{"plan":"x"},"colour":1}`))
	assertFieldError(t, err, invite.CodeMalformedRequest, "colour")
}
