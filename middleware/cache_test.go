package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// get sends an API request as the session cookie's user and returns the
// status and the JSON error code ("" on success).
func getAs(t testing.TB, app http.Handler, cookie *http.Cookie, path string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Accept", "application/json")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	if rec.Code == 200 {
		return 200, ""
	}
	return rec.Code, errorCode(t, rec)
}

// sessionCookieGen is sessionCookie with a session generation ("" for
// none, as sessions made before sign-out-everywhere have).
func sessionCookieGen(t testing.TB, sm *scs.SessionManager, userID, gen string) *http.Cookie {
	t.Helper()
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	sm.Put(ctx, middleware.SessionKeyUserID, userID)
	if gen != "" {
		sm.Put(ctx, middleware.SessionKeyGeneration, gen)
	}
	tok, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: sm.Cookie.Name, Value: tok}
}

// TestOneStoreReadPerMiss: a store with GetMember (store.MemberGetter) is
// read once per cache miss; one without it twice for an ACTIVE member
// (membership, then user) and once otherwise. A hit reads nothing.
func TestOneStoreReadPerMiss(t *testing.T) {
	mem := memstore.New()
	seed(t, mem)
	clk := &clock{now: t0}
	one := &oneReadStore{inner: mem}
	two := &twoReadStore{inner: mem}
	for _, tt := range []struct {
		name                   string
		st                     middleware.MembershipReader
		c                      *readCounter
		active, inactive, none int64 // reads per miss
	}{
		{"MemberGetter", one, &one.readCounter, 1, 1, 1},
		{"GetMembership+GetUser", two, &two.readCounter, 2, 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app, sm, _ := newApp(t, tt.st, middleware.Config{CacheTTL: time.Second, Now: clk.Now})
			for _, c := range []struct {
				user  string
				reads int64
				code  string
			}{{"usr_bob", tt.active, ""}, {"usr_ina", tt.inactive, "membership_inactive"}, {"usr_zed", tt.none, "not_member"}} {
				cookie := sessionCookie(t, sm, c.user)
				before := tt.c.total()
				for i := range 5 {
					if _, code := getAs(t, app, cookie, "/orgs/org_a/dash"); code != c.code {
						t.Fatalf("%s request %d: %q, want %q", c.user, i, code, c.code)
					}
				}
				if got := tt.c.total() - before; got != c.reads {
					t.Fatalf("%s: %d store reads for 5 requests, want %d (one miss)", c.user, got, c.reads)
				}
			}
			if tt.st == one && (one.getMembership.Load() != 0 || one.getUser.Load() != 0) {
				t.Fatal("GetMembership/GetUser used although the store has GetMember")
			}
		})
	}
}

