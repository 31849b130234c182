package invite_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// testKey is the 32-byte secret key the tests seal with.
var testKey = []byte("0123456789abcdef0123456789abcdef")

const acceptURL = "https://app.example.com/invite/accept"

// clock is an injectable, advanceable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// storeCase opens a fresh, empty store.
type storeCase struct {
	name string
	open func(tb testing.TB) store.Store
}

func openMem(tb testing.TB) store.Store { return memstore.New() }

// forEachStore runs fn as a subtest on every store implementation.
func forEachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			fn(t, sc.open(t))
		})
	}
}

// env is a Service on a store with a clock and a record of change hooks.
type env struct {
	st    store.Store
	svc   *invite.Service
	clock *clock

	mu      sync.Mutex
	changes []string // "org/user" per OnMembershipChange call
}

func (e *env) changeCalls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.changes...)
}

// newEnv builds a Service on st; mutate may adjust the Config.
func newEnv(t testing.TB, st store.Store, mutate func(*invite.Config)) *env {
	t.Helper()
	e := &env{st: st, clock: newClock()}
	cfg := invite.Config{
		Roles:     []string{"admin", "member", "billing"},
		SecretKey: testKey,
		AcceptURL: acceptURL,
		Now:       e.clock.Now,
		OnMembershipChange: func(orgID, userID string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.changes = append(e.changes, orgID+"/"+userID)
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	svc, err := invite.New(st, cfg)
	if err != nil {
		t.Fatalf("invite.New: %v", err)
	}
	e.svc = svc
	return e
}

// org creates an organization with a fixed id.
func (e *env) org(t testing.TB, id string) store.Organization {
	t.Helper()
	org, _, err := e.svc.CreateOrganization(context.Background(), invite.CreateOrganizationRequest{ID: id, Name: "Org " + id})
	if err != nil {
		t.Fatalf("CreateOrganization(%s): %v", id, err)
	}
	return org
}

// invite invites email into orgID with default options and returns the
// result; link is requested so tests can accept.
func (e *env) invite(t testing.TB, orgID, email string, roles ...string) *invite.InviteResult {
	t.Helper()
	res, err := e.svc.CreateUserAndMembership(context.Background(), orgID, invite.InviteRequest{
		Email: email, Roles: roles, ReturnAcceptLink: true, InvitedBy: "usr_actor",
		UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee"},
	})
	if err != nil {
		t.Fatalf("invite %s into %s: %v", email, orgID, err)
	}
	return res
}

// addActive adds email directly as ACTIVE.
func (e *env) addActive(t testing.TB, orgID, email string, roles ...string) *invite.InviteResult {
	t.Helper()
	no := false
	res, err := e.svc.CreateUserAndMembership(context.Background(), orgID, invite.InviteRequest{
		Email: email, Roles: roles, SendInvitationEmail: &no, InvitedBy: "usr_actor",
	})
	if err != nil {
		t.Fatalf("add %s into %s: %v", email, orgID, err)
	}
	return res
}

// verified is an identity with a verified email.
func verified(email string) invite.AcceptIdentity {
	return invite.AcceptIdentity{Issuer: "https://idp.example.com", Subject: "sub-" + email, Email: email, EmailVerified: true}
}

// snapshot is everything observable about a set of orgs and emails.
type snapshot struct {
	Members map[string][]string // org → "user|status|roles|metadata" in order
	Events  map[string][]string // org → event types
	Outbox  map[store.OutboxStatus]int
	Users   map[string]string // email → user id ("" if none)
	Orgs    map[string]bool
}

func takeSnapshot(t testing.TB, st store.Store, orgIDs, emails []string) snapshot {
	t.Helper()
	ctx := context.Background()
	s := snapshot{
		Members: map[string][]string{},
		Events:  map[string][]string{},
		Outbox:  map[store.OutboxStatus]int{},
		Users:   map[string]string{},
		Orgs:    map[string]bool{},
	}
	for _, org := range orgIDs {
		_, err := st.GetOrganization(ctx, org)
		s.Orgs[org] = err == nil
		page, err := st.ListMembers(ctx, org, store.ListOptions{Limit: 1000, Now: time.Now()})
		if err != nil {
			t.Fatalf("ListMembers(%s): %v", org, err)
		}
		for _, m := range page.Members {
			md := make([]string, 0, len(m.Membership.Metadata))
			for k, v := range m.Membership.Metadata {
				md = append(md, k+"="+v)
			}
			sort.Strings(md)
			s.Members[org] = append(s.Members[org], m.User.ID+"|"+string(m.Membership.Status)+"|"+
				joinStrings(m.Membership.Roles)+"|"+joinStrings(md)+"|"+m.Membership.InviteExpireTime.String())
		}
		evs, err := st.ListEvents(ctx, org, 0, 1000)
		if err != nil {
			t.Fatalf("ListEvents(%s): %v", org, err)
		}
		for _, ev := range evs {
			s.Events[org] = append(s.Events[org], ev.Type)
		}
	}
	for _, status := range []store.OutboxStatus{store.OutboxQueued, store.OutboxSent, store.OutboxDead} {
		n, err := st.CountOutbox(ctx, status)
		if err != nil {
			t.Fatalf("CountOutbox: %v", err)
		}
		s.Outbox[status] = n
	}
	for _, email := range emails {
		u, err := st.GetUserByEmail(ctx, email)
		switch {
		case err == nil:
			s.Users[email] = u.ID
		case errors.Is(err, store.ErrNotFound):
			s.Users[email] = ""
		default:
			t.Fatalf("GetUserByEmail: %v", err)
		}
	}
	return s
}

func joinStrings(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// assertUnchanged fails when after differs from before.
func assertUnchanged(t testing.TB, before, after snapshot) {
	t.Helper()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// assertFieldError checks err is a *FieldError with code and field.
func assertFieldError(t testing.TB, err error, code, field string) {
	t.Helper()
	var fe *invite.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want *invite.FieldError", err, err)
	}
	if fe.Code != code || fe.Field != field {
		t.Fatalf("FieldError = {Code:%q Field:%q Message:%q}, want code %q field %q", fe.Code, fe.Field, fe.Message, code, field)
	}
	if fe.Message == "" {
		t.Fatalf("FieldError has no message")
	}
}

// events returns orgID's events.
func (e *env) events(t testing.TB, orgID string) []store.Event {
	t.Helper()
	evs, err := e.svc.Events(context.Background(), orgID, 0, 1000)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return evs
}

// lastEvent returns orgID's newest event.
func (e *env) lastEvent(t testing.TB, orgID string) store.Event {
	t.Helper()
	evs := e.events(t, orgID)
	if len(evs) == 0 {
		t.Fatalf("no events in %s", orgID)
	}
	return evs[len(evs)-1]
}

// queued returns orgID's queued outbox messages.
func (e *env) queued(t testing.TB, orgID string) []store.OutboxMessage {
	t.Helper()
	msgs, err := e.st.ListOutbox(context.Background(), orgID, store.OutboxQueued, 1000)
	if err != nil {
		t.Fatalf("ListOutbox: %v", err)
	}
	return msgs
}

// openLink unseals the accept link of an outbox message.
func openLink(t testing.TB, msg store.OutboxMessage) string {
	t.Helper()
	sealer, err := outbox.NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := sealer.Open(msg.ID, msg.Sealed)
	if err != nil {
		t.Fatalf("open sealed data of %s: %v", msg.ID, err)
	}
	return secret[outbox.SecretAcceptURL]
}
