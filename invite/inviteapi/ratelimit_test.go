package inviteapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// noLimits turns every rate limit off, for the tests about other things
// that send many requests on a frozen clock.
var noLimits = inviteapi.RateLimits{
	PerOrg:               inviteapi.RateLimit{Off: true},
	PerActor:             inviteapi.RateLimit{Off: true},
	ResendsPerInvitation: inviteapi.RateLimit{Off: true},
}

// actorFromHeader lets every request through as the actor it names.
func actorFromHeader(r *http.Request, orgID string, action inviteapi.Action) (string, error) {
	return r.Header.Get("X-Actor"), nil
}

// limitedAPI is the JSON API with the default limits (unless cfg sets
// others) on the env's fake clock, for organizations org_a and org_b.
func limitedAPI(t *testing.T, cfg inviteapi.HandlerConfig) (*env, http.Handler) {
	t.Helper()
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	h, err := inviteapi.NewHandler(e.Svc, actorFromHeader, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, h
}

// create posts an invitation for email to orgID as actor.
func create(h http.Handler, orgID, actor, email string) *httptest.ResponseRecorder {
	r := jsonRequest("POST", "/organizations/"+orgID+"/users", `{"email":"`+email+`"}`)
	r.Header.Set("X-Actor", actor)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// mustRateLimited checks a 429 rate_limited with Retry-After: retryAfter.
func mustRateLimited(t *testing.T, what string, rec *httptest.ResponseRecorder, retryAfter string) {
	t.Helper()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("%s: status %d, want 429: %s", what, rec.Code, rec.Body)
	}
	if code, _, _ := apiError(t, decodeBody(t, rec.Body.Bytes())); code != "rate_limited" {
		t.Fatalf("%s: code %q, want rate_limited", what, code)
	}
	if got := rec.Header().Get("Retry-After"); got != retryAfter {
		t.Fatalf("%s: Retry-After %q, want %q", what, got, retryAfter)
	}
}

func memberCount(t *testing.T, e *env, orgID string) int {
	t.Helper()
	page, err := e.Svc.ListMembers(context.Background(), orgID, store.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Members)
}

// Per organization: 20 at once (60 a minute); one organization out of
// invitations leaves another's working; time restores it.
func TestRateLimitInvitesPerOrg(t *testing.T) {
	e, h := limitedAPI(t, inviteapi.HandlerConfig{})
	for i := range 20 {
		// Two invitations per actor: the per-actor limit (10) stays out of the way.
		if rec := create(h, "org_a", fmt.Sprint("usr_", i/2), fmt.Sprintf("p%d@example.com", i)); rec.Code != http.StatusCreated {
			t.Fatalf("invite %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	before := memberCount(t, e, "org_a")
	mustRateLimited(t, "21st invite of org_a", create(h, "org_a", "usr_new", "late@example.com"), "1")
	if n := memberCount(t, e, "org_a"); n != before {
		t.Fatalf("a refused invite wrote: %d members, want %d", n, before)
	}
	if rec := create(h, "org_b", "usr_new", "b@example.com"); rec.Code != http.StatusCreated {
		t.Fatalf("org_b's invite after org_a ran out: %d %s", rec.Code, rec.Body)
	}
	e.Clock.Advance(time.Second)
	if rec := create(h, "org_a", "usr_new", "late@example.com"); rec.Code != http.StatusCreated {
		t.Fatalf("org_a after the wait: %d %s", rec.Code, rec.Body)
	}
	mustRateLimited(t, "org_a again", create(h, "org_a", "usr_new", "later@example.com"), "1")
}

// Per actor: 10 at once (30 a minute), across organizations.
func TestRateLimitInvitesPerActor(t *testing.T) {
	e, h := limitedAPI(t, inviteapi.HandlerConfig{})
	for i := range 10 {
		org := []string{"org_a", "org_b"}[i%2]
		if rec := create(h, org, "usr_ann", fmt.Sprintf("p%d@example.com", i)); rec.Code != http.StatusCreated {
			t.Fatalf("ann's invite %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	mustRateLimited(t, "ann's 11th invite", create(h, "org_b", "usr_ann", "x@example.com"), "2")
	if rec := create(h, "org_b", "usr_bob", "x@example.com"); rec.Code != http.StatusCreated {
		t.Fatalf("bob after ann ran out: %d %s", rec.Code, rec.Body)
	}
	e.Clock.Advance(2 * time.Second)
	if rec := create(h, "org_b", "usr_ann", "y@example.com"); rec.Code != http.StatusCreated {
		t.Fatalf("ann after the wait: %d %s", rec.Code, rec.Body)
	}
	// No actor (an API key): per organization only.
	for i := range 15 {
		if rec := create(h, "org_a", "", fmt.Sprintf("key%d@example.com", i)); rec.Code != http.StatusCreated {
			t.Fatalf("actorless invite %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
}

// Resends: 3 per invitation at once, then one every 20 minutes.
func TestRateLimitResendsPerInvitation(t *testing.T) {
	e, h := limitedAPI(t, inviteapi.HandlerConfig{})
	ann, bob := e.Invite(t, "org_a", "ann@example.com"), e.Invite(t, "org_a", "bob@example.com")
	resend := func(userID string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/organizations/org_a/users/"+userID+"/resend", nil)
		r.Header.Set("X-Actor", "usr_admin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	for i := range 3 {
		if rec := resend(ann.User.ID); rec.Code != http.StatusOK {
			t.Fatalf("resend %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	queued := len(e.Queued(t, "org_a"))
	mustRateLimited(t, "4th resend", resend(ann.User.ID), "1200")
	if n := len(e.Queued(t, "org_a")); n != queued {
		t.Fatalf("a refused resend queued mail: %d, want %d", n, queued)
	}
	if rec := resend(bob.User.ID); rec.Code != http.StatusOK {
		t.Fatalf("bob's resend after ann's ran out: %d %s", rec.Code, rec.Body)
	}
	e.Clock.Advance(20 * time.Minute)
	if rec := resend(ann.User.ID); rec.Code != http.StatusOK {
		t.Fatalf("resend after the wait: %d %s", rec.Code, rec.Body)
	}
}

func TestRateLimitsConfig(t *testing.T) {
	// Off: no limit.
	_, h := limitedAPI(t, inviteapi.HandlerConfig{RateLimits: inviteapi.RateLimits{
		PerOrg: inviteapi.RateLimit{Off: true}, PerActor: inviteapi.RateLimit{Off: true},
	}})
	for i := range 40 {
		if rec := create(h, "org_a", "usr_ann", fmt.Sprintf("p%d@example.com", i)); rec.Code != http.StatusCreated {
			t.Fatalf("limits off, invite %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	// A limit of its own: 2 at once, 1 a minute.
	_, h = limitedAPI(t, inviteapi.HandlerConfig{RateLimits: inviteapi.RateLimits{
		PerOrg: inviteapi.RateLimit{Events: 1, Per: time.Minute, Burst: 2},
	}})
	create(h, "org_a", "usr_ann", "a@example.com")
	create(h, "org_a", "usr_ann", "b@example.com")
	mustRateLimited(t, "own limit", create(h, "org_a", "usr_ann", "c@example.com"), "60")

	e := newEnv(t, memstore.New(), nil)
	for _, bad := range []inviteapi.RateLimits{
		{PerOrg: inviteapi.RateLimit{Events: -1}},
		{ResendsPerInvitation: inviteapi.RateLimit{Per: -time.Second}},
		{MaxKeys: -1},
	} {
		if _, err := inviteapi.NewHandler(e.Svc, inviteapi.DenyAll, inviteapi.HandlerConfig{RateLimits: bad}); err == nil || !strings.Contains(err.Error(), "RateLimits") {
			t.Errorf("RateLimits %+v: NewHandler error %v, want one naming RateLimits", bad, err)
		}
		if _, err := inviteapi.NewBulkHandler(e.Svc, inviteapi.DenyAll, inviteapi.BulkHandlerConfig{RateLimits: bad}); err == nil {
			t.Errorf("RateLimits %+v: NewBulkHandler accepted it", bad)
		}
	}
	if !errors.Is(fmt.Errorf("x: %w", inviteapi.ErrRateLimited), inviteapi.ErrRateLimited) || inviteapi.ProblemOf(inviteapi.ErrRateLimited).Status != 429 {
		t.Error("ErrRateLimited is not the 429 of the table")
	}
}

// The limits come after authorization: refused requests use no budget.
func TestRateLimitAfterAuthorization(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	h, err := inviteapi.NewHandler(e.Svc, func(r *http.Request, orgID string, a inviteapi.Action) (string, error) {
		if r.Header.Get("X-Actor") == "" {
			return "", inviteapi.ErrPermissionDenied
		}
		return r.Header.Get("X-Actor"), nil
	}, inviteapi.HandlerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if rec := create(h, "org_a", "", "x@example.com"); rec.Code != http.StatusForbidden {
			t.Fatalf("unauthorized create: %d", rec.Code)
		}
	}
	if rec := create(h, "org_a", "usr_admin", "x@example.com"); rec.Code != http.StatusCreated {
		t.Fatalf("after 50 refused requests: %d %s", rec.Code, rec.Body)
	}
}

// Bulk: each upload and each confirm counts one invitation event.
func TestRateLimitBulk(t *testing.T) {
	e, srv := bulkAPI(t, openSQLite(t), inviteapi.BulkHandlerConfig{
		RateLimits: inviteapi.RateLimits{PerOrg: inviteapi.RateLimit{Burst: 2}},
	})
	url := srv.URL + "/organizations/org_a/users:bulk?dryRun=true"
	for i := range 2 {
		if r := call(t, "POST", url, "text/csv", apiCSV); r.status != 200 {
			t.Fatalf("import %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := call(t, "POST", url, "text/csv", apiCSV)
	if code, _, _ := r.errorCode(t); r.status != 429 || code != "rate_limited" || r.header.Get("Retry-After") != "1" {
		t.Fatalf("3rd import: %d %s, Retry-After %q; want 429 rate_limited, 1", r.status, r.body, r.header.Get("Retry-After"))
	}
	if r := call(t, "POST", srv.URL+"/organizations/org_b/users:bulk?dryRun=true", "text/csv", apiCSV); r.status != 200 {
		t.Fatalf("org_b's import after org_a ran out: %d %s", r.status, r.body)
	}
	r = call(t, "POST", srv.URL+"/organizations/org_a/users:bulk/jobs/nope/confirm", "", "")
	if r.status != 429 {
		t.Fatalf("confirm with org_a out of invitations: %d %s, want 429", r.status, r.body)
	}
	e.Clock.Advance(time.Second)
	if r := call(t, "POST", url, "text/csv", apiCSV); r.status != 200 {
		t.Fatalf("import after the wait: %d %s", r.status, r.body)
	}
	if _, err := e.Svc.GetMember(context.Background(), "org_a", invite.UserRef{Email: "ann@example.com"}); !errors.Is(err, invite.ErrNotFound) {
		t.Fatalf("dry runs wrote: %v", err)
	}
}
