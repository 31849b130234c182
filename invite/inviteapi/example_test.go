package inviteapi_test

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store/memstore"
)

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
	authz := func(r *http.Request, orgID string, action inviteapi.Action) (string, error) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), apiKey) != 1 {
			return "", inviteapi.ErrUnauthenticated
		}
		return "", nil // no user acts: events record the system as actor
	}
	h, err := inviteapi.NewHandler(svc, authz, inviteapi.HandlerConfig{})
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
		User inviteapi.APIUser `json:"user"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &created)
	fmt.Println(rec.Code, created.User.Email, created.User.Memberships[0].MembershipStatus)

	rec = post("Bearer wrong")
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 201 ann@example.com PENDING_INVITE
	// 401 {"error":{"code":"unauthenticated","message":"authentication required","field":""}}
}
