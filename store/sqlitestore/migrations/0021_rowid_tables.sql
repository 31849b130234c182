-- invitekit: foreign_keys off
--
-- 0021_rowid_tables: users and memberships become ordinary rowid tables.
-- Until now both were WITHOUT ROWID, so the whole (wide) row lived in a
-- B-tree keyed by the random user id (memberships by org_id, user_id):
-- every insert landed on a random leaf, and a bulk batch split and
-- dirtied leaf pages all over both tables. Now rows are appended in rowid
-- order and the random keys are narrow unique indexes (a PRIMARY KEY
-- other than INTEGER PRIMARY KEY is one in a rowid table). Same columns,
-- defaults, uniqueness, foreign keys and indexes; nothing reads the rowid.
-- User ids stay random: a user id is shared by all of a person's
-- organizations, and a time in it would tell one organization when the
-- person first appeared in another.
--
-- SQLite's table rebuild (https://www.sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"): the first line above
-- makes the migrator run this transaction with foreign keys off and
-- PRAGMA foreign_key_check it before the commit. Each table is created
-- under a new name, filled, the old one dropped and the new one renamed
-- (in that order, so the other tables' REFERENCES users keep naming
-- it), and its indexes recreated. No trigger or view names either table.

CREATE TABLE users_new (
	id                 TEXT NOT NULL PRIMARY KEY,
	email              TEXT NOT NULL UNIQUE,
	external_id        TEXT NOT NULL DEFAULT '',
	profile_id         TEXT NOT NULL DEFAULT '',
	first_name         TEXT NOT NULL DEFAULT '',
	last_name          TEXT NOT NULL DEFAULT '',
	name               TEXT NOT NULL DEFAULT '',
	locale             TEXT NOT NULL DEFAULT '',
	email_verified     INTEGER NOT NULL DEFAULT 0,
	phone_number       TEXT NOT NULL DEFAULT '',
	profile_metadata   TEXT,
	custom_attributes  TEXT,
	metadata           TEXT,
	create_time        INTEGER NOT NULL DEFAULT 0,
	update_time        INTEGER NOT NULL DEFAULT 0,
	last_login         INTEGER,
	session_generation INTEGER NOT NULL DEFAULT 0
);

INSERT INTO users_new (id, email, external_id, profile_id, first_name, last_name, name, locale,
	email_verified, phone_number, profile_metadata, custom_attributes, metadata, create_time,
	update_time, last_login, session_generation)
SELECT id, email, external_id, profile_id, first_name, last_name, name, locale,
	email_verified, phone_number, profile_metadata, custom_attributes, metadata, create_time,
	update_time, last_login, session_generation
FROM users ORDER BY create_time, id;

DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id <> '';

-- seq is the membership's insertion order (cursor pagination), taken from
-- counters.membership_seq so a deleted (revoked) membership's seq is never
-- reused. The per-request lookup is the primary key's index, then the row.
CREATE TABLE memberships_new (
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
	external_id        TEXT NOT NULL DEFAULT '',
	first_name         TEXT NOT NULL DEFAULT '',
	last_name          TEXT NOT NULL DEFAULT '',
	name               TEXT NOT NULL DEFAULT '',
	locale             TEXT NOT NULL DEFAULT '',
	phone_number       TEXT NOT NULL DEFAULT '',
	profile_metadata   TEXT,
	custom_attributes  TEXT,
	user_metadata      TEXT,
	last_login         INTEGER,
	PRIMARY KEY (org_id, user_id)
);

INSERT INTO memberships_new (org_id, user_id, seq, status, roles, metadata, primary_idp, invited_by,
	invite_expire_time, join_time, update_time, external_id, first_name, last_name, name, locale,
	phone_number, profile_metadata, custom_attributes, user_metadata, last_login)
SELECT org_id, user_id, seq, status, roles, metadata, primary_idp, invited_by,
	invite_expire_time, join_time, update_time, external_id, first_name, last_name, name, locale,
	phone_number, profile_metadata, custom_attributes, user_metadata, last_login
FROM memberships ORDER BY seq;

DROP TABLE memberships;
ALTER TABLE memberships_new RENAME TO memberships;

CREATE UNIQUE INDEX memberships_org_seq ON memberships (org_id, seq);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE UNIQUE INDEX memberships_org_external_id ON memberships (org_id, external_id) WHERE external_id <> '';
