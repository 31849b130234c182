package sqlitestore

import (
	"context"
	"slices"
)

// OpenAtVersion is Open migrating only up to version: an older program's
// schema, for benchmarks that compare schemas in one process.
func OpenAtVersion(ctx context.Context, path string, cfg Config, version int) (*Store, error) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return nil, err
	}
	return open(ctx, path, cfg, slices.DeleteFunc(ms, func(m migration) bool { return m.version > version }))
}

// OnWriteStatement calls fn with every statement a write transaction of s
// runs from now on. Set it before any concurrent write.
func (s *Store) OnWriteStatement(fn func(query string)) { s.onStmt = fn }
