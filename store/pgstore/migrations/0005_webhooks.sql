-- 0005_webhooks: webhook endpoints, their subscribed types, the store-event
-- to webhook-type map (store.WebhookMappings; a test checks they agree),
-- deliveries, and the invitations whose expiry was noticed: the same tables
-- as sqlitestore's 0005_webhooks. A trigger on events writes the
-- deliveries of every appended event in the event's own transaction (every
-- write path appends through INSERT or COPY into events, and both fire it),
-- so a rolled-back change delivers nothing and a committed one is never
-- lost. The function keeps the schema's search_path (SET search_path FROM
-- CURRENT), so it finds its tables whatever the session's path.

CREATE TABLE webhook_endpoints (
	seq               bigserial,
	id                text PRIMARY KEY,
	url               text NOT NULL,
	org_id            text NOT NULL DEFAULT '',
	description       text NOT NULL DEFAULT '',
	secret            bytea NOT NULL,
	prev_secret       bytea,
	prev_secret_until timestamptz NOT NULL,
	created_by        text NOT NULL DEFAULT '',
	create_time       timestamptz NOT NULL,
	update_time       timestamptz NOT NULL,
	disabled_time     timestamptz,
	disabled_reason   text NOT NULL DEFAULT ''
);

CREATE TABLE webhook_endpoint_types (
	type        text NOT NULL,
	endpoint_id text NOT NULL,
	PRIMARY KEY (type, endpoint_id)
);

CREATE TABLE webhook_event_map (
	ord          integer NOT NULL,
	store_type   text NOT NULL,
	webhook_type text NOT NULL,
	data_key     text NOT NULL DEFAULT '',
	PRIMARY KEY (store_type, webhook_type)
);

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
	seq               bigserial PRIMARY KEY,
	endpoint_id       text NOT NULL,
	message_id        text NOT NULL,
	org_id            text NOT NULL,
	type              text NOT NULL,
	event_seq         bigint NOT NULL,
	status            text NOT NULL DEFAULT 'PENDING',
	attempts          integer NOT NULL DEFAULT 0,
	next_attempt_time timestamptz NOT NULL,
	lease_until       timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
	last_error        text NOT NULL DEFAULT '',
	create_time       timestamptz NOT NULL,
	delivered_time    timestamptz,
	UNIQUE (endpoint_id, message_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (seq) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, seq);
CREATE INDEX events_seq ON events (seq);

CREATE TABLE webhook_expiry_notices (
	invitation_id text PRIMARY KEY
);

CREATE FUNCTION webhook_deliveries_of_event() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE disabled_time IS NULL) THEN
		INSERT INTO webhook_deliveries (endpoint_id, message_id, org_id, type, event_seq, next_attempt_time, create_time)
		SELECT e.id, 'msg_' || substr(NEW.id, strpos(NEW.id, '_') + 1) || '_' || replace(m.webhook_type, '.', '_'),
			NEW.org_id, m.webhook_type, NEW.seq, NEW.create_time, NEW.create_time
		FROM webhook_event_map m
		JOIN webhook_endpoint_types t ON t.type = m.webhook_type
		JOIN webhook_endpoints e ON e.id = t.endpoint_id
		WHERE m.store_type = NEW.type
			AND (m.data_key = '' OR (NEW.data IS NOT NULL AND NEW.data ? m.data_key))
			AND e.disabled_time IS NULL AND (e.org_id = '' OR e.org_id = NEW.org_id)
		ORDER BY m.ord, e.seq;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER webhook_deliveries_of_event AFTER INSERT ON events
FOR EACH ROW EXECUTE FUNCTION webhook_deliveries_of_event();
