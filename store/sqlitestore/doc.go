// Package sqlitestore is invitekit's embedded default store.Store: a single
// SQLite database file, accessed through modernc.org/sqlite (pure Go, no
// cgo).
//
// Open creates the file when it does not exist (not its directory), switches
// it to WAL mode and applies the embedded, numbered schema migrations
// (migrations/*.sql, recorded in the schema_migrations table) in one
// transaction. A database written by a newer version of this package (one
// with migrations this version does not know) is refused.
//
// # Concurrency
//
// A *Store is safe for concurrent use. Writes go through a single
// connection (so writers queue in the process instead of failing with
// SQLITE_BUSY) and every write transaction starts with BEGIN IMMEDIATE, so
// several processes may share one file: they wait for each other up to
// Config.BusyTimeout. Reads use a separate pool of read-only connections
// and, thanks to WAL, never wait for writers.
//
// # Defaults
//
// Busy timeout 5 s, synchronous=NORMAL (durable against application crashes;
// the last transactions before a power loss may be lost, the file is never
// corrupted; set Config.SynchronousFull for full durability), foreign keys
// on, temporary data in memory, a 32 MiB page cache for the writer and up to
// 4 reader connections.
//
// # Bulk import
//
// CreateMemberships writes a whole batch in one transaction: it checks 64
// items with one query and writes them with one multi-row INSERT per table.
// The batch holds the (single) writer while it runs, so other writes wait
// for it: import in batches of about 1,000.
//
// Times are stored as Unix microseconds (the precision PostgreSQL keeps) and
// read back in UTC; maps and role lists as JSON text, nil as NULL.
//
// The caller must Close the store when done.
//
// It implements store.Store, store.BatchCreator (bulk import in one
// transaction) and store.Closer.
package sqlitestore
