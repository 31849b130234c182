package invite_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

var invitetestStoresWithPostgres = invitetest.StoreCasesWithPostgres

func ask(email string) invite.JoinRequestInput {
	return invite.JoinRequestInput{Email: email, EmailVerified: true, Name: "Ann Lee", Message: "I work in sales"}
}

func TestJoinRequestApprove(t *testing.T) {
	for _, sc := range invitetestStoresWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, sc.Open(t), nil)
			acme := e.Org(t, "org_acme")

			_, err := e.Svc.RequestToJoin(ctx, acme.ID, invite.JoinRequestInput{Email: "ann@example.com"})
			require.ErrorIs(t, err, invite.ErrEmailNotVerified)
			_, err = e.Svc.RequestToJoin(ctx, "org_missing", ask("ann@example.com"))
			require.ErrorIs(t, err, invite.ErrNotFound)
			_, err = e.Svc.RequestToJoin(ctx, acme.ID, invite.JoinRequestInput{Email: "ann@example.com", EmailVerified: true, Message: "a\x00b"})
			assertFieldError(t, err, "invalid_argument", "message")

			r, err := e.Svc.RequestToJoin(ctx, acme.ID, ask(" Ann@Example.com "))
			require.NoError(t, err)
			assert.Equal(t, "ann@example.com", r.Email)
			assert.Equal(t, store.JoinRequestPending, r.Status)
			assert.Equal(t, store.EventJoinRequested, e.LastEvent(t, acme.ID).Type)
			_, err = e.Svc.RequestToJoin(ctx, acme.ID, ask("ann@example.com"))
			require.ErrorIs(t, err, invite.ErrJoinRequestPending)

			list, err := e.Svc.JoinRequests(ctx, acme.ID, store.JoinRequestPending, 0)
			require.NoError(t, err)
			require.Len(t, list, 1)
			assert.Equal(t, "I work in sales", list[0].Message)

			_, _, err = e.Svc.ApproveJoinRequest(ctx, acme.ID, r.ID, "usr_admin", []string{"owner"})
			assertFieldError(t, err, "invalid_argument", "roles[0]")
			mem, got, err := e.Svc.ApproveJoinRequest(ctx, acme.ID, r.ID, "usr_admin", []string{"billing"})
			require.NoError(t, err)
			assert.Equal(t, store.StatusActive, mem.Membership.Status)
			assert.Equal(t, []string{"billing"}, mem.Membership.Roles)
			assert.Equal(t, "Ann Lee", mem.Membership.Profile.Name)
			assert.Equal(t, store.JoinRequestApproved, got.Status)
			assert.Equal(t, mem.User.ID, got.UserID)
			assert.Equal(t, store.EventJoinApproved, e.LastEvent(t, acme.ID).Type)
			q := e.Queued(t, acme.ID)
			require.Len(t, q, 1)
			assert.Equal(t, outbox.KindJoinApproved, q[0].Kind)
			assert.Equal(t, "ann@example.com", q[0].To)
			assert.Nil(t, q[0].Sealed, "no link")

			_, _, err = e.Svc.ApproveJoinRequest(ctx, acme.ID, r.ID, "usr_admin", nil)
			require.ErrorIs(t, err, invite.ErrWrongStatus)
			_, err = e.Svc.DeclineJoinRequest(ctx, acme.ID, r.ID, "usr_admin", "")
			require.ErrorIs(t, err, invite.ErrWrongStatus)

			// The person signs in: a member, no mail round trip.
			_, ms, err := e.Svc.SignIn(ctx, trusted(verified("ann@example.com")))
			require.NoError(t, err)
			require.Len(t, ms, 1)
			assert.Equal(t, acme.ID, ms[0].OrganizationID)

			// A member (in any status) cannot ask again.
			_, err = e.Svc.RequestToJoin(ctx, acme.ID, ask("ann@example.com"))
			require.ErrorIs(t, err, invite.ErrAlreadyMember)
		})
	}
}

func trusted(id invite.AcceptIdentity) invite.AcceptIdentity { id.TrustEmail = true; return id }

