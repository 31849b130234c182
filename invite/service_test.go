package invite_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

func TestNewConfig(t *testing.T) {
	st := memstore.New()
	ok := invite.Config{SecretKey: testKey, AcceptURL: acceptURL}
	tests := []struct {
		name   string
		mutate func(*invite.Config)
		errHas string
	}{
		{"defaults", func(*invite.Config) {}, ""},
		{"no key", func(c *invite.Config) { c.SecretKey = nil }, "SecretKey"},
		{"short key", func(c *invite.Config) { c.SecretKey = []byte("short") }, "SecretKey"},
		{"no accept url", func(c *invite.Config) { c.AcceptURL = "" }, "AcceptURL"},
		{"relative accept url", func(c *invite.Config) { c.AcceptURL = "/accept" }, "AcceptURL"},
		{"ftp accept url", func(c *invite.Config) { c.AcceptURL = "ftp://x.example/accept" }, "AcceptURL"},
		{"bad role name", func(c *invite.Config) { c.Roles = []string{"admin", "Bad Role"} }, "invalid role"},
		{"duplicate role", func(c *invite.Config) { c.Roles = []string{"admin", "admin"} }, "duplicate"},
		{"admin role not in roles", func(c *invite.Config) { c.Roles = []string{"member"} }, "AdminRole"},
		{"default role unknown", func(c *invite.Config) { c.DefaultRoles = []string{"owner"} }, "DefaultRoles"},
		{"negative ttl", func(c *invite.Config) { c.InviteTTL = -time.Hour }, "InviteTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			svc, err := invite.New(st, cfg)
			if tt.errHas == "" {
				if err != nil || svc == nil {
					t.Fatalf("New: %v", err)
				}
				roles := svc.Roles()
				if len(roles) != 2 || roles[0] != (store.Role{ID: "role_admin", Name: "admin"}) || roles[1].Name != "member" {
					t.Fatalf("default roles = %+v", roles)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("New err = %v, want it to mention %q", err, tt.errHas)
			}
		})
	}
	if _, err := invite.New(nil, ok); err == nil {
		t.Fatal("New(nil store) succeeded")
	}
}

func TestCreateUserAndMembershipInvite(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		inviter := e.AddActive(t, "org_a", "boss@example.com", "admin")

		res, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{
			Email:       "  Ann.Lee@Example.COM ",
			ExternalID:  "crm-1",
			UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee", Locale: "de_ch"},
			Metadata:    map[string]string{"plan": "free"},
			Roles:       []string{"admin", "member", "admin"},
			InvitedBy:   inviter.User.ID,
		})
		if err != nil {
			t.Fatalf("CreateUserAndMembership: %v", err)
		}
		u, m := res.User, res.Membership
		if u.Email != "ann.lee@example.com" || u.ExternalID != "" || !res.UserCreated {
			t.Errorf("user = %+v created=%v (an organization's external id is not the app-scoped one)", u, res.UserCreated)
		}
		// The organization's view of the person lives on the membership.
		if m.ExternalID != "crm-1" || m.Profile.FirstName != "Ann" || m.Profile.LastName != "Lee" || m.Profile.Name != "Ann Lee" ||
			m.Profile.Locale != "de-CH" || m.UserMetadata["plan"] != "free" {
			t.Errorf("membership view = ext %q profile %+v user metadata %v", m.ExternalID, m.Profile, m.UserMetadata)
		}
		if u.Profile.Name != "Ann Lee" || u.Profile.Locale != "de-CH" {
			t.Errorf("profile name/locale = %q/%q, want Ann Lee/de-CH", u.Profile.Name, u.Profile.Locale)
		}
		if u.Metadata["plan"] != "free" || m.Metadata["plan"] != "free" {
			t.Errorf("metadata user=%v membership=%v", u.Metadata, m.Metadata)
		}
		if m.Status != store.StatusPendingInvite || strings.Join(m.Roles, ",") != "admin,member" {
			t.Errorf("membership status=%s roles=%v", m.Status, m.Roles)
		}
		if want := e.Clock.Now().Add(invite.DefaultInviteTTL); !m.InviteExpireTime.Equal(want) {
			t.Errorf("expire = %v, want %v (15 days)", m.InviteExpireTime, want)
		}
		if res.AcceptLink != "" {
			t.Errorf("AcceptLink = %q without ReturnAcceptLink", res.AcceptLink)
		}
		if m.InvitedBy != inviter.User.ID || m.PrimaryIdentityProvider != invite.IdentityProviderUnspecified {
			t.Errorf("membership = %+v", m)
		}

		// One outbox mail with the documented data and a sealed link that works.
		msgs := e.Queued(t, "org_a")
		if len(msgs) != 1 {
			t.Fatalf("queued = %d, want 1", len(msgs))
		}
		msg := msgs[0]
		if msg.Kind != store.MailInvitation || msg.To != "ann.lee@example.com" || msg.MessageID != msg.ID+"@invitekit" {
			t.Errorf("msg = %+v", msg)
		}
		wantData := map[string]string{
			"org_id": "org_a", "org_name": "Org org_a", "first_name": "Ann", "last_name": "Lee", "name": "Ann Lee",
			"inviter_name": "boss@example.com", "email": "ann.lee@example.com", "locale": "de-CH",
			"expire_time": m.InviteExpireTime.UTC().Format(time.RFC3339),
		}
		for k, v := range wantData {
			if msg.Data[k] != v {
				t.Errorf("Data[%s] = %q, want %q", k, msg.Data[k], v)
			}
		}
		link := openLink(t, msg)
		if !strings.HasPrefix(link, acceptURL+"?token=inv_") {
			t.Fatalf("sealed link = %q", link)
		}
		for k, v := range msg.Data {
			if strings.Contains(v, invite.TokenFromLink(link)) {
				t.Errorf("Data[%s] holds the token", k)
			}
		}
		info, err := e.Svc.LookupInvitation(ctx, invite.TokenFromLink(link))
		if err != nil || info.User.ID != u.ID || info.Organization.ID != "org_a" || info.InviterName != "boss@example.com" {
			t.Fatalf("LookupInvitation = %+v, %v", info, err)
		}
		if info.Invitation.VerifierHash != nil {
			t.Errorf("LookupInvitation exposes the verifier hash")
		}

		// The event records actor, user and data.
		ev := e.LastEvent(t, "org_a")
		if ev.Type != store.EventMembershipInvited || ev.ActorID != inviter.User.ID || ev.UserID != u.ID ||
			ev.Data["email"] != "ann.lee@example.com" || ev.Data["roles"] != "admin,member" || ev.Data["delivery"] != "email" {
			t.Errorf("event = %+v", ev)
		}
		if got := e.ChangeCalls(); got[len(got)-1] != "org_a/"+u.ID {
			t.Errorf("OnMembershipChange calls = %v", got)
		}
	})
}

