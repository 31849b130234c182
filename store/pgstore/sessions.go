package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SessionsSQL creates the table github.com/alexedwards/scs/pgxstore reads
// and writes (unqualified "sessions", so it must be in the search_path of
// the pool given to pgxstore.New) and its expiry index. It is idempotent.
const SessionsSQL = `CREATE TABLE IF NOT EXISTS sessions (
	token  text PRIMARY KEY,
	data   bytea NOT NULL,
	expiry timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry);`

// CreateSessionsTable runs SessionsSQL in schema ("" means "public"),
// creating the schema if needed, under the same advisory lock as the
// migrations, so replicas starting at once do not race on it. Give
// pgxstore a pool whose search_path starts with schema (the default
// search_path finds "public").
func CreateSessionsTable(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if schema == "" {
		schema = "public"
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := lockSchema(ctx, tx, schema, "migrate"); err != nil {
			return err
		}
		if err := ensureSchema(ctx, tx, schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("pgstore: set search_path: %w", err)
		}
		if _, err := tx.Exec(ctx, SessionsSQL); err != nil {
			return fmt.Errorf("pgstore: create sessions table: %w", err)
		}
		return nil
	})
}