// TestConcurrentRequestsRace drives many requests for a few members at
// once while memberships change and the cache is invalidated (run with
// -race): every answer belongs to its own request's member, and once the
// changes stop each member's answer is the store's.
func TestConcurrentRequestsRace(t *testing.T) {
	mem := memstore.New()
	seed(t, mem)
	st := &oneReadStore{inner: mem}
	app, sm, mw := newApp(t, st, middleware.Config{CacheTTL: time.Minute})
	users := []string{"usr_ann", "usr_bob", "usr_pat", "usr_ina", "usr_zed"}
	want := map[string]int{"usr_ann": 200, "usr_bob": 200, "usr_pat": 403, "usr_ina": 403, "usr_zed": 403}
	cookies := map[string]*http.Cookie{}
	for _, u := range users {
		cookies[u] = sessionCookie(t, sm, u)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 100 {
				u := users[(g+i)%len(users)]
				req := httptest.NewRequest("GET", "/orgs/org_a/dash", nil)
				req.Header.Set("Accept", "application/json")
				req.AddCookie(cookies[u])
				rec := httptest.NewRecorder()
				app.ServeHTTP(rec, req)
				if rec.Code == 200 && rec.Body.String() != u+" in org_a" {
					errs <- fmt.Errorf("%s got %q", u, rec.Body.String())
					return
				}
			}
		})
	}
	for i := range 200 {
		switch i % 3 {
		case 0:
			mw.Invalidate("org_a", users[i%len(users)])
		case 1:
			mw.Invalidate("", users[i%len(users)])
		case 2:
			mw.Invalidate("", "")
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, u := range users {
		if code, _ := getAs(t, app, cookies[u], "/orgs/org_a/dash"); code != want[u] {
			t.Fatalf("%s: %d, want %d", u, code, want[u])
		}
	}
}

// TestSessionGeneration: a session carries the generation it was made in;
// an older one than the user's is refused as no session (401 for API
// requests, a redirect to login for pages), a missing one is generation 0,
// and an unreadable one is refused.
func TestSessionGeneration(t *testing.T) {
	mem := memstore.New()
	seed(t, mem)
	gens := &generations{}
	st := &oneReadStore{inner: mem, gens: gens}
	app, sm, mw := newApp(t, st, middleware.Config{CacheTTL: time.Minute})
	legacy := sessionCookieGen(t, sm, "usr_bob", "")
	gen0 := sessionCookieGen(t, sm, "usr_bob", "0")
	garbage := sessionCookieGen(t, sm, "usr_bob", "x1")
	for name, c := range map[string]*http.Cookie{"no generation": legacy, "generation 0": gen0} {
		if code, _ := getAs(t, app, c, "/orgs/org_a/dash"); code != 200 {
			t.Fatalf("%s before any revocation: %d", name, code)
		}
	}
	if code, ecode := getAs(t, app, garbage, "/orgs/org_a/dash"); code != 401 || ecode != "unauthenticated" {
		t.Fatalf("unreadable generation: %d %s", code, ecode)
	}

	gens.bump("usr_bob")                            // sign out everywhere…
	mw.Invalidate("", "usr_bob")                    // …as the store's push (or OnMembershipChange) applies it
	gen1 := sessionCookieGen(t, sm, "usr_bob", "1") // a login after it
	for name, c := range map[string]*http.Cookie{"no generation": legacy, "generation 0": gen0} {
		if code, ecode := getAs(t, app, c, "/orgs/org_a/dash"); code != 401 || ecode != "unauthenticated" {
			t.Fatalf("%s after the revocation: %d %s, want 401 unauthenticated", name, code, ecode)
		}
	}
	if code, _ := getAs(t, app, gen1, "/orgs/org_a/dash"); code != 200 {
		t.Fatalf("a session made after the revocation: %d", code)
	}
	// A page request is sent to login.
	req := httptest.NewRequest("GET", "/orgs/org_a/dash", nil)
	req.AddCookie(legacy)
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login?return_to=") {
		t.Fatalf("page request with a revoked session: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	// Check reports ErrSessionRevoked, which is ErrNoSession.
	ctx, err := sm.Load(context.Background(), legacy.Value)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/orgs/org_a/dash", nil).WithContext(ctx)
	r.SetPathValue("orgID", "org_a")
	if _, err := mw.Check(r); !errors.Is(err, middleware.ErrSessionRevoked) || !errors.Is(err, middleware.ErrNoSession) {
		t.Fatalf("Check: %v", err)
	}
}

// revokingStore is a store.Store (only: the inner store's optional
// capabilities are hidden) with session generations: a stand-in for a
// store.SessionRevoker.
type revokingStore struct {
	store.Store
	gens *generations
}

func (s *revokingStore) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := s.Store.GetUser(ctx, id)
	s.gens.apply(&u)
	return u, err
}

func (s *revokingStore) RevokeSessions(ctx context.Context, userID string, at time.Time, ev store.Event) (int64, error) {
	if _, err := s.Store.GetUser(ctx, userID); err != nil {
		return 0, err
	}
	return s.gens.bump(userID), nil
}

var _ store.SessionRevoker = (*revokingStore)(nil)

// TestSignOutEverywhere: invite.Service.SignOutEverywhere, with the cache
// wired to OnMembershipChange, refuses every session of the user on its
// next request, and a new login (carrying the new generation) gets in.
func TestSignOutEverywhere(t *testing.T) {
	ctx := context.Background()
	st := &revokingStore{Store: memstore.New(), gens: &generations{}}
	sm := scs.New()
	mw, err := middleware.New(st, sm, middleware.Config{CacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := invite.New(st, invite.Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example/accept", OnMembershipChange: mw.Invalidate})
	if err != nil {
		t.Fatal(err)
	}
	org, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	org2, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Beta"})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	res, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "ann@example.com", SendInvitationEmail: &no})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUserAndMembership(ctx, org2.ID, invite.InviteRequest{Email: "ann@example.com", SendInvitationEmail: &no}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{orgID}/dash", mw.RequireMember(whoami))
	app := sm.LoadAndSave(mux)
	uid := res.User.ID
	login := func() *http.Cookie { return sessionCookieGen(t, sm, uid, svc.LoginSessionGeneration(ctx, uid)) }
	laptop, phone := login(), login()
	for _, c := range []*http.Cookie{laptop, phone} {
		for _, o := range []string{org.ID, org2.ID} {
			if code, _ := getAs(t, app, c, "/orgs/"+o+"/dash"); code != 200 {
				t.Fatalf("before: %d", code)
			}
		}
	}
	gen, err := svc.SignOutEverywhere(ctx, uid, uid)
	if err != nil || gen != 1 {
		t.Fatalf("SignOutEverywhere: %d %v", gen, err)
	}
	for _, c := range []*http.Cookie{laptop, phone} {
		for _, o := range []string{org.ID, org2.ID} {
			if code, ecode := getAs(t, app, c, "/orgs/"+o+"/dash"); code != 401 || ecode != "unauthenticated" {
				t.Fatalf("after: %d %s, want 401", code, ecode)
			}
		}
	}
	if code, _ := getAs(t, app, login(), "/orgs/"+org.ID+"/dash"); code != 200 {
		t.Fatalf("a new login: %d", code)
	}
}

// TestPushInvalidation: with a ChangeNotifier started, entries live
// CacheTTL and each pushed change drops what it names at once; a lost
// subscription falls back to FallbackTTL at once; the resync drops all.
func TestPushInvalidation(t *testing.T) {
	ctx := t.Context()
	mem := memstore.New()
	seed(t, mem)
	clk := &clock{now: t0}
	n := &fakeNotifier{}
	st := &notifyingStore{oneReadStore: &oneReadStore{inner: mem}, fakeNotifier: n}
	app, sm, mw := newApp(t, st, middleware.Config{CacheTTL: 5 * time.Minute, Now: clk.Now})
	if n.subscribes.Load() != 0 {
		t.Fatal("New subscribed")
	}
	if got := mw.CacheStats().Push; got != "down" {
		t.Fatalf("push %q before Start", got)
	}
	if err := mw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mw.Start(ctx); err == nil {
		t.Fatal("a second Start while subscribed succeeded")
	}
	if got := mw.CacheStats().Push; got != "up" {
		t.Fatalf("push %q after Start", got)
	}
	bob, ann := sessionCookie(t, sm, "usr_bob"), sessionCookie(t, sm, "usr_ann")
	reads := func() int64 { return st.total() }
	get := func(c *http.Cookie) int { code, _ := getAs(t, app, c, "/orgs/org_a/dash"); return code }
	get(bob)
	get(ann)
	r0 := reads()
	clk.Add(4 * time.Minute)
	if get(bob) != 200 || get(ann) != 200 || reads() != r0 {
		t.Fatal("with push up, entries must live CacheTTL")
	}
	// Another replica deactivates bob; the store pushes the change.
	deactivate := func(user string) {
		if _, err := mem.SetMembershipStatus(context.Background(), "org_a", user, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: t0,
			Event: store.Event{OrganizationID: "org_a", Type: store.EventMembershipDeactivated, CreateTime: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	reactivate := func(user string) {
		if _, err := mem.SetMembershipStatus(context.Background(), "org_a", user, store.StatusChange{From: store.StatusInactive, To: store.StatusActive, Now: t0,
			Event: store.Event{OrganizationID: "org_a", Type: store.EventMembershipReactivated, CreateTime: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	deactivate("usr_bob")
	if get(bob) != 200 {
		t.Fatal("the change is visible before it was pushed: the test does not test the push")
	}
	n.publish(store.Change{OrganizationID: "org_a", UserID: "usr_bob"})
	if get(bob) != 403 {
		t.Fatal("a pushed change was not applied")
	}
	if reads() != r0+1 || get(ann) != 200 || reads() != r0+1 {
		t.Fatal("a change of bob dropped more than bob's entry")
	}
	reactivate("usr_bob")
	n.publish(store.Change{UserID: "usr_bob"}) // every membership of the user
	if get(bob) != 200 {
		t.Fatal("a user change was not applied")
	}

	// The subscription is lost: entries cached before are served at most
	// FallbackTTL (1s) longer, new ones live FallbackTTL.
	n.lose()
	if got := mw.CacheStats().Push; got != "down" {
		t.Fatalf("push %q after the loss", got)
	}
	deactivate("usr_bob") // not pushed: the subscription is down
	clk.Add(999 * time.Millisecond)
	if get(bob) != 200 {
		t.Fatal("within FallbackTTL of the loss the cached entry may be served")
	}
	clk.Add(time.Millisecond)
	if get(bob) != 403 {
		t.Fatal("served more than FallbackTTL after the subscription was lost")
	}
	reactivate("usr_bob")
	clk.Add(time.Second)
	if get(bob) != 200 {
		t.Fatal("an entry cached while push is down lived more than FallbackTTL")
	}
	// Reconnected: the resync drops everything and CacheTTL is back.
	r1 := reads()
	n.publish(store.Change{})
	if get(ann) != 200 || reads() != r1+1 {
		t.Fatal("the resync did not drop the cache")
	}
	clk.Add(4 * time.Minute)
	if get(ann) != 200 || reads() != r1+1 {
		t.Fatal("CacheTTL not back after the resync")
	}

	// Everything dropped at once.
	n.publish(store.Change{})
	if st := mw.CacheStats(); st.Entries != 0 || st.Push != "up" {
		t.Fatalf("after a resync: %+v", st)
	}
}

// TestStartEndsWithContext: when Start's context ends, the cache falls
// back to FallbackTTL, and a later Start subscribes again.
func TestStartEndsWithContext(t *testing.T) {
	mem := memstore.New()
	seed(t, mem)
	n := &fakeNotifier{}
	st := &notifyingStore{oneReadStore: &oneReadStore{inner: mem}, fakeNotifier: n}
	_, _, mw := newApp(t, st, middleware.Config{CacheTTL: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	if err := mw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if !waitUntil(func() bool { return mw.CacheStats().Push == "down" }) {
		t.Fatal("push still up after Start's context ended")
	}
	if err := mw.Start(t.Context()); err != nil {
		t.Fatalf("Start after the end of the first subscription: %v", err)
	}
	if n.subscribes.Load() != 2 || mw.CacheStats().Push != "up" {
		t.Fatalf("%d subscriptions, push %s", n.subscribes.Load(), mw.CacheStats().Push)
	}
}

// TestStartErrors: without a cache Start returns nil (on memstore it
// subscribes the SSO policies only); with a cache and without a notifier
// it says so; a failed first subscription is returned and leaves the
// cache on FallbackTTL; Start may be retried.
func TestStartErrors(t *testing.T) {
	mem := memstore.New()
	_, _, mw := newApp(t, mem, middleware.Config{})
	if err := mw.Start(t.Context()); err != nil {
		t.Fatalf("without a cache: %v", err)
	}
	_, _, mw = newApp(t, &twoReadStore{inner: mem}, middleware.Config{CacheTTL: time.Second})
	if err := mw.Start(t.Context()); !errors.Is(err, middleware.ErrNoNotifier) {
		t.Fatalf("without a notifier: %v", err)
	}
	if got := mw.CacheStats().Push; got != "off" {
		t.Fatalf("push %q without a notifier", got)
	}
	n := &fakeNotifier{failWith: errors.New("connection refused")}
	_, _, mw = newApp(t, &twoReadStore{inner: mem}, middleware.Config{CacheTTL: time.Minute, Notifier: n})
	if err := mw.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("failed subscription: %v", err)
	}
	if got := mw.CacheStats().Push; got != "down" {
		t.Fatalf("push %q after a failed Start", got)
	}
	n.mu.Lock()
	n.failWith = nil
	n.mu.Unlock()
	if err := mw.Start(t.Context()); err != nil || mw.CacheStats().Push != "up" {
		t.Fatalf("retried Start: %v, push %s", err, mw.CacheStats().Push)
	}
}

// TestNoNotifierStalenessBound: without push, a long CacheTTL is still
// served at most FallbackTTL (the bound a change made by another process
// may be late).
func TestNoNotifierStalenessBound(t *testing.T) {
	mem := memstore.New()
	seed(t, mem)
	clk := &clock{now: t0}
	st := &twoReadStore{inner: mem}
	app, sm, _ := newApp(t, st, middleware.Config{CacheTTL: middleware.MaxCacheTTL, FallbackTTL: 300 * time.Millisecond, Now: clk.Now})
	bob := sessionCookie(t, sm, "usr_bob")
	getAs(t, app, bob, "/orgs/org_a/dash")
	r := st.total()
	clk.Add(299 * time.Millisecond)
	getAs(t, app, bob, "/orgs/org_a/dash")
	if st.total() != r {
		t.Fatal("not cached")
	}
	clk.Add(time.Millisecond)
	getAs(t, app, bob, "/orgs/org_a/dash")
	if st.total() == r {
		t.Fatal("served past FallbackTTL without a notifier")
	}
}

// TestInProcessPush: memstore and sqlitestore push their changes in
// process. With Start and a frozen clock (no TTL can expire), and without
// OnMembershipChange, a deactivation and a sign-out-everywhere made
// through the Service are refused on the next request.
func TestInProcessPush(t *testing.T) {
	for _, sc := range scaleStores()[:2] {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			st, closeStore := sc.open(t)
			t.Cleanup(closeStore)
			sm := scs.New()
			mw, err := middleware.New(st, sm, middleware.Config{CacheTTL: middleware.MaxCacheTTL, Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			if err := mw.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			svc, err := invite.New(st, invite.Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example/accept"})
			if err != nil {
				t.Fatal(err)
			}
			org, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme"})
			if err != nil {
				t.Fatal(err)
			}
			no := false
			ann, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "ann@example.com", SendInvitationEmail: &no})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "bob@example.com", SendInvitationEmail: &no})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle("GET /orgs/{orgID}/dash", mw.RequireMember(whoami))
			app := sm.LoadAndSave(mux)
			annC := sessionCookieGen(t, sm, ann.User.ID, svc.LoginSessionGeneration(ctx, ann.User.ID))
			bobC := sessionCookieGen(t, sm, bob.User.ID, svc.LoginSessionGeneration(ctx, bob.User.ID))
			path := "/orgs/" + org.ID + "/dash"
			for _, c := range []*http.Cookie{annC, bobC} {
				if code, _ := getAs(t, app, c, path); code != 200 {
					t.Fatalf("before: %d", code)
				}
			}
			if _, err := svc.DeactivateMembership(ctx, org.ID, ann.User.ID, ""); err != nil {
				t.Fatal(err)
			}
			if code, _ := getAs(t, app, annC, path); code != 403 {
				t.Fatalf("after the deactivation: %d", code)
			}
			if _, err := svc.SignOutEverywhere(ctx, bob.User.ID, bob.User.ID); err != nil {
				t.Fatal(err)
			}
			if code, _ := getAs(t, app, bobC, path); code != 401 {
				t.Fatalf("after sign-out everywhere: %d", code)
			}
		})
	}
}