func TestCreateUserAndMembershipModes(t *testing.T) {
	no, yes := false, true
	tests := []struct {
		name       string
		send       *bool
		link       bool
		notify     bool
		wantStatus store.MembershipStatus
		wantKinds  []string
		wantEvent  string
		wantLink   bool
	}{
		{"default sends", nil, false, false, store.StatusPendingInvite, []string{store.MailInvitation}, store.EventMembershipInvited, false},
		{"send and link", &yes, true, false, store.StatusPendingInvite, []string{store.MailInvitation}, store.EventMembershipInvited, true},
		{"link only", &no, true, false, store.StatusPendingInvite, nil, store.EventMembershipInvited, true},
		{"direct add", &no, false, false, store.StatusActive, nil, store.EventMembershipAdded, false},
		{"direct add with notice", &no, false, true, store.StatusActive, []string{store.MailAdded}, store.EventMembershipAdded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, memstore.New(), func(c *invite.Config) { c.NotifyDirectAdd = tt.notify })
			e.Org(t, "org_a")
			res, err := e.Svc.CreateUserAndMembership(context.Background(), "org_a", invite.InviteRequest{
				Email: "ann@example.com", SendInvitationEmail: tt.send, ReturnAcceptLink: tt.link,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Membership.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", res.Membership.Status, tt.wantStatus)
			}
			if strings.Join(res.Membership.Roles, ",") != "member" {
				t.Errorf("roles = %v, want the default [member]", res.Membership.Roles)
			}
			var kinds []string
			for _, m := range e.Queued(t, "org_a") {
				kinds = append(kinds, m.Kind)
				if m.Kind == store.MailAdded && m.Sealed != nil {
					t.Errorf("MailAdded carries sealed data")
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantKinds, ",") {
				t.Errorf("queued kinds = %v, want %v", kinds, tt.wantKinds)
			}
			if ev := e.LastEvent(t, "org_a"); ev.Type != tt.wantEvent {
				t.Errorf("event = %s, want %s", ev.Type, tt.wantEvent)
			}
			if (res.AcceptLink != "") != tt.wantLink {
				t.Errorf("AcceptLink = %q, want present=%v", res.AcceptLink, tt.wantLink)
			}
			if tt.wantLink {
				if _, err := e.Svc.LookupInvitation(context.Background(), invite.TokenFromLink(res.AcceptLink)); err != nil {
					t.Errorf("returned link does not work: %v", err)
				}
			}
			if tt.wantStatus == store.StatusActive {
				if _, err := e.St.GetMembershipInvitation(context.Background(), "org_a", res.User.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("direct add has an invitation: %v", err)
				}
			}
		})
	}
}

func TestExistingUserGetsNewMembership(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		e.Org(t, "org_b")
		first := e.Invite(t, "org_a", "ann@example.com")
		second, err := e.Svc.CreateUserAndMembership(ctx, "org_b", invite.InviteRequest{
			Email: "ANN@example.com", UserProfile: &invite.ProfileInput{FirstName: "Other"}, Roles: []string{"billing"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if second.User.ID != first.User.ID || second.UserCreated {
			t.Fatalf("second invite made user %s (created=%v), want reuse of %s", second.User.ID, second.UserCreated, first.User.ID)
		}
		if second.User.Profile.FirstName != "Ann" {
			t.Errorf("existing profile changed to %q", second.User.Profile.FirstName)
		}
		ms, err := st.ListUserMemberships(ctx, first.User.ID)
		if err != nil || len(ms) != 2 {
			t.Fatalf("memberships = %v, %v", ms, err)
		}
		// org_b's mail uses the name org_b knows the person by, never
		// what org_a wrote.
		msgs := e.Queued(t, "org_b")
		if len(msgs) != 1 || msgs[0].Data["first_name"] != "Other" || msgs[0].Data["last_name"] != "" {
			t.Fatalf("org_b mail = %+v", msgs[0].Data)
		}
		if second.Membership.Profile.FirstName != "Other" || first.Membership.Profile.FirstName != "Ann" {
			t.Errorf("views: org_a %+v, org_b %+v", first.Membership.Profile, second.Membership.Profile)
		}
	})
}

func TestDuplicateInvite(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		e.Invite(t, "org_a", "ann@example.com")
		e.AddActive(t, "org_a", "bob@example.com")
		inactive := e.AddActive(t, "org_a", "cy@example.com")
		if _, err := e.Svc.DeactivateMembership(ctx, "org_a", inactive.User.ID, ""); err != nil {
			t.Fatal(err)
		}
		e.Org(t, "org_b")
		e.AddActive(t, "org_b", "dee@example.com")
		_, err := e.Svc.CreateUserAndMembership(ctx, "org_b", invite.InviteRequest{Email: "eve@example.com", ExternalID: "crm-eve"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: "fay@example.com", ExternalID: "crm-fay"}); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name  string
			email string
			extID string
			want  error
		}{
			{"pending member", "Ann@Example.com", "", invite.ErrAlreadyInvited},
			{"expired pending member", "ann@example.com", "", invite.ErrAlreadyInvited},
			{"active member", "bob@example.com", "", invite.ErrAlreadyMember},
			{"inactive member", "cy@example.com", "", invite.ErrAlreadyMember},
			{"external id of another member", "new@example.com", "crm-fay", invite.ErrExternalIDTaken},
			{"existing user, external id of another member", "dee@example.com", "crm-fay", invite.ErrExternalIDTaken},
		}
		orgs := []string{"org_a", "org_b"}
		emails := []string{"ann@example.com", "new@example.com", "dee@example.com"}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.name == "expired pending member" {
					e.Clock.Advance(16 * 24 * time.Hour)
				}
				before := takeSnapshot(t, st, orgs, emails)
				_, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: tt.email, ExternalID: tt.extID})
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				// The same error whether the service looked the person
				// up first or the store's write refused: nothing of the
				// store's (ids, another organization) in it.
				msg := tt.want.Error()
				if tt.extID != "" {
					msg += ": another member of this organization has this external id"
				}
				if err.Error() != msg {
					t.Errorf("err = %q, want %q", err, msg)
				}
				if code := inviteapi.ProblemOf(err).Code; inviteapi.ProblemOf(err).Status != 409 || code == "" {
					t.Errorf("HTTPStatus = %d code %q, want 409", inviteapi.ProblemOf(err).Status, code)
				}
				assertUnchanged(t, before, takeSnapshot(t, st, orgs, emails))
			})
		}
	})
}

