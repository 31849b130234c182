-- 0006_approvals: approval before invitation (store.ApprovalStore): each
-- organization's approval rules (revision counts the changes; a guarded
-- create checks it in its own transaction) and the held invites with their
-- decisions. A held membership itself is a memberships row in status
-- PENDING_APPROVAL. Lists are JSON text; times Unix microseconds. The same
-- tables as pgstore's 0006_approvals, and the webhook types of the new
-- events (store.WebhookMappings, ord 60-69).

CREATE TABLE approval_rules (
	org_id          TEXT PRIMARY KEY REFERENCES organizations (id),
	all_invites     INTEGER NOT NULL DEFAULT 0,
	roles           TEXT,
	inviter_roles   TEXT,
	outside_domains INTEGER NOT NULL DEFAULT 0,
	domains         TEXT,
	revision        INTEGER NOT NULL,
	update_time     INTEGER NOT NULL DEFAULT 0,
	updated_by      TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE approval_requests (
	id          TEXT PRIMARY KEY,
	seq         INTEGER NOT NULL,
	org_id      TEXT NOT NULL REFERENCES organizations (id),
	user_id     TEXT NOT NULL,
	email       TEXT NOT NULL,
	roles       TEXT,
	invited_by  TEXT NOT NULL DEFAULT '',
	surface     TEXT NOT NULL DEFAULT '',
	hold_reason TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL,
	create_time INTEGER NOT NULL,
	expire_time INTEGER NOT NULL,
	decided_by  TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL DEFAULT '',
	decide_time INTEGER
) WITHOUT ROWID;

CREATE INDEX approval_requests_org ON approval_requests (org_id, seq);
CREATE INDEX approval_requests_due ON approval_requests (expire_time) WHERE status = 'PENDING';

INSERT INTO webhook_event_map (ord, store_type, webhook_type, data_key) VALUES
	(60, 'membership.held', 'invitation.held', ''),
	(61, 'membership.approved', 'invitation.approved', ''),
	(62, 'membership.approved', 'invitation.created', ''),
	(63, 'membership.approved', 'membership.created', ''),
	(64, 'membership.rejected', 'invitation.rejected', ''),
	(65, 'membership.hold_expired', 'invitation.hold_expired', '');
