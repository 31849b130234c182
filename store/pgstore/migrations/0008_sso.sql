-- 0008_sso: enterprise SSO (store.SSOConnectionStore): each organization's
-- own OpenID Connect connection (at most one; the client secret sealed
-- with the kit's key), and the other organizations' connections it
-- trusts. The same two tables as sqlitestore's 0008_sso.

CREATE TABLE sso_connections (
	org_id        text PRIMARY KEY REFERENCES organizations(id),
	id            text NOT NULL UNIQUE,
	name          text NOT NULL,
	issuer        text NOT NULL,
	client_id     text NOT NULL,
	sealed_secret bytea,
	scopes        text[],
	email_claim   text NOT NULL DEFAULT '',
	name_claim    text NOT NULL DEFAULT '',
	enforce       boolean NOT NULL DEFAULT false,
	created_by    text NOT NULL DEFAULT '',
	create_time   timestamptz NOT NULL,
	update_time   timestamptz NOT NULL
);

CREATE TABLE sso_trust (
	org_id        text NOT NULL REFERENCES organizations(id),
	connection_id text NOT NULL,
	PRIMARY KEY (org_id, connection_id)
);
CREATE INDEX sso_trust_connection ON sso_trust (connection_id);
