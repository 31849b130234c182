package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestLookupsUseIndexes checks that the lookups a bulk import repeats per
// batch (and single invites and external id lookups per request) can use
// their index in a prepared statement's generic plan. A query the index
// cannot serve (such as an external id lookup without the partial index's
// predicate) scans the whole table (or another index of it) on every call: it still passes every functional test
// and only shows as a bulk import that slows down as the table grows.
func TestLookupsUseIndexes(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	// Some members, each in several organizations, and fresh statistics:
	// on empty tables the planner may pick any index that serves a
	// query (for a member lookup memberships_user_seq, whose user_id
	// narrows it as well as the primary key, until there are statistics).
	var ps []store.CreateMembershipParams
	for range 3 {
		org := storetest.NewOrg(t, st, time.Now())
		for i := range 200 {
			ps = append(ps, storetest.AddParams(org.ID, fmt.Sprintf("plan%d@example.com", i), time.Now()))
		}
	}
	_, err := st.CreateMemberships(ctx, ps)
	require.NoError(t, err)
	_, err = st.Pool().Exec(ctx, `ANALYZE `+pgx.Identifier{st.Schema(), "memberships"}.Sanitize()+`, `+pgx.Identifier{st.Schema(), "users"}.Sanitize())
	require.NoError(t, err)
	conn, err := st.Pool().Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	// With seq scans disabled the planner still picks one when no index
	// can serve the query, so the plan tells which case this is.
	for _, set := range []string{`SET plan_cache_mode = force_generic_plan`, `SET enable_seqscan = off`} {
		_, err := conn.Exec(ctx, set)
		require.NoError(t, err)
	}
	defer conn.Exec(ctx, `RESET ALL`)
	for name, tc := range map[string]struct {
		query, index string
		params       int
	}{
		"member with its membership":    {pgstore.QGetMember, "memberships_pkey", 2},
		"member with its user":          {pgstore.QGetMember, "users_pkey", 2},
		"user by external id":           {pgstore.QUserByExternalID, "users_external_id_key", 1},
		"external ids taken":            {pgstore.QExternalIDsTaken, "users_external_id_key", 1},
		"membership by external id":     {pgstore.QMembershipByExternalID, "memberships_org_external_id_key", 2},
		"membership external ids taken": {pgstore.QMemberExternalIDsTaken, "memberships_org_external_id_key", 2},
		// A page of an endpoint's deliveries is a range of the index, in
		// its order (no sort of all the endpoint's deliveries per page).
		"webhook deliveries page": {pgstore.QListDeliveries, "webhook_deliveries_endpoint", 4},
	} {
		t.Run(name, func(t *testing.T) {
			stmt := "plan_" + strings.ReplaceAll(name, " ", "_")
			_, err := conn.Exec(ctx, `PREPARE `+stmt+` AS `+st.ExpandSQL(tc.query))
			require.NoError(t, err)
			defer conn.Exec(ctx, `DEALLOCATE `+stmt)
			nulls := strings.TrimSuffix(strings.Repeat("NULL, ", tc.params), ", ")
			rows, err := conn.Query(ctx, `EXPLAIN EXECUTE `+stmt+`(`+nulls+`)`)
			require.NoError(t, err)
			var plan strings.Builder
			for rows.Next() {
				var line string
				require.NoError(t, rows.Scan(&line))
				plan.WriteString(line + "\n")
			}
			require.NoError(t, rows.Err())
			require.Contains(t, plan.String(), tc.index, "plan:\n%s", plan.String())
			require.NotContains(t, plan.String(), "Seq Scan", "plan:\n%s", plan.String())
			require.NotContains(t, plan.String(), "Sort", "plan:\n%s", plan.String())
		})
	}
}
