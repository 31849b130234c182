package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded migration file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pgstore: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("pgstore: migration %q: name must be NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("pgstore: read migration %q: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("pgstore: two migrations with version %d", ms[i].version)
		}
	}
	return ms, nil
}

// Migrate creates cfg.Schema if needed and applies the pending embedded
// migrations, all in one transaction under a transaction-level advisory
// lock keyed by the schema name: concurrent callers (replicas starting at
// once) wait for the first, then find nothing left to do. New calls it
// unless Config.SkipMigrations is set.
func Migrate(ctx context.Context, pool *pgxpool.Pool, cfg Config) error {
	if cfg.Schema == "" {
		cfg.Schema = DefaultSchema
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return migrate(ctx, pool, cfg.Schema, log)
}

func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, log *slog.Logger) error {
	return migrateTo(ctx, pool, schema, log, 0)
}

// migrateTo is migrate up to version upTo (0 = all); tests use it to
// build a schema as an older release left it.
func migrateTo(ctx context.Context, pool *pgxpool.Pool, schema string, log *slog.Logger, upTo int) error {
	return migrateWhere(ctx, pool, schema, log, func(version int) bool { return upTo <= 0 || version <= upTo })
}

// migrateWhere is migrate of the embedded migrations whose version keep
// accepts; tests use it to build a schema as another release left it.
func migrateWhere(ctx context.Context, pool *pgxpool.Pool, schema string, log *slog.Logger, keep func(version int) bool) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var applied []string
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := lockSchema(ctx, tx, schema, "migrate"); err != nil {
			return err
		}
		if err := ensureSchema(ctx, tx, schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("pgstore: set search_path: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS invitekit_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			apply_time timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("pgstore: create migrations table: %w", err)
		}
		done, current, err := appliedVersions(ctx, tx, `invitekit_migrations`)
		if err != nil {
			return err
		}
		if last := ms[len(ms)-1].version; current > last {
			log.Warn("pgstore: schema was migrated by a newer release", "schema", schema, "version", current, "known", last)
		}
		// Every embedded migration not yet recorded is applied, in version
		// order, even one numbered below the latest applied: two branches
		// may each add a migration, and the one merged second may have the
		// lower number (0003 after 0004). Migrations are therefore written
		// not to depend on a higher-numbered one.
		for _, m := range ms {
			if done[m.version] || !keep(m.version) {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("pgstore: migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO invitekit_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("pgstore: record migration %s: %w", m.name, err)
			}
			applied = append(applied, m.name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("pgstore: migrated", "schema", schema, "applied", applied)
	}
	return nil
}

// lockSchema takes the transaction-level advisory lock for purpose on
// schema; it is released at commit or rollback.
func lockSchema(ctx context.Context, tx pgx.Tx, schema, purpose string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("invitekit."+purpose, schema)); err != nil {
		return fmt.Errorf("pgstore: advisory lock: %w", err)
	}
	return nil
}

// ensureSchema creates schema unless it exists (checking first, so a role
// without CREATE on the database can use an existing schema).
func ensureSchema(ctx context.Context, tx pgx.Tx, schema string) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		return fmt.Errorf("pgstore: look up schema: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("pgstore: create schema %q: %w", schema, err)
	}
	return nil
}

// checkMigrated returns ErrNotMigrated unless every embedded migration was
// applied to schema.
func checkMigrated(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var table *string
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1)::text`, pgx.Identifier{schema, "invitekit_migrations"}.Sanitize()).Scan(&table); err != nil {
		return fmt.Errorf("pgstore: look up migrations: %w", err)
	}
	if table == nil {
		return fmt.Errorf("%w: %q has no invitekit_migrations table", ErrNotMigrated, schema)
	}
	done, _, err := appliedVersions(ctx, pool, pgx.Identifier{schema, "invitekit_migrations"}.Sanitize())
	if err != nil {
		return err
	}
	for _, m := range ms {
		if !done[m.version] {
			return fmt.Errorf("%w: %q lacks migration %s", ErrNotMigrated, schema, m.name)
		}
	}
	return nil
}

// querier is what appliedVersions reads with: a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// appliedVersions returns the versions recorded in table (a quoted,
// possibly qualified name) and the highest of them (0 for none).
func appliedVersions(ctx context.Context, q querier, table string) (map[int]bool, int, error) {
	rows, err := q.Query(ctx, `SELECT version FROM `+table)
	if err != nil {
		return nil, 0, fmt.Errorf("pgstore: read schema version: %w", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, 0, fmt.Errorf("pgstore: read schema version: %w", err)
	}
	done, current := make(map[int]bool, len(vs)), 0
	for _, v := range vs {
		done[int(v)] = true
		current = max(current, int(v))
	}
	return done, current, nil
}
