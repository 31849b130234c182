package invite_test

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/invitekit/invitekit/invite"
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
	fmt.Println(errors.Is(err, invite.ErrAlreadyInvited), invite.HTTPStatus(err))

	// Bad input names the field at fault.
	_, err = svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "bob@example.com", Roles: []string{"owner"}})
	code, field := invite.ErrorCode(err)
	fmt.Println(invite.HTTPStatus(err), code, field)
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
	// invite: invitation already used
}

func ExampleNewHandler() {
	ctx := context.Background()
	svc, _ := invite.New(memstore.New(), invite.Config{
		SecretKey: []byte("an example key of 32 bytes!!!!!!"),
		AcceptURL: "https://app.example.com/invite/accept",
	})
	_, _, _ = svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme"})

	// The Authorizer is required. This one accepts a server-to-server API
	// key; AdminOnly(svc, currentUser) serves signed-in org admins.
	apiKey := []byte("Bearer example-api-key")
	authz := func(r *http.Request, orgID string, action invite.Action) (string, error) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), apiKey) != 1 {
			return "", invite.ErrUnauthenticated
		}
		return "", nil // no user acts: events record the system as actor
	}
	h, err := invite.NewHandler(svc, authz, invite.HandlerConfig{})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux, "/api") // or mux.Handle("/api/", http.StripPrefix("/api", h))

	post := func(auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/organizations/org_acme/users",
			strings.NewReader(`{"email":"ann@example.com","userProfile":{"firstName":"Ann"},"roles":["member"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	rec := post("Bearer example-api-key")
	var created struct {
		User invite.APIUser `json:"user"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &created)
	fmt.Println(rec.Code, created.User.Email, created.User.Memberships[0].MembershipStatus)

	rec = post("Bearer wrong")
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 201 ann@example.com PENDING_INVITE
	// 401 {"error":{"code":"unauthenticated","message":"authentication required","field":""}}
}
