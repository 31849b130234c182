package pgstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestRoundTrip checks what PostgreSQL does to values: times come back in
// UTC truncated to the microsecond (and CreateMembership returns them that
// way too), the zero time stays zero, nil and empty maps and role lists
// stay apart.
func TestRoundTrip(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	berlin := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 24, 11, 0, 0, 123456789, berlin)
	org := storetest.NewOrg(t, st, now)

	tests := []struct {
		name     string
		meta     map[string]string
		roles    []string
		wantMeta map[string]string
	}{
		{"nil", nil, nil, nil},
		{"empty", map[string]string{}, []string{}, map[string]string{}},
		{"values", map[string]string{"a": "ü", "b": `"quoted"`}, []string{"admin", "member"}, map[string]string{"a": "ü", "b": `"quoted"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := storetest.AddParams(org.ID, tc.name+"."+store.NewID("x")+"@example.com", now)
			p.User.Metadata = tc.meta
			p.Membership.Metadata = tc.meta
			p.Membership.Roles = tc.roles
			res, err := st.CreateMembership(ctx, p)
			require.NoError(t, err)
			got, err := st.GetMembership(ctx, org.ID, res.User.ID)
			require.NoError(t, err)
			assert.Equal(t, res.Membership, got, "CreateMembership returns what GetMembership reads")
			u, err := st.GetUser(ctx, res.User.ID)
			require.NoError(t, err)
			assert.Equal(t, res.User, u, "CreateMembership returns what GetUser reads")

			assert.Equal(t, tc.wantMeta, got.Metadata)
			assert.Equal(t, tc.roles, got.Roles)
			assert.Equal(t, tc.wantMeta, u.Metadata)
			assert.Equal(t, time.UTC, got.JoinTime.Location())
			assert.Equal(t, now.UTC().Truncate(time.Microsecond), got.JoinTime)
			assert.True(t, got.InviteExpireTime.IsZero(), "zero time stays zero")
			assert.Equal(t, time.Time{}, got.InviteExpireTime)
			assert.Nil(t, u.LastLogin)
		})
	}
}

// TestEventsCommitInSeqOrder: many writers append events to one
// organization while a reader follows the feed with ListEvents' cursor. The
// reader must end up with every event exactly once: an event may never
// become visible after one with a higher Seq was read.
func TestEventsCommitInSeqOrder(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	org := storetest.NewOrg(t, st, time.Now())
	const writers, each = 8, 150

	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ev := store.Event{OrganizationID: org.ID, Type: "test.event", Data: map[string]string{"w": string(rune('a' + w)), "i": time.Now().String()}, CreateTime: time.Now()}
				if err := st.AppendEvent(ctx, ev); err != nil {
					t.Errorf("append %d: %v", i, err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	seen := map[string]bool{}
	var after int64
	finished := false
	for !finished {
		select {
		case <-done:
			finished = true // one more full read below
		default:
		}
		for {
			evs, err := st.ListEvents(ctx, org.ID, after, 50)
			require.NoError(t, err)
			for _, ev := range evs {
				require.Greater(t, ev.Seq, after)
				require.False(t, seen[ev.ID], "event %s read twice", ev.ID)
				seen[ev.ID] = true
				after = ev.Seq
			}
			if len(evs) < 50 {
				break
			}
		}
	}
	all, err := st.ListEvents(ctx, org.ID, 0, 10000)
	require.NoError(t, err)
	assert.Len(t, all, writers*each+1) // + organization.created
	assert.Equal(t, len(all), len(seen), "the cursor reader saw every event")
}
