package invite_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

// secondCommitFails is a store whose RecordLogin fails: a Service that
// records the accept's login in a second transaction loses it.
type secondCommitFails struct {
	store.Store
	store.AcceptLoginer
	recordLogins atomic.Int32
}

func (s *secondCommitFails) RecordLogin(context.Context, string, time.Time, store.Event) error {
	s.recordLogins.Add(1)
	return errors.New("a second commit")
}

// TestAcceptOneCommit: on a store.AcceptLoginer, AcceptInvitation writes
// the accept and the login record in one transaction (no RecordLogin
// call): the user's and the membership's last login and both events.
func TestAcceptOneCommit(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) { testAcceptOneCommit(t, sc.Open(t)) })
	}
}

func testAcceptOneCommit(t *testing.T, st store.Store) {
	al, ok := st.(store.AcceptLoginer)
	if !ok {
		t.Skipf("%T is not a store.AcceptLoginer", st)
	}
	wrapped := &secondCommitFails{Store: st, AcceptLoginer: al}
	e := newEnv(t, wrapped, nil)
	ctx := context.Background()
	e.Org(t, "org_a")
	res := e.Invite(t, "org_a", "ann@example.com")
	e.Clock.Advance(time.Hour)
	m, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(res.AcceptLink), verified("ann@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if n := wrapped.recordLogins.Load(); n != 0 {
		t.Fatalf("RecordLogin called %d times: the login took a second commit", n)
	}
	now := e.Clock.Now()
	u, err := st.GetUser(ctx, res.User.ID)
	if err != nil || u.LastLogin == nil || !u.LastLogin.Equal(now) {
		t.Fatalf("user last login %v, %v", u.LastLogin, err)
	}
	if m.LastLogin == nil || !m.LastLogin.Equal(now) {
		t.Fatalf("membership last login %v", m.LastLogin)
	}
	evs := e.Events(t, "org_a")
	if len(evs) < 2 || evs[len(evs)-2].Type != store.EventMembershipAccepted || evs[len(evs)-1].Type != store.EventUserLoggedIn {
		t.Fatalf("events %+v", evs)
	}
	if evs[len(evs)-1].Data["issuer"] == "" {
		t.Fatalf("login event data %v", evs[len(evs)-1].Data)
	}
}
