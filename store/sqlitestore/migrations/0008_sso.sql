-- 0008_sso: enterprise SSO (store.SSOConnectionStore): each organization's
-- own OpenID Connect connection (at most one; the client secret sealed
-- with the kit's key), and the other organizations' connections it
-- trusts. Times Unix microseconds; scopes a JSON list.

CREATE TABLE sso_connections (
	org_id        TEXT PRIMARY KEY REFERENCES organizations(id),
	id            TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	issuer        TEXT NOT NULL,
	client_id     TEXT NOT NULL,
	sealed_secret BLOB,
	scopes        TEXT,
	email_claim   TEXT NOT NULL DEFAULT '',
	name_claim    TEXT NOT NULL DEFAULT '',
	enforce       INTEGER NOT NULL DEFAULT 0,
	created_by    TEXT NOT NULL DEFAULT '',
	create_time   INTEGER NOT NULL,
	update_time   INTEGER NOT NULL
);

CREATE TABLE sso_trust (
	org_id        TEXT NOT NULL REFERENCES organizations(id),
	connection_id TEXT NOT NULL,
	PRIMARY KEY (org_id, connection_id)
);
CREATE INDEX sso_trust_connection ON sso_trust (connection_id);
