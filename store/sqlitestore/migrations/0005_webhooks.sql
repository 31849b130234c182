-- 0005_webhooks: webhook endpoints, their subscribed types, the store-event
-- to webhook-type map (store.WebhookMappings; a test checks they agree),
-- deliveries, and the invitations whose expiry was noticed. A trigger on
-- events writes the deliveries of every appended event in the event's own
-- transaction (every write path appends through INSERT INTO events), so a
-- rolled-back change delivers nothing and a committed one is never lost.

CREATE TABLE webhook_endpoints (
	seq               INTEGER PRIMARY KEY,
	id                TEXT NOT NULL UNIQUE,
	url               TEXT NOT NULL,
	org_id            TEXT NOT NULL DEFAULT '',
	description       TEXT NOT NULL DEFAULT '',
	secret            BLOB NOT NULL,
	prev_secret       BLOB,
	prev_secret_until INTEGER NOT NULL DEFAULT 0,
	created_by        TEXT NOT NULL DEFAULT '',
	create_time       INTEGER NOT NULL DEFAULT 0,
	update_time       INTEGER NOT NULL DEFAULT 0,
	disabled_time     INTEGER,
	disabled_reason   TEXT NOT NULL DEFAULT ''
);

CREATE TABLE webhook_endpoint_types (
	type        TEXT NOT NULL,
	endpoint_id TEXT NOT NULL,
	PRIMARY KEY (type, endpoint_id)
) WITHOUT ROWID;

CREATE TABLE webhook_event_map (
	ord          INTEGER NOT NULL,
	store_type   TEXT NOT NULL,
	webhook_type TEXT NOT NULL,
	data_key     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (store_type, webhook_type)
) WITHOUT ROWID;

INSERT INTO webhook_event_map (ord, store_type, webhook_type, data_key) VALUES
	(1, 'membership.invited', 'invitation.created', ''),
	(2, 'membership.invited', 'membership.created', ''),
	(3, 'membership.added', 'membership.created', ''),
	(4, 'membership.added', 'membership.activated', ''),
	(5, 'invitation.resent', 'invitation.resent', ''),
	(6, 'invitation.renewed', 'invitation.resent', ''),
	(7, 'membership.accepted', 'invitation.accepted', ''),
	(8, 'membership.accepted', 'membership.activated', ''),
	(9, 'membership.revoked', 'invitation.revoked', ''),
	(10, 'membership.revoked', 'membership.removed', ''),
	(11, 'invitation.expired', 'invitation.expired', ''),
	(12, 'membership.deactivated', 'membership.deactivated', ''),
	(13, 'membership.reactivated', 'membership.activated', ''),
	(14, 'membership.updated', 'membership.roles_changed', 'roles'),
	(15, 'membership.removed', 'membership.removed', ''),
	(16, 'user.logged_in', 'user.signed_in', ''),
	(17, 'identity.linked', 'identity.linked', ''),
	(18, 'webhook.endpoint_disabled', 'webhook.endpoint_disabled', '');

CREATE TABLE webhook_deliveries (
	seq               INTEGER PRIMARY KEY,
	endpoint_id       TEXT NOT NULL,
	message_id        TEXT NOT NULL,
	org_id            TEXT NOT NULL,
	type              TEXT NOT NULL,
	event_seq         INTEGER NOT NULL,
	status            TEXT NOT NULL DEFAULT 'PENDING',
	attempts          INTEGER NOT NULL DEFAULT 0,
	next_attempt_time INTEGER NOT NULL DEFAULT 0,
	lease_until       INTEGER NOT NULL DEFAULT 0,
	last_error        TEXT NOT NULL DEFAULT '',
	create_time       INTEGER NOT NULL DEFAULT 0,
	delivered_time    INTEGER,
	UNIQUE (endpoint_id, message_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_time) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, seq);

CREATE TABLE webhook_expiry_notices (
	invitation_id TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TRIGGER webhook_deliveries_of_event AFTER INSERT ON events
WHEN EXISTS (SELECT 1 FROM webhook_endpoints WHERE disabled_time IS NULL)
BEGIN
	INSERT INTO webhook_deliveries (endpoint_id, message_id, org_id, type, event_seq, next_attempt_time, create_time)
	SELECT e.id, 'msg_' || substr(NEW.id, instr(NEW.id, '_') + 1) || '_' || replace(m.webhook_type, '.', '_'),
		NEW.org_id, m.webhook_type, NEW.seq, NEW.create_time, NEW.create_time
	FROM webhook_event_map m
	JOIN webhook_endpoint_types t ON t.type = m.webhook_type
	JOIN webhook_endpoints e ON e.id = t.endpoint_id
	WHERE m.store_type = NEW.type
		AND (m.data_key = '' OR json_extract(NEW.data, '$.' || m.data_key) IS NOT NULL)
		AND e.disabled_time IS NULL AND (e.org_id = '' OR e.org_id = NEW.org_id)
	ORDER BY m.ord, e.seq;
END;
