-- 0001_init: invitekit's initial schema.
--
-- pgstore runs this with search_path set to the configured schema, inside
-- the migration transaction (under an advisory lock).
--
-- Times are timestamptz (microsecond precision). A zero time.Time is stored
-- as 0001-01-01 00:00:00+00 (it round-trips); NULL is a nil *time.Time.
-- Maps and role lists are jsonb; NULL is a nil map or slice.

CREATE TABLE organizations (
	id          text PRIMARY KEY,
	name        text NOT NULL,
	locale      text NOT NULL DEFAULT '',
	metadata    jsonb,
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL
);

CREATE TABLE users (
	id                text PRIMARY KEY,
	email             text NOT NULL,
	external_id       text NOT NULL DEFAULT '',
	profile_id        text NOT NULL DEFAULT '',
	first_name        text NOT NULL DEFAULT '',
	last_name         text NOT NULL DEFAULT '',
	name              text NOT NULL DEFAULT '',
	locale            text NOT NULL DEFAULT '',
	email_verified    boolean NOT NULL DEFAULT false,
	phone_number      text NOT NULL DEFAULT '',
	profile_metadata  jsonb,
	custom_attributes jsonb,
	metadata          jsonb,
	create_time       timestamptz NOT NULL,
	update_time       timestamptz NOT NULL,
	last_login        timestamptz,
	CONSTRAINT users_email_key UNIQUE (email)
);

CREATE UNIQUE INDEX users_external_id_key ON users (external_id) WHERE external_id <> '';

-- seq is the insertion order (cursor pagination); a revoked (deleted)
-- membership's seq is never reused. seq values come only from the table's
-- sequence, so they are unique without an index of their own (every index
-- costs bulk imports time; each table has just the ones its queries use).
--
-- No foreign keys on the write-heavy tables (memberships, invitations,
-- outbox, events): organizations and users are never deleted, and every
-- write checks the organization and creates or finds the user in the same
-- transaction. FK triggers would cost about half of a bulk import's
-- membership inserts.
CREATE TABLE memberships (
	seq                bigserial,
	org_id             text NOT NULL,
	user_id            text NOT NULL,
	status             text NOT NULL,
	roles              jsonb,
	metadata           jsonb,
	primary_idp        text NOT NULL DEFAULT '',
	invited_by         text NOT NULL DEFAULT '',
	invite_expire_time timestamptz NOT NULL,
	join_time          timestamptz NOT NULL,
	update_time        timestamptz NOT NULL,
	PRIMARY KEY (org_id, user_id)
);

CREATE INDEX memberships_org_seq ON memberships (org_id, seq);
CREATE INDEX memberships_user_seq ON memberships (user_id, seq);

-- Invitations outlive a revoked membership, so they name the organization
-- and the user, not the membership. seq orders a membership's invitations
-- (newest = highest).
CREATE TABLE invitations (
	id            text PRIMARY KEY,
	seq           bigserial,
	org_id        text NOT NULL,
	user_id       text NOT NULL,
	email         text NOT NULL DEFAULT '',
	verifier_hash bytea,
	invited_by    text NOT NULL DEFAULT '',
	create_time   timestamptz NOT NULL,
	expire_time   timestamptz NOT NULL,
	spend_time    timestamptz,
	revoke_time   timestamptz
);

CREATE INDEX invitations_org_user_seq ON invitations (org_id, user_id, seq);

CREATE TABLE identities (
	issuer      text NOT NULL,
	subject     text NOT NULL,
	user_id     text NOT NULL REFERENCES users (id),
	email       text NOT NULL DEFAULT '',
	create_time timestamptz NOT NULL,
	PRIMARY KEY (issuer, subject)
);

CREATE INDEX identities_user ON identities (user_id);

-- seq is the insertion order ("oldest first"). Claims scan the partial
-- index of queued messages in seq order with FOR UPDATE SKIP LOCKED.
CREATE TABLE outbox (
	id                text PRIMARY KEY,
	seq               bigserial,
	org_id            text NOT NULL,
	kind              text NOT NULL DEFAULT '',
	to_addr           text NOT NULL DEFAULT '',
	message_id        text NOT NULL DEFAULT '',
	data              jsonb,
	sealed            bytea,
	status            text NOT NULL,
	attempts          integer NOT NULL DEFAULT 0,
	next_attempt_time timestamptz NOT NULL,
	lease_until       timestamptz NOT NULL,
	last_error        text NOT NULL DEFAULT '',
	create_time       timestamptz NOT NULL,
	sent_time         timestamptz
);

CREATE INDEX outbox_queued ON outbox (seq) WHERE status = 'QUEUED';
CREATE INDEX outbox_org_status_seq ON outbox (org_id, status, seq);

-- Events are append-only. seq is taken while holding a per-organization
-- advisory lock until commit, so one organization's events become visible
-- in seq order (a reader following ListEvents' cursor never skips one).
CREATE TABLE events (
	seq         bigserial,
	id          text NOT NULL,
	org_id      text NOT NULL,
	type        text NOT NULL,
	user_id     text NOT NULL DEFAULT '',
	actor_id    text NOT NULL DEFAULT '',
	data        jsonb,
	create_time timestamptz NOT NULL
);

CREATE INDEX events_org_seq ON events (org_id, seq);