func TestCreateBadInput(t *testing.T) {
	meta := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("key%02d", i)] = "v"
		}
		return m
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name  string
		org   string
		req   invite.InviteRequest
		field string
		want  error // for non-field errors
	}{
		{"missing email", "org_a", invite.InviteRequest{}, "email", nil},
		{"blank email", "org_a", invite.InviteRequest{Email: "   "}, "email", nil},
		{"invalid email", "org_a", invite.InviteRequest{Email: "not-an-email"}, "email", nil},
		{"display name", "org_a", invite.InviteRequest{Email: "Ann <ann@example.com>"}, "email", nil},
		{"crlf email", "org_a", invite.InviteRequest{Email: "ann@example.com\r\nBcc: x@evil.com"}, "email", nil},
		{"two ats", "org_a", invite.InviteRequest{Email: "ann@x@example.com"}, "email", nil},
		{"unknown role", "org_a", invite.InviteRequest{Email: "a@example.com", Roles: []string{"member", "owner"}}, "roles[1]", nil},
		{"empty role", "org_a", invite.InviteRequest{Email: "a@example.com", Roles: []string{""}}, "roles[0]", nil},
		{"21 metadata pairs", "org_a", invite.InviteRequest{Email: "a@example.com", Metadata: meta(21)}, "metadata", nil},
		{"2-char key", "org_a", invite.InviteRequest{Email: "a@example.com", Metadata: map[string]string{"ab": "v"}}, "metadata.ab", nil},
		{"26-char key", "org_a", invite.InviteRequest{Email: "a@example.com", Metadata: map[string]string{long(26): "v"}}, "metadata." + long(26), nil},
		{"257-char value", "org_a", invite.InviteRequest{Email: "a@example.com", Metadata: map[string]string{"plan": long(257)}}, "metadata.plan", nil},
		{"empty value", "org_a", invite.InviteRequest{Email: "a@example.com", Metadata: map[string]string{"plan": ""}}, "metadata.plan", nil},
		{"profile metadata 2-char key", "org_a", invite.InviteRequest{Email: "a@example.com", UserProfile: &invite.ProfileInput{Metadata: map[string]string{"ab": "v"}}}, "userProfile.metadata.ab", nil},
		{"custom attributes 21 pairs", "org_a", invite.InviteRequest{Email: "a@example.com", UserProfile: &invite.ProfileInput{CustomAttributes: meta(21)}}, "userProfile.customAttributes", nil},
		{"long first name", "org_a", invite.InviteRequest{Email: "a@example.com", UserProfile: &invite.ProfileInput{FirstName: long(101)}}, "userProfile.firstName", nil},
		{"newline in last name", "org_a", invite.InviteRequest{Email: "a@example.com", UserProfile: &invite.ProfileInput{LastName: "Lee\r\nX"}}, "userProfile.lastName", nil},
		{"long name", "org_a", invite.InviteRequest{Email: "a@example.com", UserProfile: &invite.ProfileInput{Name: long(201)}}, "userProfile.name", nil},
		{"bad locale", "org_a", invite.InviteRequest{Email: "a@example.com", UserProfile: &invite.ProfileInput{Locale: "not a locale"}}, "userProfile.locale", nil},
		{"bad phone", "org_a", invite.InviteRequest{Email: "a@example.com", UserProfile: &invite.ProfileInput{PhoneNumber: "call me"}}, "userProfile.phoneNumber", nil},
		{"long external id", "org_a", invite.InviteRequest{Email: "a@example.com", ExternalID: long(256)}, "externalId", nil},
		{"unknown org", "org_nope", invite.InviteRequest{Email: "a@example.com"}, "", invite.ErrNotFound},
		{"empty org", "", invite.InviteRequest{Email: "a@example.com"}, "", invite.ErrNotFound},
	}
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_a")
		e.Invite(t, "org_a", "existing@example.com")
		orgs := []string{"org_a", "org_nope"}
		emails := []string{"a@example.com", "existing@example.com"}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := takeSnapshot(t, st, orgs, emails)
				calls := len(e.ChangeCalls())
				_, err := e.Svc.CreateUserAndMembership(context.Background(), tt.org, tt.req)
				if tt.want != nil {
					if !errors.Is(err, tt.want) {
						t.Fatalf("err = %v, want %v", err, tt.want)
					}
					if inviteapi.ProblemOf(err).Status != 404 {
						t.Errorf("status = %d", inviteapi.ProblemOf(err).Status)
					}
				} else {
					assertFieldError(t, err, invite.CodeInvalidArgument, tt.field)
					if inviteapi.ProblemOf(err).Status != 422 {
						t.Errorf("status = %d, want 422", inviteapi.ProblemOf(err).Status)
					}
					if code, field := errorCode(err); code != "invalid_argument" || field != tt.field {
						t.Errorf("ErrorCode = %q %q", code, field)
					}
				}
				assertUnchanged(t, before, takeSnapshot(t, st, orgs, emails))
				if len(e.ChangeCalls()) != calls {
					t.Errorf("OnMembershipChange called on a failed create")
				}
			})
		}
	})
}

func TestMetadataLimitsAccepted(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	// 20 pairs: 19 three-character keys with 256-character values and one
	// 25-character key with a 1-character value.
	md := map[string]string{strings.Repeat("k", 25): "x"}
	for i := range 19 {
		md[fmt.Sprintf("k%02d", i)] = strings.Repeat("v", 256)
	}
	_, err := e.Svc.CreateUserAndMembership(context.Background(), "org_a", invite.InviteRequest{
		Email: "a@example.com", Metadata: md,
		UserProfile: &invite.ProfileInput{FirstName: strings.Repeat("é", 100), PhoneNumber: "+14155550100", Locale: "pt-BR"},
	})
	if err != nil {
		t.Fatalf("20 pairs, 3–25 char keys, 256-char values, 100-rune names must pass: %v", err)
	}
}

