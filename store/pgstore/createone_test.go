package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestCreateMembershipEmailCommittedMidStatement: a user with the invited
// email that another transaction commits while the one-round-trip create
// waits on it (ON CONFLICT waits for the unique key's holder) is missing
// from that statement's snapshot. The create must still succeed, reusing
// that user, with one membership, invitation and event: the store falls
// back to its transaction path.
func TestCreateMembershipEmailCommittedMidStatement(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "guarded"}[guarded], func(t *testing.T) {
			ctx := context.Background()
			schema := freshSchema(t)
			pool := newPool(t)
			st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: schema})
			require.NoError(t, err)
			now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			org := storetest.NewOrg(t, st, now)
			email := "racer@example.com"

			holder, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer holder.Rollback(ctx)
			_, err = holder.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema}.Sanitize()+`.users (id, email, create_time, update_time)
				VALUES ('usr_holder', $1, $2, $2)`, email, now)
			require.NoError(t, err)

			p := storetest.InviteParams(org.ID, email, now)
			type out struct {
				res store.CreateMembershipResult
				err error
			}
			done := make(chan out, 1)
			go func() {
				var o out
				if guarded {
					o.res, o.err = st.CreateMembershipGuarded(ctx, p, nil, store.DecisionGuard{})
				} else {
					o.res, o.err = st.CreateMembership(ctx, p)
				}
				done <- o
			}()
			// Commit once the create waits for the holder's row.
			deadline := time.Now().Add(20 * time.Second)
			for {
				var waiting bool
				require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
					WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO "' || $1 || '".users%')`, schema).Scan(&waiting))
				if waiting {
					break
				}
				require.True(t, time.Now().Before(deadline), "the create never waited for the holder")
				time.Sleep(5 * time.Millisecond)
			}
			require.NoError(t, holder.Commit(ctx))

			o := <-done
			require.NoError(t, o.err)
			assert.Equal(t, "usr_holder", o.res.User.ID)
			assert.False(t, o.res.UserCreated)
			assert.Equal(t, "usr_holder", o.res.Membership.UserID)
			m, err := st.GetMembership(ctx, org.ID, "usr_holder")
			require.NoError(t, err)
			assert.Equal(t, o.res.Membership.Seq, m.Seq)
			inv, err := st.GetInvitation(ctx, p.Invitation.ID)
			require.NoError(t, err)
			assert.Equal(t, "usr_holder", inv.UserID)
			_, err = st.GetUser(ctx, p.User.ID)
			assert.ErrorIs(t, err, store.ErrNotFound, "no second user")
			evs, err := st.ListEvents(ctx, org.ID, 0, 10)
			require.NoError(t, err)
			require.Len(t, evs, 2, "organization.created and the invite")
			assert.Equal(t, "usr_holder", evs[1].UserID)
		})
	}
}
