-- 0002_member_view: the organization's view of a member
-- (store.Membership.ExternalID, Profile, UserMetadata, LastLogin) lives on
-- the membership, so that no organization sees what another wrote about a
-- person they share. Encodings as in 0001 (maps JSON text, NULL nil; times
-- Unix microseconds, NULL a nil *time.Time).

ALTER TABLE memberships ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN last_name TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN phone_number TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN profile_metadata TEXT;
ALTER TABLE memberships ADD COLUMN custom_attributes TEXT;
ALTER TABLE memberships ADD COLUMN user_metadata TEXT;
ALTER TABLE memberships ADD COLUMN last_login INTEGER;

-- Backfill: until now the kit kept one view per person, on the user. The
-- organization that wrote it is the one the person joined first (smallest
-- join_time, ties by seq): that membership gets the user's external id,
-- profile and metadata, the others stay empty. The user's last login is
-- copied only if that membership is ACTIVE (a pending or inactive member
-- has not signed in to it). The user's own columns are kept.
UPDATE memberships AS m
SET external_id       = u.external_id,
    first_name        = u.first_name,
    last_name         = u.last_name,
    name              = u.name,
    locale            = u.locale,
    phone_number      = u.phone_number,
    profile_metadata  = u.profile_metadata,
    custom_attributes = u.custom_attributes,
    user_metadata     = u.metadata,
    last_login        = CASE WHEN m.status = 'ACTIVE' THEN u.last_login END
FROM users AS u
WHERE u.id = m.user_id
  AND NOT EXISTS (
	SELECT 1 FROM memberships AS e
	WHERE e.user_id = m.user_id
	  AND (e.join_time < m.join_time OR (e.join_time = m.join_time AND e.seq < m.seq))
  );

-- An organization's external ids are unique; an empty one is "none".
CREATE UNIQUE INDEX memberships_org_external_id ON memberships (org_id, external_id) WHERE external_id <> '';
