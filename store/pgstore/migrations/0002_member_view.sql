-- 0002_member_view: the organization's view of a member lives on the
-- membership (store.Membership.ExternalID, Profile, UserMetadata,
-- LastLogin), so that no organization sees what another wrote about a
-- person they share.
--
-- The columns mirror the users columns of the same names (same types and
-- encoding: text NOT NULL DEFAULT '', jsonb with NULL for a nil map,
-- nullable timestamptz). Adding them with constant defaults rewrites no
-- table.

ALTER TABLE memberships
	ADD COLUMN external_id       text NOT NULL DEFAULT '',
	ADD COLUMN first_name        text NOT NULL DEFAULT '',
	ADD COLUMN last_name         text NOT NULL DEFAULT '',
	ADD COLUMN name              text NOT NULL DEFAULT '',
	ADD COLUMN locale            text NOT NULL DEFAULT '',
	ADD COLUMN phone_number      text NOT NULL DEFAULT '',
	ADD COLUMN profile_metadata  jsonb,
	ADD COLUMN custom_attributes jsonb,
	ADD COLUMN user_metadata     jsonb,
	ADD COLUMN last_login        timestamptz;

-- Backfill: what the user row held until now was written by the
-- organization that first added the person, so it goes to the user's
-- earliest membership (smallest join_time, ties by seq) only; the user's
-- other memberships start empty. The last login is copied only when that
-- membership is ACTIVE (a pending or inactive membership has not seen it).
UPDATE memberships m SET
	external_id       = u.external_id,
	first_name        = u.first_name,
	last_name         = u.last_name,
	name              = u.name,
	locale            = u.locale,
	phone_number      = u.phone_number,
	profile_metadata  = u.profile_metadata,
	custom_attributes = u.custom_attributes,
	user_metadata     = u.metadata,
	last_login        = CASE WHEN m.status = 'ACTIVE' THEN u.last_login END
FROM users u,
	(SELECT DISTINCT ON (user_id) user_id, org_id FROM memberships ORDER BY user_id, join_time, seq) AS earliest
WHERE earliest.user_id = m.user_id AND earliest.org_id = m.org_id AND u.id = m.user_id;

-- An external id is unique within its organization when not empty. (A
-- user's external id was unique across all users, so the backfill cannot
-- violate it.) Like users_external_id_key, the index is partial: a query
-- must repeat "external_id <> ''" for a generic plan to use it.
CREATE UNIQUE INDEX memberships_org_external_id_key ON memberships (org_id, external_id) WHERE external_id <> '';
