// Command minimal is the README's quick start: invitekit on net/http with
// SQLite, SMTP and your OpenID provider, configured from the environment.
package main

import (
	"context"
	"encoding/hex"
	"log"
	"net/http"
	"os"

	"github.com/alexedwards/scs/v2"
	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

func main() {
	ctx, base := context.Background(), os.Getenv("APP_URL")       // e.g. https://app.example.com
	key, _ := hex.DecodeString(os.Getenv("INVITEKIT_SECRET_KEY")) // 32 bytes, hex
	st, err := sqlitestore.Open(ctx, "invitekit.db", sqlitestore.Config{})
	must(err)
	sessions := scs.New()
	sessions.Cookie.Secure = true // the app is served over https
	guard, err := middleware.New(st, sessions, middleware.Config{CacheTTL: middleware.MaxCacheTTL})
	must(err)
	svc, err := invite.New(st, invite.Config{SecretKey: key, AcceptURL: base + "/accept",
		OnMembershipChange: guard.Invalidate}) // a change made here reaches the guard's cache at once
	must(err)
	smtp, err := mailer.NewSMTP(mailer.SMTPConfig{Host: os.Getenv("SMTP_HOST"), Port: 587, From: "team@example.com",
		Username: os.Getenv("SMTP_USER"), Password: os.Getenv("SMTP_PASSWORD")})
	must(err)
	renderer, _ := mailer.NewRenderer(mailer.RenderConfig{Branding: mailer.Branding{AppName: "Acme"}})
	outbox, err := mailer.NewDispatcher(st, smtp, renderer, svc.Sealer(), mailer.DispatcherConfig{})
	must(err)
	go outbox.Run(ctx) // delivers queued invitation mail, with retries

	flow, err := authflow.New(svc, sessions, authflow.Config{Issuer: os.Getenv("OIDC_ISSUER"),
		ClientID: os.Getenv("OIDC_CLIENT_ID"), ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		RedirectURL: base + "/auth/callback", DashboardURL: "/orgs/{orgID}/dashboard"})
	must(err)

	mux := http.NewServeMux()
	flow.Routes(mux) // /accept, /login, /auth/callback, /logout
	mux.Handle("/orgs/{orgID}/dashboard", guard.RequireMember(http.HandlerFunc(dashboard)))
	log.Fatal(http.ListenAndServe(":8080", sessions.LoadAndSave(mux)))
}

func dashboard(w http.ResponseWriter, r *http.Request) {
	m, _ := middleware.MemberFromContext(r.Context())
	w.Write([]byte("hello " + m.User.Email + ", member of " + m.Membership.OrganizationID))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
