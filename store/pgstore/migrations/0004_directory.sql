-- 0004_directory: directory sync (SCIM, store.Directory): tokens (SHA-256
-- of the secret only), settings, the userName of each provisioned member,
-- groups and their members. The same five tables as sqlitestore's
-- 0004_directory. seq is the insertion order (oldest first); a nil
-- *time.Time is NULL; maps are jsonb.

CREATE TABLE directory_tokens (
	id          text PRIMARY KEY,
	seq         bigserial,
	org_id      text NOT NULL REFERENCES organizations(id),
	name        text NOT NULL,
	hash        bytea NOT NULL,
	created_by  text NOT NULL DEFAULT '',
	create_time timestamptz NOT NULL,
	last_used   timestamptz,
	revoke_time timestamptz
);
CREATE INDEX directory_tokens_org ON directory_tokens (org_id, seq);

CREATE TABLE directory_settings (
	org_id           text PRIMARY KEY REFERENCES organizations(id),
	provision_status text NOT NULL DEFAULT '',
	delete_action    text NOT NULL DEFAULT '',
	group_roles      jsonb,
	update_time      timestamptz NOT NULL
);

-- user_name_key is store.UserNameKey(user_name) (ASCII case folding, as
-- RFC 7643 makes userName caseExact false).
CREATE TABLE directory_users (
	org_id        text NOT NULL,
	user_id       text NOT NULL,
	user_name     text NOT NULL,
	user_name_key text NOT NULL,
	PRIMARY KEY (org_id, user_id),
	CONSTRAINT directory_users_name_key UNIQUE (org_id, user_name_key)
);

CREATE TABLE directory_groups (
	org_id       text NOT NULL REFERENCES organizations(id),
	id           text NOT NULL,
	seq          bigserial,
	display_name text NOT NULL,
	external_id  text NOT NULL DEFAULT '',
	create_time  timestamptz NOT NULL,
	update_time  timestamptz NOT NULL,
	PRIMARY KEY (org_id, id),
	CONSTRAINT directory_groups_name_key UNIQUE (org_id, display_name)
);
CREATE INDEX directory_groups_org_seq ON directory_groups (org_id, seq);

CREATE TABLE directory_group_members (
	org_id   text NOT NULL,
	group_id text NOT NULL,
	user_id  text NOT NULL,
	PRIMARY KEY (org_id, group_id, user_id)
);
CREATE INDEX directory_group_members_user ON directory_group_members (org_id, user_id);
