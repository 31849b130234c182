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
