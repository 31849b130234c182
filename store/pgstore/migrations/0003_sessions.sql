-- 0003_sessions: "sign out everywhere" (store.SessionRevoker). Each user
-- has a session generation (store.User.SessionGeneration): a session
-- carries the generation it was made in and is refused once the user's is
-- higher. RevokeSessions increments it. Adding a column with a constant
-- default rewrites no table; every existing user starts at 0.

ALTER TABLE users ADD COLUMN session_generation bigint NOT NULL DEFAULT 0;