func TestBeforeInvite(t *testing.T) {
	var seen []invite.PolicyInput
	hook := func(ctx context.Context, in invite.PolicyInput) error {
		seen = append(seen, in)
		switch {
		case strings.HasSuffix(in.Request.Email, "@competitor.com"):
			return &invite.PolicyError{Reason: "competitors cannot be invited"}
		case in.Request.Email == "broken@example.com":
			return errors.New("approval service unavailable: db password=hunter2")
		}
		return nil
	}
	forEachStore(t, func(t *testing.T, st store.Store) {
		seen = nil
		e := newEnv(t, st, func(c *invite.Config) { c.BeforeInvite = hook })
		e.Org(t, "org_a")
		ctx := context.Background()
		orgs, emails := []string{"org_a"}, []string{"spy@competitor.com", "broken@example.com"}
		before := takeSnapshot(t, st, orgs, emails)

		_, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: "Spy@Competitor.com", Roles: []string{"admin"}})
		var pe *invite.PolicyError
		if !errors.As(err, &pe) || pe.Reason != "competitors cannot be invited" {
			t.Fatalf("err = %v, want PolicyError with the reason", err)
		}
		if code := inviteapi.ProblemOf(err).Code; code != "policy_refused" || inviteapi.ProblemOf(err).Status != 403 {
			t.Errorf("code %q status %d", code, inviteapi.ProblemOf(err).Status)
		}
		if len(seen) != 1 || seen[0].Request.Email != "spy@competitor.com" || seen[0].Organization.ID != "org_a" ||
			seen[0].Request.Roles[0] != "admin" || seen[0].Direct || seen[0].ExistingUser != nil {
			t.Errorf("hook saw %+v", seen)
		}

		_, err = e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: "broken@example.com"})
		if !errors.As(err, &pe) || strings.Contains(pe.Reason, "hunter2") || pe.Err == nil {
			t.Fatalf("err = %v, want PolicyError with a generic reason wrapping the hook error", err)
		}
		assertUnchanged(t, before, takeSnapshot(t, st, orgs, emails))

		// Bad input is rejected before the hook runs.
		n := len(seen)
		if _, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: "bad"}); err == nil {
			t.Fatal("bad email accepted")
		}
		if len(seen) != n {
			t.Errorf("hook ran for invalid input")
		}
		// An allowed invite goes through.
		if _, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: "ok@example.com"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCreateOrganization(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		org, res, err := e.Svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{
			ID: "org_acme", Name: " Acme ", Locale: "de", CreatedBy: "usr_root",
			Admin: &invite.InviteRequest{Email: "Boss@Acme.com", Roles: []string{"billing"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if org.ID != "org_acme" || org.Name != "Acme" || org.Locale != "de" {
			t.Errorf("org = %+v", org)
		}
		if res == nil || res.Membership.Status != store.StatusPendingInvite || !res.Membership.HasRole("admin") || !res.Membership.HasRole("billing") {
			t.Fatalf("admin = %+v", res)
		}
		if res.User.Profile.Locale != "de" {
			t.Errorf("admin locale = %q, want the org's de", res.User.Profile.Locale)
		}
		evs := e.Events(t, "org_acme")
		if len(evs) != 2 || evs[0].Type != store.EventOrganizationCreated || evs[0].ActorID != "usr_root" || evs[1].Type != store.EventMembershipInvited {
			t.Errorf("events = %+v", evs)
		}
		// Generated id, no admin.
		org2, res2, err := e.Svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Beta"})
		if err != nil || !strings.HasPrefix(org2.ID, "org_") || res2 != nil {
			t.Fatalf("org2 = %+v %+v %v", org2, res2, err)
		}

		orgs, emails := []string{"org_acme", "org_new"}, []string{"x@example.com"}
		bad := []struct {
			name  string
			req   invite.CreateOrganizationRequest
			field string
			want  error
		}{
			{"no name", invite.CreateOrganizationRequest{ID: "org_new"}, "name", nil},
			{"bad id", invite.CreateOrganizationRequest{ID: "org new!", Name: "N"}, "id", nil},
			{"bad admin email", invite.CreateOrganizationRequest{ID: "org_new", Name: "N", Admin: &invite.InviteRequest{Email: "nope"}}, "admin.email", nil},
			{"bad admin role", invite.CreateOrganizationRequest{ID: "org_new", Name: "N", Admin: &invite.InviteRequest{Email: "x@example.com", Roles: []string{"god"}}}, "admin.roles[0]", nil},
			{"taken id", invite.CreateOrganizationRequest{ID: "org_acme", Name: "N"}, "", invite.ErrOrganizationExists},
			{"taken id with an admin", invite.CreateOrganizationRequest{ID: "org_acme", Name: "N", Admin: &invite.InviteRequest{Email: "x@example.com"}}, "", invite.ErrOrganizationExists},
			// A bootstrap repeated (or run by a second replica): same id, same admin.
			{"repeated bootstrap", invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme", Admin: &invite.InviteRequest{Email: "boss@acme.com", Roles: []string{"billing"}}}, "", invite.ErrOrganizationExists},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				before := takeSnapshot(t, st, orgs, emails)
				_, _, err := e.Svc.CreateOrganization(ctx, tt.req)
				if tt.want != nil {
					if !errors.Is(err, tt.want) || inviteapi.ProblemOf(err).Status != 409 {
						t.Fatalf("err = %v", err)
					}
				} else {
					assertFieldError(t, err, invite.CodeInvalidArgument, tt.field)
				}
				assertUnchanged(t, before, takeSnapshot(t, st, orgs, emails))
			})
		}
	})
}

// TestCreateOrganizationTwoWrites: a store without
// store.OrganizationMemberCreator still gets the organization and its admin
// (in two writes).
func TestCreateOrganizationTwoWrites(t *testing.T) {
	st := noBatchStore{memstore.New()}
	if _, ok := store.Store(st).(store.OrganizationMemberCreator); ok {
		t.Fatal("the wrapper should hide OrganizationMemberCreator")
	}
	e := newEnv(t, st, nil)
	org, res, err := e.Svc.CreateOrganization(context.Background(), invite.CreateOrganizationRequest{
		ID: "org_two", Name: "Two", Admin: &invite.InviteRequest{Email: "boss@two.example"},
	})
	if err != nil || org.ID != "org_two" || res == nil || !res.Membership.HasRole("admin") {
		t.Fatalf("org %+v, admin %+v, err %v", org, res, err)
	}
	m, err := e.Svc.GetMember(context.Background(), "org_two", invite.UserRef{Email: "boss@two.example"})
	if err != nil || m.Membership.Status != store.StatusPendingInvite {
		t.Fatalf("member %+v, %v", m, err)
	}
}

