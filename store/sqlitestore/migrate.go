package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema step, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
	// foreignKeysOff: the file starts with fkOffDirective, so the
	// migration may drop and rebuild a table that others reference
	// (SQLite's table rebuild; see applyMigrations).
	foreignKeysOff bool
}

// fkOffDirective, as a migration's first line, makes applyMigrations run
// the transaction with foreign keys off and check them all before the
// commit.
const fkOffDirective = "-- invitekit: foreign_keys off"

// loadMigrations reads the embedded migrations in version order. Version
// numbers must be positive and unique.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		if !ok {
			return nil, fmt.Errorf("sqlitestore: migration %q: name must be NNNN_name.sql", base)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlitestore: migration %q: bad version number", base)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlitestore: migrations %q and %q share version %d", prev, base, v)
		}
		seen[v] = base
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		first, _, _ := strings.Cut(string(b), "\n")
		ms = append(ms, migration{
			version: v, name: strings.TrimSuffix(base, ".sql"), sql: string(b),
			foreignKeysOff: strings.TrimSpace(first) == fkOffDirective,
		})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// applyMigrations applies the migrations of ms not yet recorded in
// schema_migrations, in one transaction on one connection of s.w. When one
// of them has foreignKeysOff, foreign keys are switched off on that
// connection before the transaction (PRAGMA foreign_keys is a no-op
// inside one), every foreign key is checked (PRAGMA foreign_key_check)
// before the commit, a violation rolls everything back, and they are
// switched on again afterwards whatever happened.
func applyMigrations(ctx context.Context, s *Store, ms []migration) (err error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	defer conn.Close()

	// What is applied only grows, so a migration applied by the time the
	// transaction reads it was not pending here: reading outside the
	// transaction can only make foreign keys go off needlessly.
	before, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	fkOff := false
	for _, m := range ms {
		fkOff = fkOff || (m.foreignKeysOff && !before[m.version])
	}
	if fkOff {
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
		defer func() {
			if _, onErr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); onErr != nil && err == nil {
				err = fmt.Errorf("sqlitestore: migrate: foreign keys back on: %w", onErr)
			}
		}()
	}

	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrator at a time
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version      INTEGER PRIMARY KEY,
	name         TEXT NOT NULL,
	applied_time INTEGER NOT NULL
)`); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	applied, err := appliedVersions(ctx, tx)
	if err != nil {
		return err
	}
	maxApplied := 0
	for v := range applied {
		maxApplied = max(maxApplied, v)
	}

	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	if maxApplied > known {
		return fmt.Errorf("sqlitestore: database schema version %d is newer than this program's %d", maxApplied, known)
	}

	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if m.foreignKeysOff && !fkOff {
			return fmt.Errorf("sqlitestore: migration %s: internal error: foreign keys are on", m.name)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("sqlitestore: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_time) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlitestore: migration %s: %w", m.name, err)
		}
		s.log.InfoContext(ctx, "sqlitestore: applied migration", "version", m.version, "name", m.name)
	}
	if fkOff {
		if err := foreignKeyCheck(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return nil
}

// querier is a *sql.Conn or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// appliedVersions returns the versions recorded in schema_migrations
// (none if the table does not exist yet).
func appliedVersions(ctx context.Context, q querier) (map[int]bool, error) {
	applied := map[int]bool{}
	var tables int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables); err != nil {
		return nil, fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if tables == 0 {
		return applied, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("sqlitestore: migrate: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return applied, nil
}

// foreignKeyCheck fails if any row's foreign key has no parent.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: foreign key check: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("sqlitestore: migrate: foreign key check: %w", err)
		}
		return fmt.Errorf("sqlitestore: migrate: a row of %s (rowid %v) references a missing %s row", table, rowid.Int64, parent)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: migrate: foreign key check: %w", err)
	}
	return nil
}
