package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/invitekit/invitekit/store"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Config holds Open's optional settings. The zero value is safe.
type Config struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// process before failing with SQLITE_BUSY. Default 5s.
	BusyTimeout time.Duration
	// MaxReadConns bounds the pool of reader connections. Default 4.
	MaxReadConns int
	// SynchronousFull sets PRAGMA synchronous=FULL: every commit is fsynced,
	// so it survives a power loss, at a cost in write throughput. The
	// default, NORMAL, survives application crashes.
	SynchronousFull bool
	// Logger receives migration notices. Default: discard.
	Logger *slog.Logger
}

// Store is a store.Store backed by one SQLite database file. Create it with
// Open and Close it when done.
type Store struct {
	w   *sql.DB // the single writer connection
	r   *sql.DB // reader pool (== w for in-memory databases)
	log *slog.Logger

	wstmts stmtCache
	rstmts stmtCache

	ck *checkpointer // nil for in-memory databases

	notify notifier // Subscribe's subscriptions (notify.go)

	// onStmt, when set (tests only, before any write), sees the text of
	// every statement a write transaction runs.
	onStmt func(query string)

	closeOnce sync.Once
	closeErr  error
}

var (
	_ store.Store                     = (*Store)(nil)
	_ store.BatchCreator              = (*Store)(nil)
	_ store.OrganizationMemberCreator = (*Store)(nil)
	_ store.Closer                    = (*Store)(nil)
)

// MemoryPath opens a private in-memory database (one connection, nothing
// written to disk). Meant for short tests; a file in t.TempDir() behaves
// more like production.
const MemoryPath = ":memory:"

// Open opens (creating if needed) the SQLite database file at path and
// migrates it to the current schema. The directory must exist. path may
// also be MemoryPath.
func Open(ctx context.Context, path string, cfg Config) (*Store, error) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return nil, err
	}
	return open(ctx, path, cfg, ms)
}