func TestResendInvitation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		res := e.Invite(t, "org_a", "ann@example.com")
		oldToken := invite.TokenFromLink(res.AcceptLink)
		expire := res.Membership.InviteExpireTime

		// Reminder while valid: new token, same expiry, MailReminder.
		e.Clock.Advance(24 * time.Hour)
		m, err := e.Svc.ResendInvitation(ctx, "org_a", res.User.ID, "usr_admin")
		if err != nil {
			t.Fatal(err)
		}
		if !m.InviteExpireTime.Equal(expire) {
			t.Errorf("reminder changed expiry %v → %v", expire, m.InviteExpireTime)
		}
		if _, err := e.Svc.LookupInvitation(ctx, oldToken); !errors.Is(err, invite.ErrInvalidToken) {
			t.Errorf("old token after reminder: %v, want ErrInvalidToken", err)
		}
		msgs := e.Queued(t, "org_a")
		reminder := msgs[len(msgs)-1]
		if reminder.Kind != store.MailReminder || reminder.Data["expire_time"] != expire.UTC().Format(time.RFC3339) {
			t.Fatalf("reminder = %+v", reminder)
		}
		newToken := invite.TokenFromLink(openLink(t, reminder))
		if _, err := e.Svc.LookupInvitation(ctx, newToken); err != nil {
			t.Errorf("reminder link: %v", err)
		}
		if ev := e.LastEvent(t, "org_a"); ev.Type != store.EventInvitationResent || ev.ActorID != "usr_admin" || ev.UserID != res.User.ID {
			t.Errorf("event = %+v", ev)
		}

		// Renewal once expired: new token, new expiry, MailRenewed.
		e.Clock.Advance(15 * 24 * time.Hour)
		if info, err := e.Svc.LookupInvitation(ctx, newToken); !errors.Is(err, invite.ErrInviteExpired) || info.User.ID != res.User.ID {
			t.Fatalf("expired lookup = %v", err)
		}
		mem, err := e.Svc.GetMember(ctx, "org_a", invite.UserRef{ID: res.User.ID})
		if err != nil || mem.Membership.EffectiveStatus(e.Clock.Now()) != store.StatusInviteExpired {
			t.Fatalf("status before renewal = %v, %v", mem.Membership.EffectiveStatus(e.Clock.Now()), err)
		}
		m, err = e.Svc.ResendInvitation(ctx, "org_a", res.User.ID, "usr_admin")
		if err != nil {
			t.Fatal(err)
		}
		if want := e.Clock.Now().Add(invite.DefaultInviteTTL); !m.InviteExpireTime.Equal(want) {
			t.Errorf("renewed expiry = %v, want %v", m.InviteExpireTime, want)
		}
		if m.EffectiveStatus(e.Clock.Now()) != store.StatusPendingInvite {
			t.Errorf("status after renewal = %s", m.EffectiveStatus(e.Clock.Now()))
		}
		msgs = e.Queued(t, "org_a")
		renewed := msgs[len(msgs)-1]
		if renewed.Kind != store.MailRenewed {
			t.Fatalf("kind = %s", renewed.Kind)
		}
		if _, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(openLink(t, renewed)), verified("ann@example.com")); err != nil {
			t.Fatalf("accept renewed link: %v", err)
		}
		if ev := e.Events(t, "org_a"); ev[len(ev)-3].Type != store.EventInvitationRenewed {
			t.Errorf("renew event missing: %+v", ev[len(ev)-3])
		}

		// Not pending any more → ErrWrongStatus; unknown → ErrNotFound.
		orgs := []string{"org_a"}
		before := takeSnapshot(t, st, orgs, nil)
		if _, err := e.Svc.ResendInvitation(ctx, "org_a", res.User.ID, ""); !errors.Is(err, invite.ErrWrongStatus) {
			t.Errorf("resend active: %v", err)
		}
		if _, err := e.Svc.ResendInvitation(ctx, "org_a", "usr_nope", ""); !errors.Is(err, invite.ErrNotFound) {
			t.Errorf("resend unknown: %v", err)
		}
		if _, err := e.Svc.ResendInvitation(ctx, "org_nope", res.User.ID, ""); !errors.Is(err, invite.ErrNotFound) {
			t.Errorf("resend unknown org: %v", err)
		}
		assertUnchanged(t, before, takeSnapshot(t, st, orgs, nil))
	})
}

func TestInviteLink(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		res := e.Invite(t, "org_a", "ann@example.com")
		queuedBefore := len(e.Queued(t, "org_a"))
		link, err := e.Svc.InviteLink(ctx, "org_a", res.User.ID, "usr_admin")
		if err != nil {
			t.Fatal(err)
		}
		if link == res.AcceptLink {
			t.Fatal("InviteLink did not rotate the token")
		}
		if _, err := e.Svc.LookupInvitation(ctx, invite.TokenFromLink(res.AcceptLink)); !errors.Is(err, invite.ErrInvalidToken) {
			t.Errorf("old link still valid: %v", err)
		}
		info, err := e.Svc.LookupInvitation(ctx, invite.TokenFromLink(link))
		if err != nil || !info.Invitation.ExpireTime.Equal(res.Membership.InviteExpireTime) {
			t.Errorf("new link: %v (expiry %v)", err, info.Invitation.ExpireTime)
		}
		if n := len(e.Queued(t, "org_a")); n != queuedBefore {
			t.Errorf("InviteLink queued mail: %d → %d", queuedBefore, n)
		}
		if ev := e.LastEvent(t, "org_a"); ev.Type != store.EventInvitationResent || ev.Data["delivery"] != "link" {
			t.Errorf("event = %+v", ev)
		}
	})
}

