package invite_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// plainStore hides a store's optional capabilities: only store.Store.
type plainStore struct{ store.Store }

// fakeRevoker is a store.Store with a store.SessionRevoker beside it:
// generations and the revocation events are kept here.
type fakeRevoker struct {
	store.Store
	mu     sync.Mutex
	gens   map[string]int64
	events []store.Event
}

func (f *fakeRevoker) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := f.Store.GetUser(ctx, id)
	f.mu.Lock()
	u.SessionGeneration = f.gens[id]
	f.mu.Unlock()
	return u, err
}

func (f *fakeRevoker) RevokeSessions(ctx context.Context, userID string, at time.Time, ev store.Event) (int64, error) {
	if _, err := f.Store.GetUser(ctx, userID); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gens == nil {
		f.gens = map[string]int64{}
	}
	f.gens[userID]++
	f.events = append(f.events, store.FillEvent(ev, "", userID))
	return f.gens[userID], nil
}

func (f *fakeRevoker) lastEvent(t *testing.T) store.Event {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		t.Fatal("no revocation event")
	}
	return f.events[len(f.events)-1]
}

func TestSignOutEverywhere(t *testing.T) {
	ctx := context.Background()
	st := &fakeRevoker{Store: plainStore{memstore.New()}}
	e := newEnv(t, st, nil)
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	pending := e.Invite(t, "org_a", "ann@example.com") // pending in org_a…
	if _, err := e.Svc.CreateUserAndMembership(ctx, "org_b", invite.InviteRequest{Email: "ann@example.com", SendInvitationEmail: new(bool)}); err != nil {
		t.Fatal(err) // …ACTIVE in org_b
	}
	uid := pending.User.ID
	if got := e.Svc.LoginSessionGeneration(ctx, uid); got != "0" {
		t.Fatalf("LoginSessionGeneration before: %q", got)
	}
	before := len(e.ChangeCalls())
	gen, err := e.Svc.SignOutEverywhere(ctx, uid, "usr_actor")
	if err != nil || gen != 1 {
		t.Fatalf("SignOutEverywhere: %d %v", gen, err)
	}
	ev := st.lastEvent(t)
	if ev.Type != invite.EventSessionsRevoked || ev.OrganizationID != "org_b" || ev.UserID != uid || ev.ActorID != "usr_actor" || ev.ID == "" {
		t.Fatalf("event %+v: want %s in the first ACTIVE organization's feed", ev, invite.EventSessionsRevoked)
	}
	if calls := e.ChangeCalls()[before:]; len(calls) != 1 || calls[0] != "/"+uid {
		t.Fatalf("OnMembershipChange calls %v, want one for every membership of the user", calls)
	}
	if got := e.Svc.LoginSessionGeneration(ctx, uid); got != "1" {
		t.Fatalf("LoginSessionGeneration after: %q", got)
	}
	if gen, _ := e.Svc.SignOutEverywhere(ctx, uid, uid); gen != 2 {
		t.Fatalf("second revocation: generation %d", gen)
	}
	// Errors.
	if _, err := e.Svc.SignOutEverywhere(ctx, "usr_nobody", ""); !errors.Is(err, invite.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if got := e.Svc.LoginSessionGeneration(ctx, "usr_nobody"); got != "0" {
		t.Fatalf("LoginSessionGeneration of an unknown user: %q", got)
	}
	for _, id := range []string{"", "usr\x00x"} {
		if _, err := e.Svc.SignOutEverywhere(ctx, id, ""); err == nil || !errors.As(err, new(*invite.FieldError)) {
			t.Fatalf("user id %q: %v", id, err)
		}
	}
	plain := newEnv(t, plainStore{memstore.New()}, nil)
	plain.Org(t, "org_a")
	res := plain.AddActive(t, "org_a", "bob@example.com")
	if _, err := plain.Svc.SignOutEverywhere(ctx, res.User.ID, ""); !errors.Is(err, invite.ErrSessionsUnsupported) {
		t.Fatalf("store without SessionRevoker: %v", err)
	}
	if _, err := plain.Svc.SignOutMemberEverywhere(ctx, "org_a", res.User.ID, ""); !errors.Is(err, invite.ErrSessionsUnsupported) {
		t.Fatalf("store without SessionRevoker: %v", err)
	}
}

func TestSignOutMemberEverywhere(t *testing.T) {
	ctx := context.Background()
	st := &fakeRevoker{Store: plainStore{memstore.New()}}
	e := newEnv(t, st, nil)
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	active := e.AddActive(t, "org_a", "ann@example.com")
	pending := e.Invite(t, "org_a", "pat@example.com")
	inactive := e.AddActive(t, "org_a", "ina@example.com")
	if _, err := e.Svc.DeactivateMembership(ctx, "org_a", inactive.User.ID, ""); err != nil {
		t.Fatal(err)
	}
	other := e.AddActive(t, "org_b", "zed@example.com")
	gen, err := e.Svc.SignOutMemberEverywhere(ctx, "org_a", active.User.ID, "usr_admin")
	if err != nil || gen != 1 {
		t.Fatalf("active member: %d %v", gen, err)
	}
	if ev := st.lastEvent(t); ev.OrganizationID != "org_a" || ev.Type != invite.EventSessionsRevoked || ev.ActorID != "usr_admin" || ev.UserID != active.User.ID {
		t.Fatalf("event %+v", ev)
	}
	for name, tt := range map[string]struct {
		org, user string
		want      error
	}{
		"pending":            {"org_a", pending.User.ID, invite.ErrWrongStatus},
		"inactive":           {"org_a", inactive.User.ID, invite.ErrWrongStatus},
		"another org's user": {"org_a", other.User.ID, invite.ErrNotFound},
		"unknown org":        {"org_x", active.User.ID, invite.ErrNotFound},
		"no org":             {"", active.User.ID, invite.ErrNotFound},
	} {
		if _, err := e.Svc.SignOutMemberEverywhere(ctx, tt.org, tt.user, ""); !errors.Is(err, tt.want) {
			t.Fatalf("%s: %v, want %v", name, err, tt.want)
		}
	}
	st.mu.Lock()
	n := len(st.events)
	st.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d revocations, want only the ACTIVE member's", n)
	}
}

