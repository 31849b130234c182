-- 0007_join_domains: requests to join (store.JoinRequestStore) and email
-- domain claims (store.DomainStore), and their webhook mappings
-- (store.WebhookMappings, ord 70…). Times Unix microseconds; role lists
-- JSON.
--
-- join_requests_pending makes a second PENDING request of one email to one
-- organization a constraint violation; domains_verified makes a domain
-- verified by one organization at most, whatever runs at once.

CREATE TABLE join_requests (
	seq         INTEGER PRIMARY KEY,
	id          TEXT NOT NULL UNIQUE,
	org_id      TEXT NOT NULL REFERENCES organizations(id),
	email       TEXT NOT NULL,
	name        TEXT NOT NULL DEFAULT '',
	message     TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL DEFAULT 'PENDING',
	roles       TEXT,
	user_id     TEXT NOT NULL DEFAULT '',
	decided_by  TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL DEFAULT '',
	create_time INTEGER NOT NULL,
	decide_time INTEGER
);
CREATE UNIQUE INDEX join_requests_pending ON join_requests (org_id, email) WHERE status = 'PENDING';
CREATE INDEX join_requests_org ON join_requests (org_id, seq);
CREATE INDEX join_requests_email ON join_requests (org_id, email, seq);

CREATE TABLE domains (
	org_id        TEXT NOT NULL REFERENCES organizations(id),
	domain        TEXT NOT NULL,
	token         TEXT NOT NULL,
	policy        TEXT NOT NULL DEFAULT 'NONE',
	default_roles TEXT,
	verified_time INTEGER,
	check_time    INTEGER NOT NULL DEFAULT 0,
	created_by    TEXT NOT NULL DEFAULT '',
	create_time   INTEGER NOT NULL,
	update_time   INTEGER NOT NULL,
	PRIMARY KEY (org_id, domain)
) WITHOUT ROWID;
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
