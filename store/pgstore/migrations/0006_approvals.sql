-- 0006_approvals: approval before invitation (store.ApprovalStore): each
-- organization's approval rules (revision counts the changes; a guarded
-- create checks it under a share lock on the organization's row, which
-- SetApprovalRules locks for update) and the held invites with their
-- decisions. A held membership itself is a memberships row in status
-- PENDING_APPROVAL. The same tables as sqlitestore's 0006_approvals, and
-- the webhook types of the new events (store.WebhookMappings, ord 60-69).

CREATE TABLE approval_rules (
	org_id          text PRIMARY KEY REFERENCES organizations(id),
	all_invites     boolean NOT NULL DEFAULT false,
	roles           jsonb,
	inviter_roles   jsonb,
	outside_domains boolean NOT NULL DEFAULT false,
	domains         jsonb,
	revision        bigint NOT NULL,
	update_time     timestamptz NOT NULL,
	updated_by      text NOT NULL DEFAULT ''
);

CREATE TABLE approval_requests (
	id          text PRIMARY KEY,
	seq         bigserial,
	org_id      text NOT NULL REFERENCES organizations(id),
	user_id     text NOT NULL,
	email       text NOT NULL,
	roles       jsonb,
	invited_by  text NOT NULL DEFAULT '',
	surface     text NOT NULL DEFAULT '',
	hold_reason text NOT NULL DEFAULT '',
	status      text NOT NULL,
	create_time timestamptz NOT NULL,
	expire_time timestamptz NOT NULL,
	decided_by  text NOT NULL DEFAULT '',
	reason      text NOT NULL DEFAULT '',
	decide_time timestamptz
);

CREATE INDEX approval_requests_org ON approval_requests (org_id, seq);
CREATE INDEX approval_requests_due ON approval_requests (expire_time) WHERE status = 'PENDING';

INSERT INTO webhook_event_map (ord, store_type, webhook_type, data_key) VALUES
	(60, 'membership.held', 'invitation.held', ''),
	(61, 'membership.approved', 'invitation.approved', ''),
	(62, 'membership.approved', 'invitation.created', ''),
	(63, 'membership.approved', 'membership.created', ''),
	(64, 'membership.rejected', 'invitation.rejected', ''),
	(65, 'membership.hold_expired', 'invitation.hold_expired', '');
