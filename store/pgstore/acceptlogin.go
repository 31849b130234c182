package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

var (
	_ store.AcceptLoginer        = (*Store)(nil)
	_ store.GuardedAcceptLoginer = (*Store)(nil)
)

// qAcceptLogin accepts an invitation and records the login in one
// statement, so that it costs one round trip and one commit (a single
// statement outside BEGIN is its own transaction). The organization and
// the user are the invitation's (spent), so the caller need not read it
// first; @org and @user, when not empty, must match them. Every write
// depends on the one before it succeeding: the invitation is spent only
// when it is live, its verifier hash and email are the guard's (when
// @guarded), its membership pending and the identity not another user's
// (nor, when @guarded, the user linked to another subject at the issuer);
// the membership is activated only when the invitation was spent; the
// user, the other ACTIVE memberships, the events and the notification
// only when the membership was activated. The final SELECT divides by the
// number of rows written, so that any refusal (or an identity a concurrent
// transaction linked to another user meanwhile) is an error (22012), which
// rolls the whole statement back; the caller then explains it.
//
// The binding check's OFFSET 0 keeps the planner from running it as a
// hashed subplan over every identity at the issuer: it is one look-up in
// identities_user.
//
// The locks are taken in the order of the other writers: the invitation,
// the membership, the user's other memberships, the user, and the event
// feed's advisory lock last (each step reads the one before it). The
// lock's key is eventLock's for the invitation's organization: the one
// the organization's row keeps (event_lock, written with it), or, for a
// row an older release wrote, eventLockSQL's hash of the id (evaluated
// only then).
var qAcceptLogin = `WITH spent AS (
	UPDATE {s}.invitations i SET spend_time = @now
	WHERE i.id = @inv AND (@org = '' OR i.org_id = @org) AND (@user = '' OR i.user_id = @user)
	  AND i.spend_time IS NULL AND i.revoke_time IS NULL AND i.expire_time > @now
	  AND NOT EXISTS (SELECT 1 FROM {s}.identities WHERE issuer = @issuer AND subject = @subject AND user_id <> i.user_id)
	  AND (NOT @guarded OR (i.email = @gemail AND (@ghash::bytea IS NULL OR i.verifier_hash = @ghash)
	    AND NOT EXISTS (SELECT 1 FROM {s}.identities WHERE user_id = i.user_id AND issuer = @issuer AND subject <> @subject OFFSET 0)))
	RETURNING i.org_id AS sorg, i.user_id AS suser
), act AS (
	UPDATE {s}.memberships m SET status = 'ACTIVE', invite_expire_time = ` + zeroTime + `,
		primary_idp = CASE WHEN @idp <> '' THEN @idp ELSE m.primary_idp END, update_time = @now, last_login = @now,
		name = CASE WHEN m.name = '' THEN @name ELSE m.name END
	FROM spent WHERE m.org_id = spent.sorg AND m.user_id = spent.suser AND m.status = 'PENDING_INVITE'
	RETURNING ` + membershipCols + `
), ident AS (
	INSERT INTO {s}.identities (issuer, subject, user_id, email, create_time)
	SELECT @issuer, @subject, suser, @email, @idtime FROM spent, act
	ON CONFLICT (issuer, subject) DO NOTHING RETURNING 1
), own AS (
	SELECT 1 FROM {s}.identities, spent WHERE issuer = @issuer AND subject = @subject AND user_id = suser
), others AS (
	UPDATE {s}.memberships m SET last_login = @now
	FROM spent WHERE m.user_id = spent.suser AND m.status = 'ACTIVE' AND m.org_id <> spent.sorg AND EXISTS (SELECT 1 FROM act)
	RETURNING 1
), usr AS (
	UPDATE {s}.users u SET last_login = @now,
		update_time = CASE WHEN @verified AND NOT u.email_verified THEN @now ELSE u.update_time END,
		email_verified = u.email_verified OR @verified
	FROM spent WHERE u.id = spent.suser AND EXISTS (SELECT 1 FROM act) AND (SELECT count(*) FROM others) >= 0
	RETURNING 1
), key AS (
	SELECT coalesce((SELECT o.event_lock FROM {s}.organizations o, spent WHERE o.id = spent.sorg),
		(` + eventLockSQL(`SELECT sorg FROM spent`) + `)) AS k
), l AS MATERIALIZED (
	SELECT pg_advisory_xact_lock(key.k) FROM usr, key
), n AS MATERIALIZED (
	SELECT pg_notify(@channel, json_build_array(sorg, suser)::text) FROM l, spent
), ev AS (
	INSERT INTO {s}.events (id, org_id, type, user_id, actor_id, data, create_time)
	SELECT v.id, spent.sorg, v.type, spent.suser, CASE WHEN @guarded AND v.actor = '' THEN spent.suser ELSE v.actor END, v.data, v.time
	FROM n, spent, (VALUES
		(@ev1id::text, @ev1type::text, @ev1actor::text, CASE WHEN @newdata::jsonb IS NOT NULL AND EXISTS (SELECT 1 FROM ident)
			THEN coalesce(@ev1data::jsonb, '{}') || @newdata::jsonb ELSE @ev1data::jsonb END, @ev1time::timestamptz),
		(@ev2id::text, @ev2type::text, @ev2actor::text, @ev2data::jsonb, @ev2time::timestamptz)) v (id, type, actor, data, time)
	RETURNING 1
)
SELECT act.*, 1 / ((SELECT count(*) FROM ev) * ((SELECT count(*) FROM ident) + (SELECT count(*) FROM own))) AS ok
FROM (SELECT 1) one LEFT JOIN act ON true`

