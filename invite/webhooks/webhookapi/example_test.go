package webhookapi_test

import (
	"crypto/subtle"
	"net/http"
	"os"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/invite/webhooks/webhookapi"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store/memstore"
)

// Example mounts the API under /api: the app's back office with a bearer
// token (app scope), organizations' admins from the session (their own
// endpoints and feed).
func Example() {
	st := memstore.New()
	svc, err := invite.New(st, invite.Config{SecretKey: []byte(os.Getenv("INVITEKIT_SECRET_KEY")), AcceptURL: "https://app.example.com/accept"})
	if err != nil {
		return
	}
	hooks, err := webhooks.New(st, webhooks.Config{Sealer: svc.Sealer()})
	if err != nil {
		return
	}
	sessions := scs.New()
	token := os.Getenv("ADMIN_API_TOKEN")
	api, err := webhookapi.New(hooks, webhookapi.Config{
		App: func(r *http.Request, _ webhookapi.Action) (string, error) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				return "", webhookapi.ErrUnauthenticated
			}
			return "", nil
		},
		Org: webhookapi.OrgAdmins(svc, func(r *http.Request) (string, bool) { // the signed-in user
			id := sessions.GetString(r.Context(), middleware.SessionKeyUserID)
			return id, id != ""
		}),
		OrgEndpoints: true,
	})
	if err != nil {
		return
	}
	mux := http.NewServeMux()
	api.Routes(mux, "/api")       // /api/webhooks/…, /api/events, /api/organizations/{orgID}/…
	_ = sessions.LoadAndSave(mux) // http.ListenAndServe(":8080", sessions.LoadAndSave(mux))
}
