package authflow_test

import (
	"log"
	"net/http"
	"os"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store/memstore"
)

// Mount the whole invite-and-login flow on a ServeMux (about 20 lines).
func Example() {
	st := memstore.New() // or sqlitestore.Open(ctx, "app.db", sqlitestore.Config{})
	sessions := scs.New()
	guard, _ := middleware.New(st, sessions, middleware.Config{CacheTTL: time.Second})
	svc, err := invite.New(st, invite.Config{
		SecretKey:          []byte(os.Getenv("INVITEKIT_SECRET_KEY")), // 32 bytes
		AcceptURL:          "https://app.example.com/accept",
		OnMembershipChange: guard.Invalidate,
	})
	if err != nil {
		log.Fatal(err)
	}
	flow, err := authflow.New(svc, sessions, authflow.Config{
		Issuer:       os.Getenv("OIDC_ISSUER"),
		ClientID:     os.Getenv("OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		RedirectURL:  "https://app.example.com/auth/callback",
		DashboardURL: "/orgs/{orgID}/dashboard",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	flow.Routes(mux) // /accept, /login, /auth/callback, /logout
	mux.Handle("GET /orgs/{orgID}/dashboard", guard.RequireMember(http.HandlerFunc(dashboard)))
	log.Fatal(http.ListenAndServe(":8080", sessions.LoadAndSave(mux)))
}

func dashboard(w http.ResponseWriter, r *http.Request) {
	m, _ := middleware.MemberFromContext(r.Context())
	w.Write([]byte("Welcome, " + m.User.Email))
}
