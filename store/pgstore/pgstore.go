package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/store"
)

// DefaultSchema is the schema of the kit's tables when Config.Schema is
// empty. It is not "public" so that the kit's "users" and "organizations"
// never meet the app's own tables of those names.
const DefaultSchema = "invitekit"

// Config holds a Store's optional settings. The zero value is usable.
type Config struct {
	// Schema holds the kit's tables; it is created if missing. Default
	// DefaultSchema ("invitekit").
	Schema string
	// SkipMigrations makes New check that the schema is migrated instead of
	// migrating it (for deployments that migrate in a separate step with
	// Migrate).
	SkipMigrations bool
	// Logger receives migration notices. Default: discard.
	Logger *slog.Logger
}

// Store is a store.Store (and store.BatchCreator, store.Closer) on
// PostgreSQL. It is safe for concurrent use, also together with Stores in
// other processes on the same schema.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool
	schema   string
	quoted   string // schema as a quoted SQL identifier
	log      *slog.Logger

	queries sync.Map // query template → schema-qualified SQL
	oneTrip sync.Map // oneTripShape → createMembershipOneTrip's SQL
}

var (
	_ store.Store                     = (*Store)(nil)
	_ store.BatchCreator              = (*Store)(nil)
	_ store.OrganizationMemberCreator = (*Store)(nil)
	_ store.Closer                    = (*Store)(nil)
)

// ErrNotMigrated is returned by New with Config.SkipMigrations when the
// schema lacks migrations this binary needs.
var ErrNotMigrated = errors.New("pgstore: schema is not migrated")

// New returns a Store on pool. Unless cfg.SkipMigrations is set it creates
// cfg.Schema if needed and applies pending migrations (safe when several
// replicas start at once). The caller keeps ownership of pool: Close does
// not close it.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	if cfg.Schema == "" {
		cfg.Schema = DefaultSchema
	}
	if strings.ContainsRune(cfg.Schema, 0) || len(cfg.Schema) > 63 {
		return nil, fmt.Errorf("pgstore: invalid schema name %q", cfg.Schema)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		pool:   pool,
		schema: cfg.Schema,
		quoted: pgx.Identifier{cfg.Schema}.Sanitize(),
		log:    cfg.Logger,
	}
	if cfg.SkipMigrations {
		if err := checkMigrated(ctx, pool, cfg.Schema); err != nil {
			return nil, err
		}
		return s, nil
	}
	if err := migrate(ctx, pool, cfg.Schema, cfg.Logger); err != nil {
		return nil, err
	}
	return s, nil
}

// Open connects to dsn (a postgres:// URL or key=value string, see
// pgxpool.ParseConfig) and returns New's Store on the new pool, which Close
// closes.
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	s, err := New(ctx, pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// Close closes the pool if Open created it; a pool passed to New is left
// open. It always returns nil.
func (s *Store) Close() error {
	if s.ownsPool {
		s.pool.Close()
	}
	return nil
}

// Pool returns the store's connection pool (for example to share it with
// scs/pgxstore).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema returns the schema holding the store's tables.
func (s *Store) Schema() string { return s.schema }

// sql returns query with every "{s}" replaced by the quoted schema. The
// result is cached, so pgx's per-connection statement cache sees one string
// per query.
func (s *Store) sql(query string) string {
	if v, ok := s.queries.Load(query); ok {
		return v.(string)
	}
	q := strings.ReplaceAll(query, "{s}", s.quoted)
	s.queries.Store(query, q)
	return q
}

// lockKey returns a 64-bit advisory lock key for the given parts (FNV-1a).
func lockKey(parts ...string) int64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int64(h.Sum64())
}
