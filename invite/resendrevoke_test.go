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
	"github.com/invitekit/invitekit/store"
)

// TestResendRevokeRefusalsAsBefore: on every store, each refusal of
// ResendInvitation, InviteLink and RevokeInvitation (an unknown id,
// another organization's id, an unknown organization, not pending,
// revoked already) is the error a Service without the stores' one-trip
// capabilities (store.GuardedRevoker, store.InvitationMemberGetter,
// store.ReissueMemberer) returns, word for word, and writes nothing; an
// expired invitation is renewed and revoked like a pending one.
func TestResendRevokeRefusalsAsBefore(t *testing.T) {
	withChecked(t, func(t *testing.T, st store.Store, e *env, plain *invite.Service) {
		ctx := context.Background()
		e.Org(t, "org_a")
		e.Org(t, "org_b")
		pending := e.Invite(t, "org_a", "ann@example.com", "member")
		other := e.Invite(t, "org_b", "bob@example.com", "member")
		active := e.AddActive(t, "org_a", "cy@example.com")
		gone := e.Invite(t, "org_a", "dee@example.com")
		require.NoError(t, e.Svc.RevokeInvitation(ctx, "org_a", gone.User.ID, "usr_admin"))

		type call func(svc *invite.Service, org, user string) error
		calls := map[string]call{
			"resend": func(svc *invite.Service, org, user string) error {
				_, err := svc.ResendInvitation(ctx, org, user, "usr_admin")
				return err
			},
			"link": func(svc *invite.Service, org, user string) error {
				_, err := svc.InviteLink(ctx, org, user, "usr_admin")
				return err
			},
			"revoke": func(svc *invite.Service, org, user string) error {
				return svc.RevokeInvitation(ctx, org, user, "usr_admin")
			},
		}
		cases := []struct {
			name, org, user string
			want            error
		}{
			{"unknown user", "org_a", "usr_nope", invite.ErrNotFound},
			{"another organization's membership", "org_a", other.User.ID, invite.ErrNotFound},
			{"unknown organization", "org_nope", pending.User.ID, invite.ErrNotFound},
			{"active", "org_a", active.User.ID, invite.ErrWrongStatus},
			{"revoked already", "org_a", gone.User.ID, invite.ErrNotFound},
		}
		orgs, emails := []string{"org_a", "org_b"}, []string{"ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com"}
		for name, fn := range calls {
			for _, tc := range cases {
				before := takeSnapshot(t, st, orgs, emails)
				got := fn(e.Svc, tc.org, tc.user)
				require.ErrorIs(t, got, tc.want, "%s, %s", name, tc.name)
				want := fn(plain, tc.org, tc.user)
				assert.Equal(t, want.Error(), got.Error(), "%s, %s: the checked path's error", name, tc.name)
				assert.Equal(t, errorCodeOf(want), errorCodeOf(got), "%s, %s", name, tc.name)
				assertUnchanged(t, before, takeSnapshot(t, st, orgs, emails))
			}
		}
		// The other organization's invitation still works.
		if _, err := e.Svc.LookupInvitation(ctx, invite.TokenFromLink(other.AcceptLink)); err != nil {
			t.Errorf("org_b's invitation after org_a's refusals: %v", err)
		}

		// Expired: a resend renews it, a revoke withdraws it; the revoke's
		// event carries the roles and the email, as the checked path's.
		e.Clock.Advance(20 * 24 * time.Hour)
		m, err := e.Svc.ResendInvitation(ctx, "org_a", pending.User.ID, "usr_admin")
		require.NoError(t, err)
		fresh, err := st.GetMembership(ctx, "org_a", pending.User.ID)
		require.NoError(t, err)
		assert.Equal(t, fresh, m, "the membership as the store reads it after the write")
		assert.True(t, m.InviteExpireTime.Equal(e.Clock.Now().Add(invite.DefaultInviteTTL)))
		assert.Equal(t, store.EventInvitationRenewed, e.LastEvent(t, "org_a").Type)
		e.Clock.Advance(20 * 24 * time.Hour)
		require.NoError(t, e.Svc.RevokeInvitation(ctx, "org_a", pending.User.ID, "usr_admin"))
		ev := e.LastEvent(t, "org_a")
		assert.Equal(t, store.EventMembershipRevoked, ev.Type)
		assert.Equal(t, map[string]string{"roles": "member", "email": "ann@example.com"}, ev.Data)
		again := e.Invite(t, "org_a", "eve@example.com", "member", "billing")
		require.NoError(t, plain.RevokeInvitation(ctx, "org_a", again.User.ID, "usr_admin"))
		assert.Equal(t, map[string]string{"roles": "member,billing", "email": "eve@example.com"}, e.LastEvent(t, "org_a").Data, "the checked path's event")
	})
}

