-- 0022_event_lock: each organization keeps its event feed's advisory lock
-- key (eventLock: FNV-1a of "invitekit.events", the schema and the
-- organization id, each followed by a zero byte, as a signed 64-bit
-- integer), written with the organization, so that a statement that
-- finds the organization in SQL (the one-statement accept) reads the key
-- instead of hashing the id byte by byte. The organizations that exist
-- are filled in here, by the same hash in SQL; NULL (a row written by an
-- older release) makes the statement hash the id itself. The keys depend
-- on the schema's name, which a store keeps for its life (the trigger
-- functions keep it too: SET search_path FROM CURRENT). pgstore only:
-- sqlitestore has no advisory locks.
ALTER TABLE organizations ADD COLUMN event_lock bigint;

WITH RECURSIVE b (id, b) AS (
	SELECT id, convert_to('invitekit.events', 'UTF8') || '\x00'::bytea || convert_to(current_schema(), 'UTF8') || '\x00'::bytea
		|| convert_to(id, 'UTF8') || '\x00'::bytea
	FROM organizations
), f (id, i, h) AS (
	SELECT id, 0, 14695981039346656037::numeric FROM b
	UNION ALL
	SELECT f.id, f.i + 1, mod((f.h - mod(f.h, 256) + (mod(f.h, 256)::int # get_byte(b.b, f.i))) * 1099511628211, 18446744073709551616)
	FROM f JOIN b ON b.id = f.id WHERE f.i < length(b.b)
)
UPDATE organizations o SET event_lock = (CASE WHEN f.h >= 9223372036854775808 THEN f.h - 18446744073709551616 ELSE f.h END)::int8
FROM f JOIN b ON b.id = f.id
WHERE o.id = f.id AND f.i = length(b.b);
