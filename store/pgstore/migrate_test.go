package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
)

// TestMigrateConcurrently starts several replicas at once on a fresh
// schema: every New succeeds, each migration is applied exactly once, and
// all of them can use the schema.
func TestMigrateConcurrently(t *testing.T) {
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d_replicas", n), func(t *testing.T) {
			schema := freshSchema(t)
			stores := make([]*pgstore.Store, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				pool := newPool(t) // one pool per replica
				wg.Go(func() {
					<-start
					stores[i], errs[i] = pgstore.New(t.Context(), pool, pgstore.Config{Schema: schema})
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				require.NoError(t, err, "replica %d", i)
			}

			pool := newPool(t)
			var rows, distinct int
			require.NoError(t, pool.QueryRow(t.Context(),
				`SELECT count(*), count(DISTINCT version) FROM `+pgx.Identifier{schema, "invitekit_migrations"}.Sanitize()).Scan(&rows, &distinct))
			assert.Equal(t, pgstore.Migrations(t), rows, "each migration recorded once")
			assert.Equal(t, rows, distinct)

			// Every replica sees what another wrote.
			org := store.Organization{ID: store.NewID("org"), Name: "Acme"}
			require.NoError(t, stores[0].CreateOrganization(t.Context(), org, store.Event{Type: store.EventOrganizationCreated}))
			for i, st := range stores {
				got, err := st.GetOrganization(t.Context(), org.ID)
				require.NoError(t, err, "replica %d", i)
				assert.Equal(t, "Acme", got.Name)
			}
		})
	}
}

// TestMigrateIdempotent: New on a migrated schema changes nothing, and
// SkipMigrations accepts a migrated schema but refuses a bare one.
func TestMigrateIdempotent(t *testing.T) {
	schema := freshSchema(t)
	pool := newPool(t)
	ctx := t.Context()

	_, err := pgstore.New(ctx, pool, pgstore.Config{Schema: schema, SkipMigrations: true})
	require.ErrorIs(t, err, pgstore.ErrNotMigrated)

	require.NoError(t, pgstore.Migrate(ctx, pool, pgstore.Config{Schema: schema}))
	st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: schema})
	require.NoError(t, err)
	_, err = pgstore.New(ctx, pool, pgstore.Config{Schema: schema, SkipMigrations: true})
	require.NoError(t, err)
	assert.Equal(t, schema, st.Schema())

	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "invitekit_migrations"}.Sanitize()).Scan(&n))
	assert.Equal(t, pgstore.Migrations(t), n)
}

// TestSchemasAreIsolated: two stores on two schemas of one database never
// see each other's rows.
func TestSchemasAreIsolated(t *testing.T) {
	a, b := newStore(t), newStore(t)
	ctx := t.Context()
	org := store.Organization{ID: "org_same", Name: "A"}
	require.NoError(t, a.CreateOrganization(ctx, org, store.Event{Type: store.EventOrganizationCreated}))
	_, err := b.GetOrganization(ctx, "org_same")
	require.ErrorIs(t, err, store.ErrNotFound)
	org.Name = "B"
	require.NoError(t, b.CreateOrganization(ctx, org, store.Event{Type: store.EventOrganizationCreated}), "the same id is free in the other schema")
	got, err := a.GetOrganization(ctx, "org_same")
	require.NoError(t, err)
	assert.Equal(t, "A", got.Name)
}

func TestNewErrors(t *testing.T) {
	_, err := pgstore.New(context.Background(), nil, pgstore.Config{})
	require.Error(t, err)
	_, err = pgstore.Open(context.Background(), "postgres://%zz", pgstore.Config{})
	require.Error(t, err)
}

// TestOpenClose: Open owns its pool and Close closes it; New leaves the
// caller's pool open.
func TestOpenClose(t *testing.T) {
	schema := freshSchema(t)
	st, err := pgstore.Open(t.Context(), testDSN(t), pgstore.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, st.Pool().Ping(t.Context()))
	require.NoError(t, st.Close())
	require.Error(t, st.Pool().Ping(t.Context()), "Open's pool is closed by Close")

	pool := newPool(t)
	st2, err := pgstore.New(t.Context(), pool, pgstore.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, st2.Close())
	require.NoError(t, pool.Ping(t.Context()), "a pool given to New stays open")
}
