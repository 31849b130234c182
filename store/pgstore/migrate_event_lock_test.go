package pgstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestMigrateEventLock: every organization's row keeps its event feed's
// lock key (event_lock), which the one-statement accept takes instead of
// hashing the id in SQL, so it must be exactly eventLock's: for the
// organizations an older release wrote (filled in by migration 0022,
// whatever the id's bytes) and for one created now, and the accept waits
// for the lock under that key. A row still without it (written by an
// older release after the migration) is hashed by the statement itself:
// the accept waits for the same lock.
func TestMigrateEventLock(t *testing.T) {
	schema := freshSchema(t)
	pool := newPool(t)
	ctx := t.Context()
	require.NoError(t, pgstore.MigrateTo(ctx, pool, schema, 20))
	t0 := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	old := []string{"org_a", "org_01jz7q9w3k5m8r2t4v6x8z0b1d", "ö", "日本語の組織", strings.Repeat("x", 300), "\u00ff\u0100"}
	for _, org := range old {
		_, err := pool.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "organizations"}.Sanitize()+
			` (id, name, create_time, update_time) VALUES ($1, $1, $2, $2)`, org, t0)
		require.NoError(t, err)
	}
	st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: schema})
	require.NoError(t, err)
	fresh := storetest.NewOrg(t, st, t0)

	stored := func(org string) *int64 {
		t.Helper()
		var k *int64
		require.NoError(t, pool.QueryRow(ctx, `SELECT event_lock FROM `+pgx.Identifier{schema, "organizations"}.Sanitize()+
			` WHERE id = $1`, org).Scan(&k))
		return k
	}
	for _, org := range append(old, fresh.ID) {
		goKey, _, err := st.EventLocks(ctx, org)
		require.NoError(t, err)
		if k := stored(org); assert.NotNil(t, k, "org %q", org) {
			assert.Equal(t, goKey, *k, "org %q: the kept key is eventLock's", org)
		}
	}

	// The accept waits for the feed's lock: the kept key is the one taken.
	acceptWaitsForFeedLock(t, pool, st, old[1])

	// A row without the key: the accept hashes the id itself.
	_, err = pool.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "organizations"}.Sanitize()+` SET event_lock = NULL WHERE id = $1`, fresh.ID)
	require.NoError(t, err)
	acceptWaitsForFeedLock(t, pool, st, fresh.ID)
	assert.Nil(t, stored(fresh.ID), "the accept writes no key")
}

// acceptWaitsForFeedLock invites someone into org and, while another
// transaction holds the org's event feed lock (eventLock, as Go computes
// it), accepts: the accept must wait for that lock (seen in pg_locks)
// rather than finish, and finishes once it is released.
func acceptWaitsForFeedLock(t *testing.T, pool *pgxpool.Pool, st *pgstore.Store, org string) {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	p := storetest.InviteParams(org, store.NewID("lock")+"@example.com", now)
	res, err := st.CreateMembership(ctx, p)
	require.NoError(t, err)
	key, _, err := st.EventLocks(ctx, org)
	require.NoError(t, err)
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, key)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		_, err := st.AcceptInvitationLogin(ctx, store.AcceptParams{
			InvitationID: p.Invitation.ID, Now: now, EmailVerified: true, IdentityProvider: "OIDC",
			Identity: store.Identity{Issuer: "https://idp.example.com", Subject: "sub-" + res.User.ID, Email: p.User.Email, CreateTime: now},
			Event:    store.Event{OrganizationID: org, UserID: res.User.ID, Type: store.EventMembershipAccepted, CreateTime: now},
		}, store.Event{OrganizationID: org, UserID: res.User.ID, Type: store.EventUserLoggedIn, CreateTime: now})
		done <- err
	}()
	for waiting := false; !waiting; {
		select {
		case err := <-done:
			t.Fatalf("org %q: the accept finished (%v) while the feed's lock was held", org, err)
		default:
		}
		require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND objsubid = 1 AND classid::bigint = $1 AND objid::bigint = $2)`, int64(uint64(key)>>32), int64(uint32(key))).Scan(&waiting))
	}
	require.NoError(t, tx.Rollback(ctx))
	require.NoError(t, <-done)
}