func TestRevokeInvitation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		res := e.Invite(t, "org_a", "ann@example.com")
		active := e.AddActive(t, "org_a", "bob@example.com")

		if err := e.Svc.RevokeInvitation(ctx, "org_a", res.User.ID, "usr_admin"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.GetMember(ctx, "org_a", invite.UserRef{ID: res.User.ID}); !errors.Is(err, invite.ErrNotFound) {
			t.Errorf("membership after revoke: %v", err)
		}
		if _, err := e.Svc.LookupInvitation(ctx, invite.TokenFromLink(res.AcceptLink)); !errors.Is(err, invite.ErrInviteRevoked) {
			t.Errorf("lookup after revoke: %v", err)
		}
		if _, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(res.AcceptLink), verified("ann@example.com")); !errors.Is(err, invite.ErrInviteRevoked) {
			t.Errorf("accept after revoke: %v", err)
		}
		ev := e.LastEvent(t, "org_a")
		if ev.Type != store.EventMembershipRevoked || ev.ActorID != "usr_admin" || ev.Data["email"] != "ann@example.com" {
			t.Errorf("event = %+v", ev)
		}
		// Re-inviting after a revoke works.
		e.Invite(t, "org_a", "ann@example.com")

		orgs := []string{"org_a"}
		before := takeSnapshot(t, st, orgs, nil)
		if err := e.Svc.RevokeInvitation(ctx, "org_a", active.User.ID, ""); !errors.Is(err, invite.ErrWrongStatus) {
			t.Errorf("revoke active: %v", err)
		}
		if err := e.Svc.RevokeInvitation(ctx, "org_a", "usr_nope", ""); !errors.Is(err, invite.ErrNotFound) {
			t.Errorf("revoke unknown: %v", err)
		}
		assertUnchanged(t, before, takeSnapshot(t, st, orgs, nil))
	})
}

func TestDeactivateReactivate(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		bob := e.AddActive(t, "org_a", "bob@example.com")
		ann := e.Invite(t, "org_a", "ann@example.com")

		m, err := e.Svc.DeactivateMembership(ctx, "org_a", bob.User.ID, "usr_admin")
		if err != nil || m.Status != store.StatusInactive {
			t.Fatalf("deactivate = %+v, %v", m, err)
		}
		if ev := e.LastEvent(t, "org_a"); ev.Type != store.EventMembershipDeactivated || ev.ActorID != "usr_admin" || ev.UserID != bob.User.ID {
			t.Errorf("event = %+v", ev)
		}
		orgs := []string{"org_a"}
		before := takeSnapshot(t, st, orgs, nil)
		if _, err := e.Svc.DeactivateMembership(ctx, "org_a", bob.User.ID, ""); !errors.Is(err, invite.ErrWrongStatus) {
			t.Errorf("deactivate twice: %v", err)
		}
		if _, err := e.Svc.DeactivateMembership(ctx, "org_a", ann.User.ID, ""); !errors.Is(err, invite.ErrWrongStatus) {
			t.Errorf("deactivate pending: %v", err)
		}
		if _, err := e.Svc.ReactivateMembership(ctx, "org_a", ann.User.ID, ""); !errors.Is(err, invite.ErrWrongStatus) {
			t.Errorf("reactivate pending: %v", err)
		}
		if _, err := e.Svc.DeactivateMembership(ctx, "org_a", "usr_nope", ""); !errors.Is(err, invite.ErrNotFound) {
			t.Errorf("deactivate unknown: %v", err)
		}
		assertUnchanged(t, before, takeSnapshot(t, st, orgs, nil))

		m, err = e.Svc.ReactivateMembership(ctx, "org_a", bob.User.ID, "usr_admin")
		if err != nil || m.Status != store.StatusActive {
			t.Fatalf("reactivate = %+v, %v", m, err)
		}
		if ev := e.LastEvent(t, "org_a"); ev.Type != store.EventMembershipReactivated {
			t.Errorf("event = %+v", ev)
		}
	})
}

func TestUpdateMembership(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		bob := e.AddActive(t, "org_a", "bob@example.com")

		roles := []string{"admin", "billing", "admin"}
		m, err := e.Svc.UpdateMembership(ctx, "org_a", bob.User.ID, invite.UpdateRequest{Roles: &roles, Metadata: map[string]string{"team": "ops"}}, "usr_admin")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(m.Roles, ",") != "admin,billing" || m.Metadata["team"] != "ops" {
			t.Errorf("updated = %+v", m)
		}
		if ev := e.LastEvent(t, "org_a"); ev.Type != store.EventMembershipUpdated || ev.ActorID != "usr_admin" || ev.Data["roles"] != "admin,billing" {
			t.Errorf("event = %+v", ev)
		}
		// Metadata only: roles stay.
		m, err = e.Svc.UpdateMembership(ctx, "org_a", bob.User.ID, invite.UpdateRequest{Metadata: map[string]string{}}, "")
		if err != nil || strings.Join(m.Roles, ",") != "admin,billing" || len(m.Metadata) != 0 {
			t.Errorf("metadata-only update = %+v, %v", m, err)
		}

		orgs := []string{"org_a"}
		bad := []string{"admin", "root"}
		tests := []struct {
			name  string
			user  string
			req   invite.UpdateRequest
			field string
			want  error
		}{
			{"unknown role", bob.User.ID, invite.UpdateRequest{Roles: &bad}, "roles[1]", nil},
			{"2-char key", bob.User.ID, invite.UpdateRequest{Metadata: map[string]string{"ab": "x"}}, "metadata.ab", nil},
			{"257-char value", bob.User.ID, invite.UpdateRequest{Metadata: map[string]string{"abc": strings.Repeat("x", 257)}}, "metadata.abc", nil},
			{"unknown user", "usr_nope", invite.UpdateRequest{Metadata: map[string]string{"abc": "x"}}, "", invite.ErrNotFound},
			{"nothing to change", bob.User.ID, invite.UpdateRequest{}, "", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := takeSnapshot(t, st, orgs, nil)
				_, err := e.Svc.UpdateMembership(ctx, "org_a", tt.user, tt.req, "")
				switch {
				case tt.want != nil:
					if !errors.Is(err, tt.want) {
						t.Fatalf("err = %v, want %v", err, tt.want)
					}
				case tt.field != "":
					assertFieldError(t, err, invite.CodeInvalidArgument, tt.field)
				default:
					if err != nil {
						t.Fatal(err)
					}
				}
				assertUnchanged(t, before, takeSnapshot(t, st, orgs, nil))
			})
		}
	})
}

