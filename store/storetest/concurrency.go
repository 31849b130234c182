package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// parallel runs fn(0..n-1) in n goroutines released at once and returns
// their errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// winners returns the indexes of nil errors and checks that every other
// error is want.
func winners(t *testing.T, errs []error, want error) []int {
	t.Helper()
	var ok []int
	for i, err := range errs {
		if err == nil {
			ok = append(ok, i)
		} else if !errors.Is(err, want) {
			t.Errorf("goroutine %d: got %v, want %v", i, err, want)
		}
	}
	return ok
}

func testConcurrentAccept(t *testing.T, f *fixture) {
	org := f.org()
	inv := f.invite(org.ID, f.email("race"))
	at := f.now.Add(time.Hour)
	params := make([]store.AcceptParams, 100)
	for i := range params {
		params[i] = f.acceptParams(inv.Invitation, at)
	}
	errs := parallel(len(params), func(i int) error {
		_, err := f.st.AcceptInvitation(f.ctx, params[i])
		return err
	})
	ok := winners(t, errs, store.ErrInviteUsed)
	require.Len(t, ok, 1, "exactly one accept succeeds")

	assert.Equal(t, store.StatusActive, f.membership(org.ID, inv.User.ID).Status)
	var accepted []string
	for _, ev := range f.events(org.ID) {
		if ev.Type == store.EventMembershipAccepted {
			accepted = append(accepted, ev.ID)
		}
	}
	assert.Equal(t, []string{params[ok[0]].Event.ID}, accepted, "exactly the winner's event")
	for i, p := range params {
		_, err := f.st.GetIdentity(f.ctx, p.Identity.Issuer, p.Identity.Subject)
		if i == ok[0] {
			assert.NoError(t, err, "the winner's identity is linked")
		} else {
			assert.ErrorIs(t, err, store.ErrNotFound, "loser %d's identity is linked", i)
		}
	}
}

func testConcurrentInvite(t *testing.T, f *fixture) {
	org := f.org()
	email := f.email("same")
	params := make([]store.CreateMembershipParams, 50)
	for i := range params {
		params[i] = InviteParams(org.ID, email, f.now)
	}
	results := make([]store.CreateMembershipResult, len(params))
	errs := parallel(len(params), func(i int) error {
		var err error
		results[i], err = f.st.CreateMembership(f.ctx, params[i])
		return err
	})
	ok := winners(t, errs, store.ErrAlreadyMember)
	require.Len(t, ok, 1, "exactly one invite succeeds")
	w := ok[0]

	assert.Equal(t, []string{params[w].User.ID}, f.memberIDs(org.ID, store.ListOptions{}))
	u, err := f.st.GetUserByEmail(f.ctx, email)
	require.NoError(t, err)
	assert.Equal(t, results[w].User.ID, u.ID)
	for i, p := range params {
		if i == w {
			continue
		}
		_, err := f.st.GetUser(f.ctx, p.User.ID)
		assert.ErrorIs(t, err, store.ErrNotFound, "loser %d wrote a user", i)
		_, err = f.st.GetInvitation(f.ctx, p.Invitation.ID)
		assert.ErrorIs(t, err, store.ErrNotFound, "loser %d wrote an invitation", i)
	}
	assert.Equal(t, []string{params[w].Outbox.ID}, outboxIDs(f.outbox(org.ID, store.OutboxQueued)))
	evs := f.events(org.ID)
	require.Len(t, evs, 2, "organization.created + one invite")
	assert.Equal(t, params[w].Event.ID, evs[1].ID)
}

func testConcurrentInviteManyOrgs(t *testing.T, f *fixture) {
	email := f.email("everywhere")
	params := make([]store.CreateMembershipParams, 20)
	for i := range params {
		params[i] = InviteParams(f.org().ID, email, f.now)
	}
	results := make([]store.CreateMembershipResult, len(params))
	errs := parallel(len(params), func(i int) error {
		var err error
		results[i], err = f.st.CreateMembership(f.ctx, params[i])
		return err
	})
	for i, err := range errs {
		require.NoError(t, err, "invite %d: one email into many organizations at once must all succeed", i)
	}
	u, err := f.st.GetUserByEmail(f.ctx, email)
	require.NoError(t, err)
	created := 0
	for i, r := range results {
		assert.Equal(t, u.ID, r.User.ID, "invite %d: one user per email", i)
		assert.Equal(t, u.ID, r.Membership.UserID)
		if r.UserCreated {
			created++
		}
	}
	assert.Equal(t, 1, created, "exactly one invite created the user")
	ms, err := f.st.ListUserMemberships(f.ctx, u.ID)
	require.NoError(t, err)
	assert.Len(t, ms, len(params))
}

func testConcurrentClaim(t *testing.T, f *fixture) {
	org := f.org()
	want := map[string]bool{}
	for range 200 {
		want[f.invite(org.ID, f.email("bulk")).Outbox.ID] = true
	}
	lease := f.now.Add(time.Hour)
	claimed := make([][]string, 8)
	errs := parallel(len(claimed), func(i int) error {
		for range 200 { // 200 messages: more rounds means double claims
			msgs, err := f.st.ClaimOutbox(f.ctx, f.now, lease, 7)
			if err != nil {
				return err
			}
			if len(msgs) == 0 {
				return nil
			}
			for _, m := range msgs {
				claimed[i] = append(claimed[i], m.ID)
			}
		}
		return errors.New("claimer never ran out of messages: the lease does not hide claimed messages")
	})
	for i, err := range errs {
		require.NoError(t, err, "claimer %d", i)
	}
	seen := map[string]int{}
	for _, ids := range claimed {
		for _, id := range ids {
			seen[id]++
		}
	}
	for id, n := range seen {
		assert.Equal(t, 1, n, "message %s claimed %d times", id, n)
		assert.True(t, want[id], "claimed an unknown message %s", id)
	}
	assert.Len(t, seen, len(want), "every message claimed")
}