// TestSignOutEverywhereOnEveryStore runs SignOutEverywhere on the real
// stores (pgstore with INVITEKIT_POSTGRES_DSN): the generation is stored
// with the user, the event is in the feed, the change is pushed.
func TestSignOutEverywhereOnEveryStore(t *testing.T) {
	for _, sc := range append(storeCases(), storeCase{Name: "pgstore", Open: openPGBulk}) {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			st := sc.Open(t)
			e := newEnv(t, st, nil)
			e.Org(t, "org_a")
			ann := e.AddActive(t, "org_a", "ann@example.com")
			changes := make(chan store.Change, 16)
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if err := st.(store.ChangeNotifier).Subscribe(sctx, func(c store.Change) { changes <- c }, func(error) {}); err != nil {
				t.Fatal(err)
			}
			if !e.Svc.CanSignOutEverywhere() {
				t.Fatal("the store cannot revoke sessions")
			}
			gen, err := e.Svc.SignOutEverywhere(ctx, ann.User.ID, "usr_admin")
			if err != nil || gen != 1 {
				t.Fatalf("SignOutEverywhere: %d %v", gen, err)
			}
			if u, err := st.GetUser(ctx, ann.User.ID); err != nil || u.SessionGeneration != 1 {
				t.Fatalf("user %+v %v", u, err)
			}
			if got := e.Svc.LoginSessionGeneration(ctx, ann.User.ID); got != "1" {
				t.Fatalf("LoginSessionGeneration %q", got)
			}
			if ev := e.LastEvent(t, "org_a"); ev.Type != invite.EventSessionsRevoked || ev.UserID != ann.User.ID || ev.ActorID != "usr_admin" {
				t.Fatalf("event %+v", ev)
			}
			select {
			case c := <-changes:
				if c != (store.Change{UserID: ann.User.ID}) {
					t.Fatalf("pushed %+v", c)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no change pushed")
			}
			if _, err := e.Svc.SignOutEverywhere(ctx, "usr_nobody", ""); !errors.Is(err, invite.ErrNotFound) {
				t.Fatalf("unknown user: %v", err)
			}
		})
	}
}

// With Config.SignOutOnDeactivation a deactivation ends the member's
// sessions (the generation moves, so every replica's middleware refuses
// the old session); without it the generation stays and the person stays
// signed in for their other organizations. Reactivation never signs out.
func TestSignOutOnDeactivation(t *testing.T) {
	for _, sc := range append(storeCases(), storeCase{Name: "pgstore", Open: openPGBulk}) {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			for _, on := range []bool{false, true} {
				st := sc.Open(t)
				e := newEnv(t, st, func(c *invite.Config) { c.SignOutOnDeactivation = on })
				e.Org(t, "org_a")
				e.AddActive(t, "org_a", "boss@example.com", "admin")
				ann := e.AddActive(t, "org_a", "ann@example.com")
				if _, err := e.Svc.DeactivateMembership(ctx, "org_a", ann.User.ID, "usr_boss"); err != nil {
					t.Fatal(err)
				}
				want := int64(0)
				if on {
					want = 1
					if ev := e.LastEvent(t, "org_a"); ev.Type != invite.EventSessionsRevoked || ev.UserID != ann.User.ID || ev.ActorID != "usr_boss" {
						t.Fatalf("event %+v", ev)
					}
				}
				if _, err := e.Svc.ReactivateMembership(ctx, "org_a", ann.User.ID, "usr_boss"); err != nil {
					t.Fatal(err)
				}
				if u, err := st.GetUser(ctx, ann.User.ID); err != nil || u.SessionGeneration != want {
					t.Fatalf("SignOutOnDeactivation=%v: generation %d (%v), want %d", on, u.SessionGeneration, err, want)
				}
			}
		})
	}
}
