package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// Invite a person into an organization and accept the invitation.
func Example() {
	ctx := context.Background()
	st := memstore.New()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

	org := store.Organization{ID: "org_acme", Name: "Acme", CreateTime: now, UpdateTime: now}
	if err := st.CreateOrganization(ctx, org, store.Event{Type: store.EventOrganizationCreated, CreateTime: now}); err != nil {
		fmt.Println(err)
		return
	}
	res, err := st.CreateMembership(ctx, store.CreateMembershipParams{
		User: store.User{ID: "usr_ann", Email: "ann@example.com", CreateTime: now, UpdateTime: now},
		Membership: store.Membership{
			OrganizationID: org.ID, Status: store.StatusPendingInvite, Roles: []string{"member"},
			InviteExpireTime: now.Add(15 * 24 * time.Hour), JoinTime: now, UpdateTime: now,
		},
		Invitation: &store.Invitation{
			ID: "inv_1", OrganizationID: org.ID, Email: "ann@example.com",
			VerifierHash: []byte("sha-256 of the verifier"), CreateTime: now, ExpireTime: now.Add(15 * 24 * time.Hour),
		},
		Outbox: &store.OutboxMessage{OrganizationID: org.ID, Kind: store.MailInvitation, To: "ann@example.com", CreateTime: now},
		Event:  store.Event{OrganizationID: org.ID, Type: store.EventMembershipInvited, CreateTime: now},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.User.ID, res.Membership.Status, res.UserCreated)

	m, err := st.AcceptInvitation(ctx, store.AcceptParams{
		InvitationID: "inv_1", Now: now.Add(time.Hour),
		Identity:      store.Identity{Issuer: "https://idp.example", Subject: "ann", Email: "ann@example.com", CreateTime: now},
		EmailVerified: true, IdentityProvider: "OIDC",
		Event: store.Event{OrganizationID: org.ID, Type: store.EventMembershipAccepted, CreateTime: now},
	})
	fmt.Println(m.Status, err)

	_, err = st.AcceptInvitation(ctx, store.AcceptParams{InvitationID: "inv_1", Now: now.Add(time.Hour)})
	fmt.Println(err)

	evs, _ := st.ListEvents(ctx, org.ID, 0, 0)
	for _, ev := range evs {
		fmt.Println(ev.Seq, ev.Type, ev.UserID != "")
	}
	// Output:
	// usr_ann PENDING_INVITE true
	// ACTIVE <nil>
	// memstore: accept: invitekit: invitation already used
	// 1 organization.created false
	// 2 membership.invited true
	// 3 membership.accepted true
}
