package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store/memstore"
)

// Guard an organization's routes: any ACTIVE member may see the dashboard,
// only admins may change settings.
func ExampleNew() {
	st := memstore.New() // any store.Store
	sessions := scs.New()
	mw, err := middleware.New(st, sessions, middleware.Config{
		Resolver: middleware.PathValue("orgID"),
		LoginURL: "/login",
		CacheTTL: time.Second, // at most 1s stale without push (see Start); wire mw.Invalidate to invite.Config.OnMembershipChange
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{orgID}/dashboard", mw.RequireMember(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := middleware.MemberFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", m.User.Email)
	})))
	mux.Handle("POST /orgs/{orgID}/settings", mw.RequireRole("admin")(http.NotFoundHandler()))
	app := sessions.LoadAndSave(mux)

	// Nobody is signed in: a browser is sent to login, an API client gets 401.
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/orgs/org_1/dashboard", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))

	req := httptest.NewRequest("GET", "/orgs/org_1/dashboard", nil)
	req.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 303 /login?return_to=%2Forgs%2Forg_1%2Fdashboard
	// 401 {"error":{"code":"unauthenticated","message":"authentication required","field":""}}
}

// Decide, then render: Check returns the member or the reason.
func ExampleMiddleware_Check() {
	sessions := scs.New()
	mw, _ := middleware.New(memstore.New(), sessions, middleware.Config{Resolver: middleware.Header("X-Org-ID")})
	h := sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := mw.Check(r)
		fmt.Println(err)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output:
	// invitekit: authentication required
}