func TestListMembers(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		e.Org(t, "org_b")
		for i := range 3 {
			e.Invite(t, "org_a", fmt.Sprintf("pending%d@example.com", i))
		}
		e.Clock.Advance(10 * 24 * time.Hour)
		e.Invite(t, "org_a", "fresh@example.com")
		e.AddActive(t, "org_a", "active@example.com")
		e.AddActive(t, "org_b", "other@example.com")
		e.Clock.Advance(6 * 24 * time.Hour) // the first three expire

		count := func(opts store.ListOptions) int {
			t.Helper()
			page, err := e.Svc.ListMembers(ctx, "org_a", opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Members {
				if m.Membership.OrganizationID != "org_a" {
					t.Fatalf("listed a member of %s", m.Membership.OrganizationID)
				}
			}
			return len(page.Members)
		}
		if n := count(store.ListOptions{}); n != 5 {
			t.Errorf("all = %d, want 5", n)
		}
		if n := count(store.ListOptions{Status: store.StatusInviteExpired}); n != 3 {
			t.Errorf("expired = %d, want 3", n)
		}
		if n := count(store.ListOptions{Status: store.StatusPendingInvite}); n != 1 {
			t.Errorf("pending = %d, want 1", n)
		}
		if n := count(store.ListOptions{Status: store.StatusActive}); n != 1 {
			t.Errorf("active = %d, want 1", n)
		}
		if n := count(store.ListOptions{Query: "PENDING"}); n != 3 {
			t.Errorf("q=PENDING = %d, want 3", n)
		}

		// Pagination walks everything exactly once.
		seen := map[string]bool{}
		after := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			page, err := e.Svc.ListMembers(ctx, "org_a", store.ListOptions{Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Members {
				if seen[m.User.ID] {
					t.Fatalf("member %s listed twice", m.User.ID)
				}
				seen[m.User.ID] = true
			}
			if page.Next == "" {
				break
			}
			after = page.Next
		}
		if len(seen) != 5 {
			t.Errorf("paged through %d members, want 5", len(seen))
		}

		bad := []struct {
			name  string
			org   string
			opts  store.ListOptions
			field string
		}{
			{"bad status", "org_a", store.ListOptions{Status: "DELETED"}, "status"},
			{"page size too big", "org_a", store.ListOptions{Limit: 1001}, "pageSize"},
			{"negative page size", "org_a", store.ListOptions{Limit: -1}, "pageSize"},
			{"long query", "org_a", store.ListOptions{Query: strings.Repeat("q", 257)}, "q"},
			{"garbage cursor", "org_a", store.ListOptions{After: "not-a-cursor"}, "pageToken"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.Svc.ListMembers(ctx, tt.org, tt.opts)
				assertFieldError(t, err, invite.CodeInvalidArgument, tt.field)
			})
		}
		if _, err := e.Svc.ListMembers(ctx, "org_nope", store.ListOptions{}); !errors.Is(err, invite.ErrNotFound) {
			t.Errorf("unknown org: %v", err)
		}
	})
}

func TestGetMemberAndTenantIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		e.Org(t, "org_b")
		no := false
		res, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: "ann@example.com", ExternalID: "crm-9", SendInvitationEmail: &no})
		if err != nil {
			t.Fatal(err)
		}
		pend := e.Invite(t, "org_a", "pend@example.com")
		e.AddActive(t, "org_b", "bob@example.com")

		for _, ref := range []invite.UserRef{{ID: res.User.ID}, {Email: " ANN@example.com"}, {ExternalID: "crm-9"}} {
			mem, err := e.Svc.GetMember(ctx, "org_a", ref)
			if err != nil || mem.User.ID != res.User.ID || mem.Membership.OrganizationID != "org_a" {
				t.Errorf("GetMember(%+v) = %+v, %v", ref, mem, err)
			}
			// The same user is invisible from org_b.
			if _, err := e.Svc.GetMember(ctx, "org_b", ref); !errors.Is(err, invite.ErrNotFound) {
				t.Errorf("GetMember(org_b, %+v) = %v, want ErrNotFound", ref, err)
			}
		}
		for _, ref := range []invite.UserRef{{}, {ID: "x", Email: "a@example.com"}} {
			_, err := e.Svc.GetMember(ctx, "org_a", ref)
			assertFieldError(t, err, invite.CodeInvalidArgument, "")
		}
		_, err = e.Svc.GetMember(ctx, "org_a", invite.UserRef{Email: "nope"})
		assertFieldError(t, err, invite.CodeInvalidArgument, "email")

		// Wrong-org writes: org_b's admin cannot touch org_a's members.
		orgs := []string{"org_a", "org_b"}
		before := takeSnapshot(t, st, orgs, nil)
		roles := []string{"admin"}
		ops := map[string]func() error{
			"resend":     func() error { _, err := e.Svc.ResendInvitation(ctx, "org_b", pend.User.ID, ""); return err },
			"invitelink": func() error { _, err := e.Svc.InviteLink(ctx, "org_b", pend.User.ID, ""); return err },
			"revoke":     func() error { return e.Svc.RevokeInvitation(ctx, "org_b", pend.User.ID, "") },
			"deactivate": func() error { _, err := e.Svc.DeactivateMembership(ctx, "org_b", res.User.ID, ""); return err },
			"reactivate": func() error { _, err := e.Svc.ReactivateMembership(ctx, "org_b", res.User.ID, ""); return err },
			"update": func() error {
				_, err := e.Svc.UpdateMembership(ctx, "org_b", res.User.ID, invite.UpdateRequest{Roles: &roles}, "")
				return err
			},
		}
		for name, op := range ops {
			if err := op(); !errors.Is(err, invite.ErrNotFound) {
				t.Errorf("%s across orgs: %v, want ErrNotFound", name, err)
			}
		}
		assertUnchanged(t, before, takeSnapshot(t, st, orgs, nil))
	})
}

