-- 0001_init: invitekit's initial schema.
--
-- Times are INTEGER Unix microseconds (UTC); 0 is the zero time.Time and
-- NULL a nil *time.Time. Maps and role lists are JSON text; NULL is nil.

CREATE TABLE organizations (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	locale      TEXT NOT NULL DEFAULT '',
	metadata    TEXT,
	create_time INTEGER NOT NULL DEFAULT 0,
	update_time INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE users (
	id                TEXT PRIMARY KEY,
	email             TEXT NOT NULL UNIQUE,
	external_id       TEXT NOT NULL DEFAULT '',
	profile_id        TEXT NOT NULL DEFAULT '',
	first_name        TEXT NOT NULL DEFAULT '',
	last_name         TEXT NOT NULL DEFAULT '',
	name              TEXT NOT NULL DEFAULT '',
	locale            TEXT NOT NULL DEFAULT '',
	email_verified    INTEGER NOT NULL DEFAULT 0,
	phone_number      TEXT NOT NULL DEFAULT '',
	profile_metadata  TEXT,
	custom_attributes TEXT,
	metadata          TEXT,
	create_time       INTEGER NOT NULL DEFAULT 0,
	update_time       INTEGER NOT NULL DEFAULT 0,
	last_login        INTEGER
) WITHOUT ROWID;

CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id <> '';

-- seq is the membership's insertion order (cursor pagination), taken from
-- counters.membership_seq so a deleted (revoked) membership's seq is never
-- reused. The primary key makes the per-request lookup one B-tree probe.
CREATE TABLE memberships (
	org_id             TEXT NOT NULL REFERENCES organizations (id),
	user_id            TEXT NOT NULL REFERENCES users (id),
	seq                INTEGER NOT NULL,
	status             TEXT NOT NULL,
	roles              TEXT,
	metadata           TEXT,
	primary_idp        TEXT NOT NULL DEFAULT '',
	invited_by         TEXT NOT NULL DEFAULT '',
	invite_expire_time INTEGER NOT NULL DEFAULT 0,
	join_time          INTEGER NOT NULL DEFAULT 0,
	update_time        INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX memberships_org_seq ON memberships (org_id, seq);
CREATE INDEX memberships_user ON memberships (user_id);

-- counters hands out sequence numbers that must never be reused.
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO counters (name, value) VALUES ('membership_seq', 0);

-- Invitations outlive a revoked membership, so they reference the
-- organization and the user, not the membership. rowid orders a
-- membership's invitations (newest = highest).
CREATE TABLE invitations (
	id            TEXT NOT NULL UNIQUE,
	org_id        TEXT NOT NULL REFERENCES organizations (id),
	user_id       TEXT NOT NULL REFERENCES users (id),
	email         TEXT NOT NULL DEFAULT '',
	verifier_hash BLOB,
	invited_by    TEXT NOT NULL DEFAULT '',
	create_time   INTEGER NOT NULL DEFAULT 0,
	expire_time   INTEGER NOT NULL DEFAULT 0,
	spend_time    INTEGER,
	revoke_time   INTEGER
);

CREATE INDEX invitations_org_user ON invitations (org_id, user_id);

CREATE TABLE identities (
	issuer      TEXT NOT NULL,
	subject     TEXT NOT NULL,
	user_id     TEXT NOT NULL REFERENCES users (id),
	email       TEXT NOT NULL DEFAULT '',
	create_time INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (issuer, subject)
) WITHOUT ROWID;

-- seq (the rowid) is the insertion order ("oldest first"); messages are
-- never deleted.
CREATE TABLE outbox (
	seq               INTEGER PRIMARY KEY,
	id                TEXT NOT NULL UNIQUE,
	org_id            TEXT NOT NULL,
	kind              TEXT NOT NULL DEFAULT '',
	to_addr           TEXT NOT NULL DEFAULT '',
	message_id        TEXT NOT NULL DEFAULT '',
	data              TEXT,
	sealed            BLOB,
	status            TEXT NOT NULL,
	attempts          INTEGER NOT NULL DEFAULT 0,
	next_attempt_time INTEGER NOT NULL DEFAULT 0,
	lease_until       INTEGER NOT NULL DEFAULT 0,
	last_error        TEXT NOT NULL DEFAULT '',
	create_time       INTEGER NOT NULL DEFAULT 0,
	sent_time         INTEGER
);

-- Claiming and counting go by status. Listing one organization's messages
-- (dead letters) scans that status and filters by organization: DEAD and
-- QUEUED stay small, so no second index slows every invite down.
CREATE INDEX outbox_status ON outbox (status);

-- Events are append-only (never deleted), so seq, the rowid, only grows.
CREATE TABLE events (
	seq         INTEGER PRIMARY KEY,
	id          TEXT NOT NULL,
	org_id      TEXT NOT NULL,
	type        TEXT NOT NULL,
	user_id     TEXT NOT NULL DEFAULT '',
	actor_id    TEXT NOT NULL DEFAULT '',
	data        TEXT,
	create_time INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX events_org ON events (org_id);
