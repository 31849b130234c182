-- 0004_directory: directory sync (SCIM): tokens (SHA-256 of the secret
-- only), settings, the userName of each provisioned member, groups and
-- their members. Times Unix microseconds, NULL a nil *time.Time; maps JSON.

CREATE TABLE directory_tokens (
	id           TEXT PRIMARY KEY,
	seq          INTEGER NOT NULL,
	org_id       TEXT NOT NULL REFERENCES organizations(id),
	name         TEXT NOT NULL,
	hash         BLOB NOT NULL,
	created_by   TEXT NOT NULL DEFAULT '',
	create_time  INTEGER NOT NULL,
	last_used    INTEGER,
	revoke_time  INTEGER
);
CREATE INDEX directory_tokens_org ON directory_tokens (org_id, seq);

CREATE TABLE directory_settings (
	org_id           TEXT PRIMARY KEY REFERENCES organizations(id),
	provision_status TEXT NOT NULL DEFAULT '',
	delete_action    TEXT NOT NULL DEFAULT '',
	group_roles      TEXT,
	update_time      INTEGER NOT NULL
);

CREATE TABLE directory_users (
	org_id        TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	user_name     TEXT NOT NULL,
	user_name_key TEXT NOT NULL,
	PRIMARY KEY (org_id, user_id),
	UNIQUE (org_id, user_name_key)
);

CREATE TABLE directory_groups (
	org_id       TEXT NOT NULL REFERENCES organizations(id),
	id           TEXT NOT NULL,
	seq          INTEGER NOT NULL,
	display_name TEXT NOT NULL,
	external_id  TEXT NOT NULL DEFAULT '',
	create_time  INTEGER NOT NULL,
	update_time  INTEGER NOT NULL,
	PRIMARY KEY (org_id, id),
	UNIQUE (org_id, display_name)
);

CREATE TABLE directory_group_members (
	org_id   TEXT NOT NULL,
	group_id TEXT NOT NULL,
	user_id  TEXT NOT NULL,
	PRIMARY KEY (org_id, group_id, user_id)
);
CREATE INDEX directory_group_members_user ON directory_group_members (org_id, user_id);