// withChecked runs fn on every store (pgstore too) with a Service on it
// (e) and one on the same store and clock without its optional
// capabilities (plain).
func withChecked(t *testing.T, fn func(t *testing.T, st store.Store, e *env, plain *invite.Service)) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			st := sc.Open(t)
			e := newEnv(t, st, nil)
			fn(t, st, e, newEnv(t, plainStore{st}, func(c *invite.Config) { c.Now = e.Clock.Now }).Svc)
		})
	}
}

func errorCodeOf(err error) string { c, _ := errorCode(err); return c }

// TestResendMailAsBefore: the reminder a resend queues names the inviter
// and the recipient as the checked path's does.
func TestResendMailAsBefore(t *testing.T) {
	withChecked(t, func(t *testing.T, st store.Store, e *env, plain *invite.Service) {
		ctx := context.Background()
		e.Org(t, "org_a")
		boss, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{
			Email: "boss@example.com", UserProfile: &invite.ProfileInput{FirstName: "Bo", LastName: "Ss"},
		})
		require.NoError(t, err)
		res, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{ // no inviter: the actor is named
			Email: "ann@example.com", UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee"},
		})
		require.NoError(t, err)
		var data []map[string]string
		for _, svc := range []*invite.Service{e.Svc, plain} {
			for _, actor := range []string{boss.User.ID, "", "usr_nope"} {
				_, err := svc.ResendInvitation(ctx, "org_a", res.User.ID, actor)
				require.NoError(t, err)
				msgs := e.Queued(t, "org_a")
				d := msgs[len(msgs)-1].Data
				data = append(data, d)
			}
		}
		assert.Equal(t, data[3:], data[:3], "the same mail data")
		assert.Equal(t, "Bo Ss", data[0]["inviter_name"], "the actor, a member")
		assert.Equal(t, "", data[1]["inviter_name"], "no actor")
		assert.Equal(t, "", data[2]["inviter_name"], "the actor is not a member")
		assert.Equal(t, "Ann", data[0]["first_name"])
		assert.Equal(t, "ann@example.com", data[0]["email"])

		// An invitation's own inviter is named whoever resends it.
		eve, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: "eve@example.com", InvitedBy: boss.User.ID})
		require.NoError(t, err)
		_, err = e.Svc.ResendInvitation(ctx, "org_a", eve.User.ID, "usr_someone")
		require.NoError(t, err)
		msgs := e.Queued(t, "org_a")
		assert.Equal(t, "Bo Ss", msgs[len(msgs)-1].Data["inviter_name"])
	})
}

// TestConcurrentResendRevoke: resends, invite links and revokes of one
// membership at once through the Service. One revoke wins; every other
// call either succeeds before it or is refused as the checked path
// refuses (not found, revoked, not pending); each success wrote one event
// and the last event is the revoke.
func TestConcurrentResendRevoke(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			st := sc.Open(t)
			e := newEnv(t, st, nil)
			ctx := context.Background()
			e.Org(t, "org_a")
			res := e.Invite(t, "org_a", "ann@example.com")
			before := len(e.Events(t, "org_a"))
			var (
				wg               sync.WaitGroup
				mu               sync.Mutex
				revokes, written int
			)
			for i := range 12 {
				wg.Go(func() {
					var err error
					switch i % 3 {
					case 0:
						err = e.Svc.RevokeInvitation(ctx, "org_a", res.User.ID, "usr_admin")
					case 1:
						_, err = e.Svc.ResendInvitation(ctx, "org_a", res.User.ID, "usr_admin")
					default:
						_, err = e.Svc.InviteLink(ctx, "org_a", res.User.ID, "usr_admin")
					}
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						written++
						if i%3 == 0 {
							revokes++
						}
					case errors.Is(err, invite.ErrNotFound), errors.Is(err, invite.ErrInviteRevoked), errors.Is(err, invite.ErrWrongStatus):
					default:
						t.Errorf("call %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			assert.Equal(t, 1, revokes, "exactly one revoke")
			evs := e.Events(t, "org_a")
			assert.Len(t, evs, before+written, "one event per success")
			assert.Equal(t, store.EventMembershipRevoked, evs[len(evs)-1].Type)
			if _, err := e.Svc.LookupInvitation(ctx, invite.TokenFromLink(res.AcceptLink)); !errors.Is(err, invite.ErrInviteRevoked) && !errors.Is(err, invite.ErrInvalidToken) {
				t.Errorf("lookup after: %v", err)
			}
		})
	}
}