func TestOnMembershipChangeEveryChange(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	ctx := context.Background()
	e.Org(t, "org_a")
	ann := e.Invite(t, "org_a", "ann@example.com")
	bob := e.AddActive(t, "org_a", "bob@example.com")
	cy := e.Invite(t, "org_a", "cy@example.com")
	steps := []func() error{
		func() error { _, err := e.Svc.ResendInvitation(ctx, "org_a", ann.User.ID, ""); return err },
		func() error { _, err := e.Svc.InviteLink(ctx, "org_a", cy.User.ID, ""); return err },
		func() error { _, err := e.Svc.DeactivateMembership(ctx, "org_a", bob.User.ID, ""); return err },
		func() error { _, err := e.Svc.ReactivateMembership(ctx, "org_a", bob.User.ID, ""); return err },
		func() error {
			_, err := e.Svc.UpdateMembership(ctx, "org_a", bob.User.ID, invite.UpdateRequest{Metadata: map[string]string{"abc": "d"}}, "")
			return err
		},
		func() error { return e.Svc.RevokeInvitation(ctx, "org_a", ann.User.ID, "") },
	}
	want := []string{"org_a/" + ann.User.ID, "org_a/" + cy.User.ID, "org_a/" + bob.User.ID, "org_a/" + bob.User.ID, "org_a/" + bob.User.ID, "org_a/" + ann.User.ID}
	start := len(e.ChangeCalls())
	evStart := len(e.Events(t, "org_a"))
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	got := e.ChangeCalls()[start:]
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("calls = %v, want %v", got, want)
	}
	if n := len(e.Events(t, "org_a")) - evStart; n != len(steps) {
		t.Errorf("%d events for %d changes, want one each", n, len(steps))
	}
}

func TestEventsAndDeadLetters(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	ctx := context.Background()
	e.Org(t, "org_a")
	e.Invite(t, "org_a", "ann@example.com")
	evs := e.Events(t, "org_a")
	if len(evs) != 2 {
		t.Fatalf("events = %d", len(evs))
	}
	later, err := e.Svc.Events(ctx, "org_a", evs[0].Seq, 10)
	if err != nil || len(later) != 1 || later[0].Seq != evs[1].Seq {
		t.Errorf("Events(after first) = %+v, %v", later, err)
	}
	if _, err := e.Svc.Events(ctx, "org_a", 0, 1001); err == nil {
		t.Error("limit 1001 accepted")
	}
	if _, err := e.Svc.Events(ctx, "org_nope", 0, 0); !errors.Is(err, invite.ErrNotFound) {
		t.Errorf("unknown org: %v", err)
	}
	msgs := e.Queued(t, "org_a")
	now := e.Clock.Now()
	if err := e.St.MarkOutboxDead(ctx, msgs[0].ID, 5, "smtp down", now, store.Event{OrganizationID: "org_a", Type: store.EventMailDeadLettered, CreateTime: now}); err != nil {
		t.Fatal(err)
	}
	dead, err := e.Svc.DeadLetters(ctx, "org_a", 0)
	if err != nil || len(dead) != 1 || dead[0].Sealed != nil {
		t.Errorf("DeadLetters = %+v, %v", dead, err)
	}
}

// TestLastAdmin: the organization always keeps an active admin.
func TestLastAdmin(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		ann := e.AddActive(t, "org_a", "ann@example.com", "admin")
		bob := e.AddActive(t, "org_a", "bob@example.com", "member")
		member := []string{"member"}

		before := takeSnapshot(t, st, []string{"org_a"}, nil)
		if _, err := e.Svc.DeactivateMembership(ctx, "org_a", ann.User.ID, ""); !errors.Is(err, invite.ErrLastAdmin) || inviteapi.ProblemOf(err).Status != 409 {
			t.Fatalf("deactivate the last admin: %v", err)
		}
		if _, err := e.Svc.UpdateMembership(ctx, "org_a", ann.User.ID, invite.UpdateRequest{Roles: &member}, ""); !errors.Is(err, invite.ErrLastAdmin) {
			t.Fatalf("demote the last admin: %v", err)
		}
		assertUnchanged(t, before, takeSnapshot(t, st, []string{"org_a"}, nil))
		// Her metadata and her other roles can change.
		if _, err := e.Svc.UpdateMembership(ctx, "org_a", ann.User.ID, invite.UpdateRequest{Roles: &[]string{"admin", "billing"}, Metadata: map[string]string{"team": "ops"}}, ""); err != nil {
			t.Fatal(err)
		}
		// Once Bob is an admin too, either one can go, but not both.
		if _, err := e.Svc.UpdateMembership(ctx, "org_a", bob.User.ID, invite.UpdateRequest{Roles: &[]string{"admin"}}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.DeactivateMembership(ctx, "org_a", ann.User.ID, ""); err != nil {
			t.Fatalf("deactivate one of two admins: %v", err)
		}
		if _, err := e.Svc.UpdateMembership(ctx, "org_a", bob.User.ID, invite.UpdateRequest{Roles: &member}, ""); !errors.Is(err, invite.ErrLastAdmin) {
			t.Fatalf("demote the new last admin: %v", err)
		}
		// Reactivating Ann needs no check and restores a second admin.
		if _, err := e.Svc.ReactivateMembership(ctx, "org_a", ann.User.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.UpdateMembership(ctx, "org_a", bob.User.ID, invite.UpdateRequest{Roles: &member}, ""); err != nil {
			t.Fatal(err)
		}
	})
}

// External ids are per organization: org_b's external ids and people are
// invisible to org_a, so inviting with them behaves as with unknown ones.
func TestExternalIDsArePerOrganization(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		e.Org(t, "org_b")
		if _, err := e.Svc.CreateUserAndMembership(ctx, "org_b", invite.InviteRequest{
			Email: "eve@example.com", ExternalID: "crm-eve", UserProfile: &invite.ProfileInput{FirstName: "Evelyn"},
		}); err != nil {
			t.Fatal(err)
		}
		// org_b's external id, for a new person and for org_b's own member.
		for _, req := range []invite.InviteRequest{
			{Email: "new@example.com", ExternalID: "crm-eve"},
			{Email: "eve@example.com", ExternalID: "a-77"},
		} {
			res, err := e.Svc.CreateUserAndMembership(ctx, "org_a", req)
			if err != nil {
				t.Fatalf("%s with %s: %v", req.Email, req.ExternalID, err)
			}
			if res.Membership.ExternalID != req.ExternalID || res.Membership.Profile.FirstName != "" {
				t.Errorf("org_a's view %+v carries more than org_a wrote", res.Membership)
			}
		}
		if m, err := e.Svc.GetMember(ctx, "org_a", invite.UserRef{ExternalID: "a-77"}); err != nil || m.User.Email != "eve@example.com" {
			t.Fatalf("org_a's own external id: %+v %v", m, err)
		}
		if _, err := e.Svc.GetMember(ctx, "org_b", invite.UserRef{ExternalID: "a-77"}); !errors.Is(err, invite.ErrNotFound) {
			t.Fatalf("org_b sees org_a's external id: %v", err)
		}
	})
}
