-- 0007_join_domains: requests to join (store.JoinRequestStore) and email
-- domain claims (store.DomainStore), and their webhook mappings
-- (store.WebhookMappings, ord 70…). Times timestamptz; role lists
-- jsonb.
--
-- join_requests_pending makes a second PENDING request of one email to one
-- organization a constraint violation; domains_verified makes a domain
-- verified by one organization at most, whatever runs at once.

CREATE TABLE join_requests (
	seq         bigserial PRIMARY KEY,
	id          text NOT NULL UNIQUE,
	org_id      text NOT NULL REFERENCES organizations(id),
	email       text NOT NULL,
	name        text NOT NULL DEFAULT '',
	message     text NOT NULL DEFAULT '',
	status      text NOT NULL DEFAULT 'PENDING',
	roles       jsonb,
	user_id     text NOT NULL DEFAULT '',
	decided_by  text NOT NULL DEFAULT '',
	reason      text NOT NULL DEFAULT '',
	create_time timestamptz NOT NULL,
	decide_time timestamptz
);
CREATE UNIQUE INDEX join_requests_pending ON join_requests (org_id, email) WHERE status = 'PENDING';
CREATE INDEX join_requests_org ON join_requests (org_id, seq);
CREATE INDEX join_requests_email ON join_requests (org_id, email, seq);

CREATE TABLE domains (
	org_id        text NOT NULL REFERENCES organizations(id),
	domain        text NOT NULL,
	token         text NOT NULL,
	policy        text NOT NULL DEFAULT 'NONE',
	default_roles jsonb,
	verified_time timestamptz,
	check_time    timestamptz,
	created_by    text NOT NULL DEFAULT '',
	create_time   timestamptz NOT NULL,
	update_time   timestamptz NOT NULL,
	PRIMARY KEY (org_id, domain)
);
CREATE UNIQUE INDEX domains_verified ON domains (domain) WHERE verified_time IS NOT NULL;
CREATE INDEX domains_due ON domains (check_time) WHERE verified_time IS NOT NULL;

INSERT INTO webhook_event_map (ord, store_type, webhook_type, data_key) VALUES
	(70, 'join_request.created', 'join_request.created', ''),
	(71, 'join_request.approved', 'join_request.approved', ''),
	(72, 'join_request.approved', 'membership.created', ''),
	(73, 'join_request.approved', 'membership.activated', ''),
	(74, 'join_request.declined', 'join_request.declined', ''),
	(75, 'membership.domain_joined', 'membership.created', ''),
	(76, 'membership.domain_joined', 'membership.activated', ''),
	(77, 'domain.verified', 'domain.verified', ''),
	(78, 'domain.unverified', 'domain.unverified', '');