func TestJoinRequestDeclineCooldown(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, func(c *invite.Config) { c.JoinRequests.Cooldown = 48 * time.Hour })
		acme := e.Org(t, "org_acme")
		r, err := e.Svc.RequestToJoin(ctx, acme.ID, ask("ann@example.com"))
		require.NoError(t, err)
		got, err := e.Svc.DeclineJoinRequest(ctx, acme.ID, r.ID, "usr_admin", "  We only take staff.  ")
		require.NoError(t, err)
		assert.Equal(t, store.JoinRequestDeclined, got.Status)
		assert.Equal(t, "We only take staff.", got.Reason)
		q := e.Queued(t, acme.ID)
		require.Len(t, q, 1)
		assert.Equal(t, outbox.KindJoinDeclined, q[0].Kind)
		assert.Equal(t, "We only take staff.", q[0].Data[outbox.DataReason])
		assert.Equal(t, store.EventJoinDeclined, e.LastEvent(t, acme.ID).Type)

		e.Clock.Advance(47 * time.Hour)
		_, err = e.Svc.RequestToJoin(ctx, acme.ID, ask("ann@example.com"))
		var ce *invite.JoinCooldownError
		require.ErrorAs(t, err, &ce)
		require.ErrorIs(t, err, invite.ErrJoinCooldown)
		assert.True(t, ce.Until.Equal(got.DecideTime.Add(48*time.Hour)))

		e.Clock.Advance(2 * time.Hour)
		again, err := e.Svc.RequestToJoin(ctx, acme.ID, ask("ann@example.com"))
		require.NoError(t, err, "after the cool-down")
		mine, err := e.Svc.MyJoinRequest(ctx, acme.ID, "ann@example.com")
		require.NoError(t, err)
		assert.Equal(t, again.ID, mine.ID)
	})
}

// TestJoinRequestTenants: another organization's admin can neither see
// nor decide a request, and is told only "not found".
func TestJoinRequestTenants(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		acme, other := e.Org(t, "org_acme"), e.Org(t, "org_other")
		r, err := e.Svc.RequestToJoin(ctx, acme.ID, ask("ann@example.com"))
		require.NoError(t, err)
		before := takeSnapshot(t, st, []string{acme.ID, other.ID}, []string{"ann@example.com"})

		_, err = e.Svc.JoinRequest(ctx, other.ID, r.ID)
		require.ErrorIs(t, err, invite.ErrNotFound)
		_, _, err = e.Svc.ApproveJoinRequest(ctx, other.ID, r.ID, "usr_other", nil)
		require.ErrorIs(t, err, invite.ErrNotFound)
		_, err = e.Svc.DeclineJoinRequest(ctx, other.ID, r.ID, "usr_other", "no")
		require.ErrorIs(t, err, invite.ErrNotFound)
		list, err := e.Svc.JoinRequests(ctx, other.ID, "", 0)
		require.NoError(t, err)
		assert.Empty(t, list)
		assertUnchanged(t, before, takeSnapshot(t, st, []string{acme.ID, other.ID}, []string{"ann@example.com"}))
	})
}

// TestJoinRequestConcurrentDecisions: two admins decide at once; exactly
// one decision wins, the other is ErrWrongStatus (a 409).
func TestJoinRequestConcurrentDecisions(t *testing.T) {
	for _, sc := range invitetestStoresWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, sc.Open(t), nil)
			acme := e.Org(t, "org_acme")
			r, err := e.Svc.RequestToJoin(ctx, acme.ID, ask("ann@example.com"))
			require.NoError(t, err)
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Go(func() {
					if i%2 == 0 {
						_, _, errs[i] = e.Svc.ApproveJoinRequest(ctx, acme.ID, r.ID, "usr_a", nil)
					} else {
						_, errs[i] = e.Svc.DeclineJoinRequest(ctx, acme.ID, r.ID, "usr_b", "")
					}
				})
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, invite.ErrWrongStatus):
					t.Errorf("unexpected %v", err)
				}
			}
			assert.Equal(t, 1, wins)
			assert.Len(t, e.Queued(t, acme.ID), 1, "one mail")
			code, _ := errorCode(invite.ErrWrongStatus)
			assert.Equal(t, "wrong_status", code)
		})
	}
}
