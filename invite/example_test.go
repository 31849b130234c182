package invite_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

func ExampleService_CreateUserAndMembership() {
	ctx := context.Background()
	st := memstore.New() // use sqlitestore or pgstore in production
	svc, err := invite.New(st, invite.Config{
		SecretKey: []byte("an example key of 32 bytes!!!!!!"), // load a real one from your secrets
		AcceptURL: "https://app.example.com/invite/accept",
	})
	if err != nil {
		panic(err)
	}
	org, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme"})
	if err != nil {
		panic(err)
	}
	res, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{
		Email:       " Ann@Example.com ",
		Roles:       []string{"admin"},
		UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee"},
		Metadata:    map[string]string{"plan": "free"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.User.Email, res.Membership.Status, res.Membership.Roles)

	// The invitation mail waits in the outbox for the mailer's dispatcher.
	msgs, _ := st.ListOutbox(ctx, org.ID, store.OutboxQueued, 10)
	fmt.Println(msgs[0].Kind, msgs[0].To, msgs[0].Data["org_name"])

	// Inviting the same person again is a conflict, not a duplicate.
	_, err = svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "ann@example.com"})
	fmt.Println(errors.Is(err, invite.ErrAlreadyInvited), inviteapi.ProblemOf(err).Status)

	// Bad input names the field at fault.
	_, err = svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "bob@example.com", Roles: []string{"owner"}})
	p := inviteapi.ProblemOf(err)
	code, field := p.Code, p.Field
	fmt.Println(inviteapi.ProblemOf(err).Status, code, field)
	// Output:
	// ann@example.com PENDING_INVITE [admin]
	// invitation ann@example.com Acme
	// true 409
	// 422 invalid_argument roles[0]
}

func ExampleService_AcceptInvitation() {
	ctx := context.Background()
	svc, _ := invite.New(memstore.New(), invite.Config{
		SecretKey: []byte("an example key of 32 bytes!!!!!!"),
		AcceptURL: "https://app.example.com/invite/accept",
	})
	_, _, _ = svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme"})
	no := false
	res, _ := svc.CreateUserAndMembership(ctx, "org_acme", invite.InviteRequest{
		Email: "ann@example.com", SendInvitationEmail: &no, ReturnAcceptLink: true, // the app mails the link itself
	})
	token := invite.TokenFromLink(res.AcceptLink)

	info, err := svc.LookupInvitation(ctx, token) // what the accept page shows
	fmt.Println(info.Organization.Name, info.User.Email, err)

	// After the OpenID login, with the provider's claims:
	m, err := svc.AcceptInvitation(ctx, token, invite.AcceptIdentity{
		Issuer: "https://accounts.example.com", Subject: "248289761001",
		Email: "ann@example.com", EmailVerified: true,
	})
	fmt.Println(m.Status, err)

	_, err = svc.AcceptInvitation(ctx, token, invite.AcceptIdentity{Issuer: "https://accounts.example.com", Subject: "x", Email: "ann@example.com", EmailVerified: true})
	fmt.Println(err)
	// Output:
	// Acme ann@example.com <nil>
	// ACTIVE <nil>
	// invitekit: invitation already used
}
