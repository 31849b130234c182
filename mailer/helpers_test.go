package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// testKey is a fixed 32-byte secret key for tests.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func mustSealer(t testing.TB) *outbox.Sealer {
	t.Helper()
	s, err := outbox.NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// acceptLink is the link sealed into the i-th queued mail.
func acceptLink(base string, i int) string {
	return fmt.Sprintf("%s?token=inv_test%05d.dmVyaWZpZXItJWQtc2VjcmV0", base, i)
}

// queueSpec describes mails to queue directly in a store, the way the invite
// service does (one membership, invitation and outbox message per mail).
type queueSpec struct {
	N          int
	Kind       string // default outbox.KindInvitation
	Locale     func(i int) string
	AcceptBase string // default "https://app.example/accept"
	Now        time.Time
	OrgID      string // default "org_mail"
}

// queueMails creates the org (once) and N outbox messages; it returns them.
func queueMails(t testing.TB, st store.Store, sealer *outbox.Sealer, q queueSpec) []store.OutboxMessage {
	t.Helper()
	ctx := context.Background()
	if q.Kind == "" {
		q.Kind = outbox.KindInvitation
	}
	if q.AcceptBase == "" {
		q.AcceptBase = "https://app.example/accept"
	}
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	if q.OrgID == "" {
		q.OrgID = "org_mail"
	}
	err := st.CreateOrganization(ctx, store.Organization{ID: q.OrgID, Name: "Acme", CreateTime: q.Now, UpdateTime: q.Now},
		store.Event{ID: store.NewID("evt"), OrganizationID: q.OrgID, Type: store.EventOrganizationCreated, CreateTime: q.Now})
	if err != nil && !errors.Is(err, store.ErrOrganizationExists) {
		t.Fatal(err)
	}
	params := make([]store.CreateMembershipParams, q.N)
	msgs := make([]store.OutboxMessage, q.N)
	for i := range q.N {
		locale := "en"
		if q.Locale != nil {
			locale = q.Locale(i)
		}
		email := fmt.Sprintf("user%05d-%s@example.com", i, store.NewID("x")[2:10])
		id := store.NewID("msg")
		sealed, err := sealer.Seal(id, map[string]string{outbox.SecretAcceptURL: acceptLink(q.AcceptBase, i)})
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = store.OutboxMessage{
			ID: id, OrganizationID: q.OrgID, Kind: q.Kind, To: email, MessageID: id + "@invitekit",
			Data: map[string]string{
				"org_id": q.OrgID, "org_name": "Acme", "first_name": fmt.Sprintf("User%d", i), "last_name": "Test",
				"inviter_name": "Bob Boss", "email": email, "locale": locale,
				"expire_time": q.Now.Add(15 * 24 * time.Hour).UTC().Format(time.RFC3339),
			},
			Sealed: sealed, Status: store.OutboxQueued, NextAttemptTime: q.Now, CreateTime: q.Now,
		}
		invID := store.NewID("inv")
		params[i] = store.CreateMembershipParams{
			User: store.User{Email: email, Profile: store.UserProfile{FirstName: fmt.Sprintf("User%d", i), Locale: locale}, CreateTime: q.Now, UpdateTime: q.Now},
			Membership: store.Membership{OrganizationID: q.OrgID, Status: store.StatusPendingInvite, Roles: []string{"member"},
				InviteExpireTime: q.Now.Add(15 * 24 * time.Hour), JoinTime: q.Now, UpdateTime: q.Now},
			Invitation: &store.Invitation{ID: invID, OrganizationID: q.OrgID, Email: email, VerifierHash: make([]byte, 32),
				CreateTime: q.Now, ExpireTime: q.Now.Add(15 * 24 * time.Hour)},
			Outbox: &msgs[i],
			Event:  store.Event{ID: store.NewID("evt"), OrganizationID: q.OrgID, Type: store.EventMembershipInvited, CreateTime: q.Now},
		}
	}
	if bc, ok := st.(store.BatchCreator); ok {
		for start := 0; start < len(params); start += 1000 {
			res, err := bc.CreateMemberships(ctx, params[start:min(start+1000, len(params))])
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
		}
		return msgs
	}
	for _, p := range params {
		if _, err := st.CreateMembership(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return msgs
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder is a Mailer that records sends and fails as told.
type recorder struct {
	mu   sync.Mutex
	sent []mailer.Message
	fail func(m mailer.Message, call int) error
	call int
}

func (r *recorder) Send(ctx context.Context, m mailer.Message) error {
	r.mu.Lock()
	r.call++
	call := r.call
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(m, call); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.sent = append(r.sent, m)
	r.mu.Unlock()
	return nil
}

func (r *recorder) Sent() []mailer.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mailer.Message(nil), r.sent...)
}

// waitFor polls cond until it holds or 60 s pass (a hang guard, not a timing
// assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newMemstore() store.Store { return memstore.New() }
