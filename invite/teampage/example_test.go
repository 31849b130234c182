package teampage_test

import (
	"context"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/store/memstore"
)

// requireAdmin stands for the app's auth: in a real app this is the scs
// session plus middleware.RequireRole("admin").
func requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, "usr_admin")))
	})
}

// Mount the team page on an http.ServeMux, wrapped in the app's layout.
func Example_serveMux() {
	svc, err := invite.New(memstore.New(), invite.Config{
		SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		AcceptURL: "https://app.example.com/invite/accept",
	})
	if err != nil {
		log.Fatal(err)
	}
	svc.CreateOrganization(context.Background(), invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme"})

	layout := template.Must(template.New("app").Parse(
		`<!doctype html><html><head><title>{{.Title}}</title>{{.Head}}</head><body><nav>My app</nav>{{.Content}}</body></html>`))
	page, err := teampage.New(svc, teampage.Config{
		BasePath: "/orgs/{orgID}/team",
		Layout:   layout,
		Actor:    func(r *http.Request) string { id, _ := r.Context().Value(actorKey{}).(string); return id },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer page.Close()

	mux := http.NewServeMux()
	mux.Handle("/orgs/{orgID}/team/", requireAdmin(page))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/orgs/org_acme/team/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}

// Mount the team page on a chi router (chi fills r.PathValue too).
func Example_chi() {
	svc, err := invite.New(memstore.New(), invite.Config{
		SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		AcceptURL: "https://app.example.com/invite/accept",
	})
	if err != nil {
		log.Fatal(err)
	}
	svc.CreateOrganization(context.Background(), invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme"})
	page, err := teampage.New(svc, teampage.Config{BasePath: "/orgs/{orgID}/team"})
	if err != nil {
		log.Fatal(err)
	}
	defer page.Close()

	r := chi.NewRouter()
	r.With(requireAdmin).Handle("/orgs/{orgID}/team/*", page)

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/orgs/org_acme/team/", nil))
	fmt.Println(rec.Code)
	// Output: 200
}