// open is Open migrating to ms (tests open older schemas with fewer).
func open(ctx context.Context, path string, cfg Config, ms []migration) (*Store, error) {
	cfg = cfg.withDefaults()
	d, err := dsnsFor(path, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{log: cfg.Logger}
	if s.w, err = openDB(ctx, path, d.writer, 1); err != nil {
		return nil, err
	}
	s.wstmts.db = s.w
	if err := applyMigrations(ctx, s, ms); err != nil {
		s.w.Close()
		return nil, err
	}
	if err := s.wstmts.prepareAll(ctx, writeQueries()); err != nil {
		s.wstmts.close()
		s.w.Close()
		return nil, err
	}
	s.r = s.w
	if !d.memory {
		if err := s.openReaders(ctx, path, d, cfg); err != nil {
			s.wstmts.close()
			s.w.Close()
			return nil, err
		}
	}
	s.rstmts.db = s.r
	return s, nil
}

// withDefaults fills the zero settings.
func (cfg Config) withDefaults() Config {
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.MaxReadConns <= 0 {
		cfg.MaxReadConns = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// dsns are the connection strings of one database: the single writer, the
// read-only readers and the checkpointer.
type dsns struct {
	writer, reader, checkpointer string
	memory                       bool
}

// dsnsFor builds the connection strings for path (pure: no I/O beyond
// making path absolute).
func dsnsFor(path string, cfg Config) (dsns, error) {
	if path == "" {
		return dsns{}, errors.New("sqlitestore: empty database path")
	}
	sync := "NORMAL"
	if cfg.SynchronousFull {
		sync = "FULL"
	}
	common := []string{
		"_pragma=busy_timeout(" + strconv.FormatInt(ceilMillis(cfg.BusyTimeout), 10) + ")",
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(" + sync + ")",
		// Statement journals and temporary indexes stay in memory, not
		// in temporary files (multi-row INSERTs need a statement journal).
		"_pragma=temp_store(MEMORY)",
	}
	join := func(extra ...string) string { return strings.Join(append(slices.Clone(common), extra...), "&") }
	if path == MemoryPath {
		base := "file::memory:"
		return dsns{writer: base + "?" + join("_txlock=immediate"), memory: true}, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return dsns{}, fmt.Errorf("sqlitestore: database path %q: %w", path, err)
	}
	base := "file:" + escapePath(filepath.ToSlash(abs)) + "?"
	return dsns{
		writer: base + join(
			"_pragma=journal_mode(WAL)",
			// 16 MiB of page cache for the writer, and a transaction's
			// dirty pages kept in memory up to 8,192 pages (32 MiB at 4 KiB
			// a page) instead of spilling into the WAL once the cache is
			// full. A bulk batch of 1,000 invites with the random user ids
			// the Service writes dirties a few thousand pages across the
			// users and memberships B-trees; spilling them mid-batch and
			// reading them back cost a third of its CPU. Measured with two
			// stores in one process, batches of 1,000 in turns, 100,000
			// invites each: no spill 0.65× the CPU of 8 MiB with spilling;
			// 16 MiB then 0.79× of 8 MiB with random ids, 0.95× with
			// time-ordered ones; 32 MiB no better. Larger transactions
			// still spill.
			"_pragma=cache_size(-16384)",
			"_pragma=cache_spill(8192)",
			// Checkpoint when the WAL passes 10,000 pages (~40 MiB) instead
			// of SQLite's 1,000: the checkpoint runs after the commit that
			// crosses the limit, so a bulk import checkpoints every few
			// batches, and a page changed by several batches (index pages)
			// is copied once. Durability is unchanged (a commit is in the
			// WAL either way).
			"_pragma=wal_autocheckpoint(10000)",
			"_txlock=immediate",
		),
		reader:       base + join("_pragma=query_only(1)"),
		checkpointer: base + join(),
	}, nil
}

// openDB opens and pings a pool of at most conns connections that never
// expire.
func openDB(ctx context.Context, path, dsn string, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	return db, nil
}

// openReaders opens the read-only pool and starts the checkpointer of a
// file database.
func (s *Store) openReaders(ctx context.Context, path string, d dsns, cfg Config) error {
	r, err := openDB(ctx, path, d.reader, cfg.MaxReadConns)
	if err != nil {
		return err
	}
	ck, err := startCheckpointer(ctx, d.checkpointer, cfg.Logger)
	if err != nil {
		r.Close()
		return fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	s.r, s.ck = r, ck
	return nil
}

// ceilMillis rounds d up to whole milliseconds (SQLite's busy timeout unit),
// so a small positive timeout never becomes 0 ("fail at once").
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// escapePath percent-encodes the characters that end or escape the path
// part of an SQLite URI filename.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.ck != nil {
			s.ck.stop()
		}
		s.rstmts.close()
		s.wstmts.close()
		var errs []error
		if s.r != s.w {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// stmtCache prepares each query once per database handle. Prepared
// statements are safe for concurrent use; database/sql prepares them again
// on each connection as needed.
//
// The writer's cache is filled once by Open (prepareAll) and never prepares
// lazily: preparing on the single-connection writer from inside a
// transaction would wait for the connection the transaction holds.
type stmtCache struct {
	db    *sql.DB
	fixed bool     // no lazy preparation (the writer)
	m     sync.Map // query → *sql.Stmt
}

func (c *stmtCache) prepareAll(ctx context.Context, queries []string) error {
	for _, q := range queries {
		if _, err := c.prepare(ctx, q); err != nil {
			return fmt.Errorf("sqlitestore: prepare %q: %w", q, err)
		}
	}
	c.fixed = true
	return nil
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	if c.fixed {
		return nil, fmt.Errorf("sqlitestore: internal error: statement not prepared: %q", query)
	}
	return c.prepare(ctx, query)
}

func (c *stmtCache) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close() // another goroutine prepared it first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(q, st any) bool {
		st.(*sql.Stmt).Close()
		c.m.Delete(q)
		return true
	})
}