// eventLockSQL is a query of one row, k: eventLock of the organization id
// that the query src returns (one text column), computed in SQL so that a
// statement that finds the organization can take the feed's lock. lockKey
// is FNV-1a over the parts, each followed by a zero byte; @lockseed is the
// hash's state after the parts before the organization id
// (eventLockSeed), so SQL folds in the id's bytes and the final zero byte,
// in numeric arithmetic modulo 2^64, and reads the result as a signed
// 64-bit integer.
func eventLockSQL(src string) string {
	return `WITH RECURSIVE b (b) AS (SELECT convert_to(o, 'UTF8') FROM (` + src + `) src (o)),
	f (i, h) AS (
		SELECT 0, @lockseed::text::numeric
		UNION ALL
		SELECT f.i + 1, mod((f.h - mod(f.h, 256) + (mod(f.h, 256)::int # get_byte(b.b, f.i))) * 1099511628211, 18446744073709551616)
		FROM f, b WHERE f.i < length(b.b)
	)
	SELECT (CASE WHEN x >= 9223372036854775808 THEN x - 18446744073709551616 ELSE x END)::int8 AS k
	FROM (SELECT mod(h * 1099511628211, 18446744073709551616) AS x FROM f ORDER BY i DESC LIMIT 1) last`
}

// eventLockSeed is eventLockSQL's @lockseed: the state of eventLock's
// FNV-1a hash before the organization id.
func (s *Store) eventLockSeed() string {
	h := fnv.New64a()
	for _, p := range []string{"invitekit.events", s.schema} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 10)
}

// codeDivisionByZero is qAcceptLogin's refusal.
const codeDivisionByZero = "22012"

// errRefused is acceptLogin's refusal (qAcceptLogin wrote nothing).
var errRefused = errors.New("pgstore: accept refused")

// AcceptInvitationLogin implements store.AcceptLoginer in one round trip
// (qAcceptLogin). A refusal is explained by reading the rows afterwards,
// with AcceptInvitation's checks in its order; when that finds nothing
// wrong (the rows changed in between), the accept is tried again.
func (s *Store) AcceptInvitationLogin(ctx context.Context, p store.AcceptParams, login store.Event) (store.Membership, error) {
	for attempt := 1; ; attempt++ {
		m, err := s.acceptLogin(ctx, p, nil, login)
		if !errors.Is(err, errRefused) {
			return m, err
		}
		why := s.acceptRefusal(ctx, p)
		if why != nil || attempt == maxAttempts {
			if why == nil {
				why = fmt.Errorf("pgstore: accept: invitation %q changed concurrently", p.InvitationID)
			}
			return store.Membership{}, why
		}
	}
}

// AcceptInvitationGuarded implements store.GuardedAcceptLoginer in one
// round trip (qAcceptLogin with the guard); a refusal is not explained.
func (s *Store) AcceptInvitationGuarded(ctx context.Context, p store.AcceptParams, g store.AcceptGuard, login store.Event) (store.Membership, error) {
	m, err := s.acceptLogin(ctx, p, &g, login)
	if errors.Is(err, errRefused) {
		return store.Membership{}, fmt.Errorf("pgstore: accept: %w", store.ErrAcceptRefused)
	}
	return m, err
}

