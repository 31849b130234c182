package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// openTemp opens a store on a fresh file in a temporary directory and
// closes it when the test ends.
func openTemp(tb testing.TB, cfg sqlitestore.Config) *sqlitestore.Store {
	tb.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(tb.TempDir(), "invitekit.db"), cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func mustOrg(tb testing.TB, st store.Store, id string) {
	tb.Helper()
	org := store.Organization{ID: id, Name: "Org " + id, CreateTime: t0, UpdateTime: t0}
	if err := st.CreateOrganization(context.Background(), org, store.Event{Type: store.EventOrganizationCreated, CreateTime: t0}); err != nil {
		tb.Fatalf("CreateOrganization: %v", err)
	}
}

// inviteParams is one invite as the invite service writes it: a new user,
// a pending membership, an invitation, an outbox message and an event.
func inviteParams(orgID string, i int) store.CreateMembershipParams {
	email := fmt.Sprintf("person%d@example.com", i)
	exp := t0.Add(15 * 24 * time.Hour)
	return store.CreateMembershipParams{
		User: store.User{
			ID: store.NewID("usr"), Email: email, ExternalID: fmt.Sprintf("ext-%d", i),
			Profile: store.UserProfile{
				ID: store.NewID("prof"), FirstName: "Person", LastName: fmt.Sprint(i), Name: fmt.Sprintf("Person %d", i),
				Locale: "en", Metadata: map[string]string{"team": "a"},
			},
			CreateTime: t0, UpdateTime: t0,
		},
		Membership: store.Membership{
			OrganizationID: orgID, Status: store.StatusPendingInvite, Roles: []string{"member"},
			Metadata: map[string]string{"source": "import"}, PrimaryIdentityProvider: "IDENTITY_PROVIDER_UNSPECIFIED",
			InvitedBy: "usr_admin", InviteExpireTime: exp, JoinTime: t0, UpdateTime: t0,
		},
		Invitation: &store.Invitation{
			ID: store.NewID("inv"), OrganizationID: orgID, Email: email, VerifierHash: make([]byte, 32),
			InvitedBy: "usr_admin", CreateTime: t0, ExpireTime: exp,
		},
		Outbox: &store.OutboxMessage{
			ID: store.NewID("msg"), OrganizationID: orgID, Kind: store.MailInvitation, To: email,
			MessageID: "<" + store.NewID("m") + "@invitekit>",
			Data:      map[string]string{"org_name": "Acme", "email": email}, Sealed: make([]byte, 64),
			Status: store.OutboxQueued, CreateTime: t0,
		},
		Event: store.Event{
			OrganizationID: orgID, Type: store.EventMembershipInvited, ActorID: "usr_admin",
			Data: map[string]string{"roles": "member"}, CreateTime: t0,
		},
	}
}
