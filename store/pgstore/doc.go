// Package pgstore is a store.Store on PostgreSQL (github.com/jackc/pgx/v5
// and pgxpool), for apps that run several replicas against one database.
//
// # Use
//
//	pool, err := pgxpool.New(ctx, os.Getenv("INVITEKIT_POSTGRES_DSN"))
//	...
//	st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: "invitekit"})
//
// or pgstore.Open(ctx, dsn, cfg), which creates (and on Close closes) the
// pool itself. New never closes a pool it was given.
//
// # Schema and migrations
//
// All tables live in Config.Schema (default DefaultSchema, "invitekit": a
// dedicated schema keeps them apart from the app's own "users" table). Every
// query is schema-qualified, so the pool's search_path does not matter. New
// applies the embedded, versioned migrations (migrations/NNNN_name.sql) in
// one transaction under pg_advisory_xact_lock, so any number of replicas may
// start at once: one migrates, the others wait and then find nothing to do.
// Applied versions are recorded in <schema>.invitekit_migrations. A database
// migrated by a newer release (a version this binary does not know) is used
// as is.
//
// # Concurrency
//
// A Store is safe for concurrent use, and so are many Stores (in many
// processes) on one schema. Every write runs in one READ COMMITTED
// transaction built from conditional statements, never read-then-write:
// an invitation is spent by "UPDATE … WHERE spend_time IS NULL AND … AND
// expire_time > now" (of many concurrent accepts exactly one succeeds);
// users are created with INSERT … ON CONFLICT (email) DO NOTHING; a second
// membership of one user in one org is refused by a unique key
// (ErrAlreadyMember), and so is a membership external id taken in the org
// (ErrExternalIDTaken); the outbox is claimed with FOR UPDATE SKIP LOCKED, so
// N dispatchers never lease one message twice. Events take a per-organization
// advisory lock until commit, so an organization's events commit in Seq
// order. Deadlocks and serialization failures are retried (up to 4 times);
// any other error rolls the whole operation back.
//
// Times are stored with microsecond precision (PostgreSQL timestamptz) and
// returned in UTC; maps are jsonb (nil and empty are kept apart).
//
// CreateMemberships (store.BatchCreator) writes a whole batch in one
// transaction with COPY; size batches at about 1,000 items.
//
// # Push invalidation
//
// A Store is a store.ChangeNotifier on LISTEN/NOTIFY. Every write that
// changes a membership, RevokeSessions, and every SSO connection write
// (PutSSOConnection, DeleteSSOConnection, SetSSOTrust: [organization id,
// ""], the organization's SSO policy) calls pg_notify in its own
// transaction (in the statement that appends its event, so no extra round
// trip), so a change is delivered once it commits and never if it rolls
// back. The channel, Channel(), is derived from the schema: stores on two
// schemas never see each other's changes. The payload is the JSON array
// [organization id, user id] ("" for an empty one; [] means everything):
// one notification per membership, one per user for a session revocation;
// a CreateMemberships call publishes one per created membership up to
// 1,000 and a single "everything" beyond that.
//
// Subscribe listens on a connection of its own (not taken from the pool;
// application_name ListenerApplicationName()), returns once it listens,
// and delivers notifications in commit order until its context ends. When
// the connection is lost (or answers no ping after 10 s of silence), it
// calls lost at once, reconnects with backoff (50 ms doubling to 5 s),
// listens again and delivers store.Change{} (resync) before any further
// change. A pooler in transaction mode (PgBouncer) cannot carry LISTEN:
// give the pool a direct connection string.
//
// GetMember (store.MemberGetter) reads a membership and its user in one
// statement; RevokeSessions (store.SessionRevoker) increments
// users.session_generation (migration 0003_sessions).
//
// # Sessions
//
// SessionsSQL and CreateSessionsTable create the table that
// github.com/alexedwards/scs/pgxstore expects, so scs sessions (and with
// them the signed-in user) are shared by all replicas.
package pgstore
