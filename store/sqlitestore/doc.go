// Package sqlitestore is invitekit's embedded default store.Store: a single
// SQLite database file, accessed through modernc.org/sqlite (pure Go, no
// cgo).
//
// Open creates the file when it does not exist (not its directory), switches
// it to WAL mode and applies the embedded, numbered schema migrations
// (migrations/*.sql, recorded in the schema_migrations table) in one
// transaction. A database written by a newer version of this package (one
// with migrations this version does not know) is refused. A migration that
// rebuilds a table others reference (its first line "-- invitekit:
// foreign_keys off", SQLite's table rebuild) runs with foreign keys off;
// every foreign key is then checked (PRAGMA foreign_key_check) before the
// transaction commits, and a violation rolls it all back.
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
// on, temporary data in memory, a 16 MiB page cache for the writer, a WAL
// checkpoint whenever the WAL passes 10,000 pages (~40 MiB; the WAL file
// keeps that size on disk) and up to 4 reader connections.
//
// # Bulk import
//
// CreateMemberships writes a whole batch in one transaction, 200 items at
// a time with one multi-row INSERT per table. Each chunk is first written
// optimistically inside a savepoint, checked only against what the batch
// itself wrote before; if an INSERT hits a constraint (an email, id or external id the
// database already holds), the chunk is rolled back to the savepoint and
// redone with a lookup query first, so per-item refusals still write
// nothing. The batch holds the (single) writer while it runs, so other
// writes wait for it: import in batches of about 1,000. After every 2,000
// items CreateMemberships wrote, a background goroutine runs a PASSIVE WAL
// checkpoint on its own connection (file databases only), so the import
// does not wait for the checkpoint; Close stops it.
//
// Times are stored as Unix microseconds (the precision PostgreSQL keeps) and
// read back in UTC; maps and role lists as JSON text, nil as NULL.
//
// # Push invalidation and sessions
//
// GetMember (store.MemberGetter) reads a membership and its user in one
// query. RevokeSessions (store.SessionRevoker) increments the user's
// session generation (migration 0003_sessions). Subscribe
// (store.ChangeNotifier) is in process only: every committed membership
// change and session revocation of this Store is published, after the
// commit, to this Store's subscriptions. Several processes sharing one
// database file get no push from each other: each relies on its cache's
// TTL (the middleware's fallback) for the others' changes.
//
// The caller must Close the store when done.
//
// It implements store.Store, store.BatchCreator (bulk import in one
// transaction) and store.Closer.
package sqlitestore