// acceptLogin runs qAcceptLogin (with g, when not nil), again after a
// deadlock or serialization failure; its refusal is errRefused.
func (s *Store) acceptLogin(ctx context.Context, p store.AcceptParams, g *store.AcceptGuard, login store.Event) (store.Membership, error) {
	accepted := p.Event
	for _, ev := range []*store.Event{&accepted, &login} {
		if ev.ID == "" {
			ev.ID = store.NewID("evt")
		}
	}
	args := pgx.NamedArgs{
		"inv": p.InvitationID, "org": p.Event.OrganizationID, "user": p.Identity.UserID, "now": p.Now,
		"issuer": p.Identity.Issuer, "subject": p.Identity.Subject, "email": p.Identity.Email, "idtime": p.Identity.CreateTime,
		"idp": p.IdentityProvider, "name": p.ProfileName, "verified": p.EmailVerified,
		"guarded": g != nil, "gemail": "", "ghash": nil, "newdata": nil,
		"lockseed": s.eventLockSeed(), "channel": s.Channel(),
		"ev1id": accepted.ID, "ev1type": accepted.Type, "ev1actor": accepted.ActorID, "ev1data": jsonMap(accepted.Data), "ev1time": accepted.CreateTime,
		"ev2id": login.ID, "ev2type": login.Type, "ev2actor": login.ActorID, "ev2data": jsonMap(login.Data), "ev2time": login.CreateTime,
	}
	if g != nil {
		if g.OrganizationID != "" && p.Event.OrganizationID != "" && g.OrganizationID != p.Event.OrganizationID {
			return store.Membership{}, errRefused
		}
		if g.OrganizationID != "" {
			args["org"] = g.OrganizationID
		}
		args["gemail"], args["newdata"] = g.Email, jsonMap(g.NewIdentityData)
		if g.VerifierHash != nil {
			args["ghash"] = g.VerifierHash
		}
	}
	for attempt := 1; ; attempt++ {
		var (
			d  membershipDest
			ok int64
		)
		err := s.pool.QueryRow(ctx, s.sql(qAcceptLogin), args).Scan(append(d.targets(), &ok)...)
		switch pe := pgErr(err); {
		case err == nil:
			return d.membership()
		case pe != nil && pe.Code == codeDivisionByZero:
			return store.Membership{}, errRefused
		case retryable(err) && attempt < maxAttempts && ctx.Err() == nil:
			continue
		}
		return store.Membership{}, fmt.Errorf("pgstore: accept: %w", err)
	}
}

// acceptRefusal explains why qAcceptLogin wrote nothing, with
// AcceptInvitation's checks in its order, or returns nil when nothing is
// wrong any more.
func (s *Store) acceptRefusal(ctx context.Context, p store.AcceptParams) error {
	orgID, userID := p.Event.OrganizationID, p.Identity.UserID
	var why error
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var invOrg, invUser string
		err := tx.QueryRow(ctx, s.sql(`SELECT org_id, user_id FROM {s}.invitations
			WHERE id = $1 AND spend_time IS NULL AND revoke_time IS NULL AND expire_time > $2`), p.InvitationID, p.Now).Scan(&invOrg, &invUser)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			why = s.invitationError(ctx, tx, "accept", p.InvitationID, &p.Now)
			return nil
		case err != nil:
			return err
		case orgID != "" && invOrg != orgID || userID != "" && invUser != userID: // the caller names another membership
			why = fmt.Errorf("pgstore: accept: invitation %q: %w", p.InvitationID, store.ErrNotFound)
			return nil
		}
		orgID, userID = invOrg, invUser
		var status string
		err = tx.QueryRow(ctx, s.sql(`SELECT status FROM {s}.memberships WHERE org_id = $1 AND user_id = $2`), orgID, userID).Scan(&status)
		switch {
		case err != nil:
			why = notFound(err, "accept: membership")
			return nil
		case status != string(store.StatusPendingInvite):
			why = fmt.Errorf("pgstore: accept: membership is %s, not %s: %w", status, store.StatusPendingInvite, store.ErrWrongStatus)
			return nil
		}
		var owner string
		err = tx.QueryRow(ctx, s.sql(qIdentityOwner), p.Identity.Issuer, p.Identity.Subject).Scan(&owner)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case owner != userID:
			why = fmt.Errorf("pgstore: accept: identity: %w", store.ErrIdentityTaken)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: accept: %w", err)
	}
	return why
}
