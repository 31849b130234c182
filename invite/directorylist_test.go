package invite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// rowCounter counts the members ListMembers returns; without counter it
// hides the store's store.MemberCounter.
type rowCounter struct {
	*memstore.Store
	rows atomic.Int64
}

func (c *rowCounter) ListMembers(ctx context.Context, orgID string, opts store.ListOptions) (store.Page, error) {
	p, err := c.Store.ListMembers(ctx, orgID, opts)
	c.rows.Add(int64(len(p.Members)))
	return p, err
}

type noCounter struct {
	store.Store
	store.Directory
}

// TestListDirectoryUsersBounded: an unfiltered SCIM list reads the
// memberships up to the end of its page, not all of them, and takes the
// total from store.MemberCounter; a store without one still gets the
// right total (by reading on). Pages are the same either way, and another
// organization's members are neither listed nor counted.
func TestListDirectoryUsersBounded(t *testing.T) {
	ctx := context.Background()
	rc := &rowCounter{Store: memstore.New()}
	e := invitetest.NewEnv(t, rc, nil)
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	const n = 250
	for i := range n {
		e.AddActive(t, "org_a", fmt.Sprintf("u%03d@example.com", i))
	}
	e.AddActive(t, "org_b", "u000@example.com")
	e.AddActive(t, "org_b", "b@example.com")

	for _, tc := range []struct{ start, count, wantLen, maxRows int }{
		{1, 10, 10, 10},
		{101, 10, 10, 110},
		{245, 100, 6, 250},
		{300, 10, 0, 0},
		{1, 0, 0, 0},
	} {
		rc.rows.Store(0)
		users, total, err := e.Svc.ListDirectoryUsers(ctx, "org_a", tc.start, tc.count)
		require.NoError(t, err)
		require.Equal(t, n, total, "%+v", tc)
		require.Len(t, users, tc.wantLen, "%+v", tc)
		if tc.wantLen > 0 {
			require.Equal(t, fmt.Sprintf("u%03d@example.com", tc.start-1), users[0].Email)
		}
		require.LessOrEqual(t, rc.rows.Load(), int64(tc.maxRows), "rows read for %+v", tc)

		// The same page from a store without store.MemberCounter.
		plain := invitetest.NewEnv(t, noCounter{rc, rc}, nil)
		pu, ptotal, err := plain.Svc.ListDirectoryUsers(ctx, "org_a", tc.start, tc.count)
		require.NoError(t, err)
		require.Equal(t, n, ptotal)
		require.Equal(t, users, pu)
	}
	users, total, err := e.Svc.ListDirectoryUsers(ctx, "org_b", 1, 100)
	require.NoError(t, err)
	require.Equal(t, 2, total)
	require.Len(t, users, 2)
}
