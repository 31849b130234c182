package pgstore_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store/pgstore"
)

// TestMigrateFillsGap: a schema migrated by a release that lacked a
// migration numbered below its latest one (two branches each added one,
// and the lower number merged second) gets that migration at the next
// Migrate; until then New with SkipMigrations refuses it.
func TestMigrateFillsGap(t *testing.T) {
	vs := pgstore.MigrationVersions(t)
	if len(vs) < 2 {
		t.Skip("fewer than two migrations")
	}
	skip := vs[len(vs)-2]
	schema := freshSchema(t)
	pool := newPool(t)
	ctx := t.Context()

	require.NoError(t, pgstore.MigrateWithout(ctx, pool, schema, skip))
	_, err := pgstore.New(ctx, pool, pgstore.Config{Schema: schema, SkipMigrations: true})
	require.ErrorIs(t, err, pgstore.ErrNotMigrated, "migration %d is missing", skip)

	require.NoError(t, pgstore.Migrate(ctx, pool, pgstore.Config{Schema: schema}))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "invitekit_migrations"}.Sanitize()+` WHERE version = $1`, skip).Scan(&n))
	assert.Equal(t, 1, n, "migration %d applied after the later ones", skip)
	_, err = pgstore.New(ctx, pool, pgstore.Config{Schema: schema, SkipMigrations: true})
	require.NoError(t, err)
}
