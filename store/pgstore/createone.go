package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// One round trip per invite.
//
// createMembershipOneTrip writes a CreateMembership (or a guarded one
// without a hold) as one pipelined batch sent outside any explicit
// transaction: PostgreSQL runs the statements of one pipeline up to its
// Sync as one implicit transaction, so the batch commits or rolls back as a
// whole, in one round trip. The batch is:
//
//  1. (guarded only) the organization's row, then the inviter's membership,
//     locked FOR SHARE, exactly as checkGuard locks them;
//  2. one statement of data-modifying CTEs (its READ COMMITTED snapshot is
//     taken after statement 1's locks were granted, so it reads the rules'
//     revision and the inviter's roles as checkGuard does): the
//     organization check and the guard, the user inserted unless one has
//     the email (ON CONFLICT DO NOTHING, else the existing one from the
//     snapshot), the membership, then the invitation and the outbox
//     message (both take their organization and user from the
//     membership's RETURNING), then the organization's event lock, the
//     event and the change notification (all fed by the rows above, so the
//     event lock is still the last lock taken, and events still commit in
//     Seq order). It returns the membership's seq and the user row (the
//     inserted one, or the existing one the membership took its id from),
//     or no row when the membership was not written.
//
// Whatever the fast path cannot decide alone writes nothing and is
// reported as oneTripFallback: an unknown organization, a stale guard,
// a user the snapshot misses (the same email committed concurrently), or a
// membership that exists already. A refused membership leaves the
// chained inserts a NULL organization or user id, which fails the whole
// statement (NOT NULL), so nothing of it is written; without chained
// inserts the membership's RETURNING is simply empty. The caller then runs
// the transaction path, which finds and reports the precise outcome
// (ErrNotFound, ErrDecisionStale, ErrAlreadyMember, or success).

// errOneTripFallback says the one-trip path wrote nothing and the
// transaction path must decide.
var errOneTripFallback = errors.New("pgstore: one-trip create: fall back to a transaction")

// sqlArgs numbers a statement's parameters as they are added.
type sqlArgs []any

// p adds v and returns its placeholder, cast to typ unless typ is "".
func (a *sqlArgs) p(v any, typ string) string {
	*a = append(*a, v)
	ph := "$" + strconv.Itoa(len(*a))
	if typ != "" {
		ph += "::" + typ
	}
	return ph
}

// values adds vs (untyped) and returns their placeholders, except where
// sub names another expression: that one is used, and its value dropped.
func (a *sqlArgs) values(vs []any, sub map[int]string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if e, ok := sub[i]; ok {
			out[i] = e
		} else {
			out[i] = a.p(v, "")
		}
	}
	return strings.Join(out, ", ")
}

// oneTripShape is what the text of createMembershipOneTrip's statement
// depends on (its values are all parameters), so that the text is built
// once per shape and kept (Store.oneTrip).
type oneTripShape struct {
	guarded, inviter, anyRoles, invitation, outbox bool
}

// oneTripArgs collects the statement's parameters; dry (the statement's
// text is kept) skips the placeholders' text.
type oneTripArgs struct {
	sqlArgs
	dry bool
}

func (a *oneTripArgs) p(v any, typ string) string {
	if a.dry {
		a.sqlArgs = append(a.sqlArgs, v)
		return ""
	}
	return a.sqlArgs.p(v, typ)
}

func (a *oneTripArgs) values(vs []any, sub map[int]string) string {
	if !a.dry {
		return a.sqlArgs.values(vs, sub)
	}
	for i, v := range vs {
		if _, ok := sub[i]; !ok {
			a.sqlArgs = append(a.sqlArgs, v)
		}
	}
	return ""
}

// oneTripText is the statement's text, written unless dry.
type oneTripText struct {
	strings.Builder
	dry bool
}

func (t *oneTripText) WriteString(s string) {
	if !t.dry {
		t.Builder.WriteString(s)
	}
}

// The column lists of createMembershipOneTrip's inserts.
var (
	userInsertList       = strings.Join(userInsertCols, ", ")
	membershipInsertList = strings.Join(membershipInsertCols, ", ")
	invitationInsertList = strings.Join(invitationInsertCols, ", ")
	outboxInsertList     = strings.Join(outboxInsertCols, ", ")
)

// userInsertTypes are the types of userInsertCols, for an INSERT … SELECT.
var userInsertTypes = []string{"text", "text", "text", "text", "text", "text", "text", "text", "boolean",
	"text", "jsonb", "jsonb", "jsonb", "timestamptz", "timestamptz", "timestamptz"}

// qGuardLocks locks what checkGuard locks, in its order: the organization's
// row, then the inviter's membership ($2, "" for none).
const qGuardLocks = `WITH o AS (SELECT 1 FROM {s}.organizations WHERE id = $1 FOR SHARE),
im AS (SELECT 1 FROM {s}.memberships WHERE org_id = $1 AND user_id = $2 AND $2 <> '' FOR SHARE)
SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM im)`

// createMembershipOneTrip is described above. g is nil for an unguarded
// create. It returns errOneTripFallback when the transaction path must
// decide (nothing was written).
func (s *Store) createMembershipOneTrip(ctx context.Context, p store.CreateMembershipParams, g *store.DecisionGuard) (store.CreateMembershipResult, error) {
	if p.Invitation != nil && p.Invitation.ID == "" {
		return store.CreateMembershipResult{}, errOneTripFallback // the transaction path refuses it
	}
	orgID := p.Membership.OrganizationID
	u := p.User
	if u.ID == "" {
		u.ID = store.NewID("usr")
	}
	shape := oneTripShape{guarded: g != nil, invitation: p.Invitation != nil, outbox: p.Outbox != nil}
	if g != nil {
		shape.inviter, shape.anyRoles = g.InviterID != "", g.InviterRoles == nil
	}
	kept, dry := s.oneTrip.Load(shape)
	a := oneTripArgs{dry: dry}
	q := oneTripText{dry: dry}
	org := a.p(orgID, "text")
	q.WriteString(`WITH org AS (SELECT EXISTS (SELECT 1 FROM {s}.organizations WHERE id = ` + org + `) AS ok)`)
	cond := "org.ok"
	from := "org"
	if g != nil {
		q.WriteString(",\ng AS (SELECT coalesce((SELECT revision FROM {s}.approval_rules WHERE org_id = " + org + "), 0) = " +
			a.p(g.RulesRevision, "bigint"))
		if g.InviterID != "" {
			inviter := a.p(g.InviterID, "text")
			active := `(SELECT status = 'ACTIVE' FROM {s}.memberships WHERE org_id = ` + org + ` AND user_id = ` + inviter + `)`
			if g.InviterRoles == nil {
				q.WriteString(" AND NOT coalesce(" + active + ", false)")
			} else {
				roles := slices.Compact(slices.Sorted(slices.Values(g.InviterRoles)))
				if roles == nil {
					roles = []string{}
				}
				q.WriteString(` AND coalesce((SELECT status = 'ACTIVE' AND ARRAY(SELECT DISTINCT r COLLATE "C" FROM jsonb_array_elements_text(roles) AS t(r) ORDER BY 1) = ` +
					a.p(roles, "text[]") + ` FROM {s}.memberships WHERE org_id = ` + org + ` AND user_id = ` + inviter + `), false)`)
			}
		}
		q.WriteString(" AS ok)")
		cond += " AND g.ok"
		from += ", g"
	}
	uv := userArgs(u)
	ucols := make([]string, len(uv))
	for i, v := range uv {
		ucols[i] = a.p(v, userInsertTypes[i])
	}
	email := ucols[1]
	q.WriteString(",\nins AS (INSERT INTO {s}.users (" + userInsertList + ")\n\tSELECT " + strings.Join(ucols, ", ") +
		"\n\tFROM " + from + " WHERE " + cond + "\n\tON CONFLICT (email) DO NOTHING RETURNING " + userCols + ")")
	// The membership: organization and user NULL unless the fast path
	// may write it (NOT NULL then fails the statement).
	m := p.Membership
	mv := a.values(membershipArgs(m), map[int]string{
		0: "(SELECT " + org + " FROM " + from + " WHERE " + cond + ")",
		1: "coalesce((SELECT id FROM ins), (SELECT id FROM {s}.users WHERE email = " + email + "))",
	})
	q.WriteString(",\nm AS (INSERT INTO {s}.memberships (" + membershipInsertList + ")\n\tVALUES (" + mv +
		")\n\tON CONFLICT (org_id, user_id) DO NOTHING RETURNING seq, org_id, user_id)")
	lockFrom := "m"
	if p.Invitation != nil {
		iv := a.values(invitationArgs(*p.Invitation), map[int]string{1: "(SELECT org_id FROM m)", 2: "(SELECT user_id FROM m)"})
		q.WriteString(",\ni AS (INSERT INTO {s}.invitations (" + invitationInsertList + ")\n\tVALUES (" +
			iv + ") RETURNING 1)")
		lockFrom += ", i"
	}
	if p.Outbox != nil {
		ov := a.values(outboxArgs(fillOutbox(*p.Outbox, orgID)), map[int]string{1: "(SELECT org_id FROM m)"})
		q.WriteString(",\no AS (INSERT INTO {s}.outbox (" + outboxInsertList + ")\n\tVALUES (" +
			ov + ") RETURNING 1)")
		lockFrom += ", o"
	}
	// The event and the notification last, fed by every insert above:
	// qInsertEventNotify with the user from the membership.
	ev := store.FillEvent(p.Event, orgID, "")
	if ev.ID == "" {
		ev.ID = store.NewID("evt")
	}
	q.WriteString(",\nl AS MATERIALIZED (SELECT pg_advisory_xact_lock(" + a.p(s.eventLock(ev.OrganizationID), "bigint") + ") FROM " + lockFrom + ")")
	q.WriteString(",\nn AS MATERIALIZED (SELECT pg_notify(" + a.p(s.Channel(), "text") + `, CASE WHEN length(c) > ` + strconv.Itoa(maxPayload) +
		` THEN '[]' ELSE c END) FROM (SELECT '[' || to_json(org_id)::text || ',' || to_json(user_id)::text || ']' AS c FROM m) AS p)`)
	q.WriteString(",\ne AS (INSERT INTO {s}.events (id, org_id, type, user_id, actor_id, data, create_time)\n\tSELECT " +
		a.p(ev.ID, "text") + ", " + a.p(ev.OrganizationID, "text") + ", " + a.p(ev.Type, "text") + ", m.user_id, " +
		a.p(ev.ActorID, "text") + ", " + a.p(jsonMap(ev.Data), "jsonb") + ", " + a.p(ev.CreateTime, "timestamptz") + " FROM l, n, m)")
	// The membership's seq and the user: the one inserted, else the one
	// with the email in the statement's snapshot (which the membership
	// took its id from); no row when the membership was not written.
	q.WriteString("\nSELECT m.seq, x.* FROM m LEFT JOIN (SELECT true AS created, " + userCols + " FROM ins\n\tUNION ALL SELECT false, " +
		userCols + " FROM {s}.users WHERE email = " + email + " AND NOT EXISTS (SELECT 1 FROM ins)) x ON true")

	b := &pgx.Batch{}
	if g != nil {
		b.Queue(s.sql(qGuardLocks), orgID, g.InviterID)
	}
	sql, _ := kept.(string)
	if !dry {
		sql = s.sql(q.String())
		s.oneTrip.Store(shape, sql)
	}
	b.Queue(sql, a.sqlArgs...)
	br := s.pool.SendBatch(ctx, b)
	var (
		seq     int64
		created bool
		d       userDest
		stored  store.User
		err     error
	)
	if g != nil {
		_, err = br.Exec()
	}
	if err == nil {
		err = br.QueryRow().Scan(append([]any{&seq, &created}, d.targets()...)...)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = errOneTripFallback
	case err == nil:
		stored, err = d.user()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if pe := pgErr(err); errors.Is(err, errOneTripFallback) || retryable(err) ||
		(pe != nil && pe.Code == codeNotNullViolation && (pe.ColumnName == "org_id" || pe.ColumnName == "user_id")) {
		return store.CreateMembershipResult{}, errOneTripFallback
	}
	if err != nil {
		return store.CreateMembershipResult{}, createMembershipErr(err, p, u, m.ExternalID, orgID)
	}
	m.OrganizationID, m.UserID, m.Seq = orgID, stored.ID, seq
	return store.CreateMembershipResult{User: stored, Membership: storedMembership(m), UserCreated: created}, nil
}

// createMembershipErr maps a create's failed write.
func createMembershipErr(err error, p store.CreateMembershipParams, u store.User, memberExternalID, orgID string) error {
	switch {
	case isConstraint(err, codeUniqueViolation, "users_external_id_key"):
		return fmt.Errorf("pgstore: create membership: external id %q: %w", u.ExternalID, store.ErrExternalIDTaken)
	case isConstraint(err, codeUniqueViolation, "users_pkey"):
		return fmt.Errorf("pgstore: create membership: user id %q is taken", u.ID)
	case isConstraint(err, codeUniqueViolation, memberExternalIDKey):
		return fmt.Errorf("pgstore: create membership: external id %q in organization %q: %w",
			memberExternalID, orgID, store.ErrExternalIDTaken)
	case isConstraint(err, codeUniqueViolation, "invitations_pkey"):
		return fmt.Errorf("pgstore: create membership: invitation id %q is taken", p.Invitation.ID)
	case isConstraint(err, codeUniqueViolation, "outbox_pkey"):
		return fmt.Errorf("pgstore: create membership: outbox id %q is taken", p.Outbox.ID)
	}
	return fmt.Errorf("pgstore: create membership: %w", err)
}

// reissueOneTrip is ReissueInvitation as one statement (autocommit, one
// round trip), in the transaction path's lock order: the invitation
// locked (unspent, unrevoked, in the event's organization), then the
// pending membership updated, then the invitation, the outbox message,
// the event lock, event and notification, each only when the membership
// was updated. It returns false when it wrote nothing (the transaction
// path then decides and explains). With the invitation it returns the
// membership as the update left it.
func (s *Store) reissueOneTrip(ctx context.Context, p store.ReissueParams) (store.Invitation, store.Membership, bool, error) {
	ev := p.Event
	if ev.OrganizationID == "" {
		return store.Invitation{}, store.Membership{}, false, nil // the lock key needs the organization
	}
	if ev.ID == "" {
		ev.ID = store.NewID("evt")
	}
	var a sqlArgs
	var q strings.Builder
	id, expire, org := a.p(p.InvitationID, "text"), a.p(p.NewExpireTime, "timestamptz"), a.p(ev.OrganizationID, "text")
	q.WriteString(`WITH li AS MATERIALIZED (SELECT org_id, user_id FROM {s}.invitations
		WHERE id = ` + id + ` AND org_id = ` + org + ` AND spend_time IS NULL AND revoke_time IS NULL FOR UPDATE),
m AS (UPDATE {s}.memberships ms SET invite_expire_time = ` + expire + `, update_time = ` + a.p(p.Now, "timestamptz") + ` FROM li
	WHERE ms.org_id = li.org_id AND ms.user_id = li.user_id AND ms.status = 'PENDING_INVITE' RETURNING ` + qualified("ms", membershipCols) + `),
inv AS (UPDATE {s}.invitations SET verifier_hash = ` + a.p(p.NewVerifierHash, "bytea") + `, expire_time = ` + expire + `
	WHERE id = ` + id + ` AND EXISTS (SELECT 1 FROM m) RETURNING ` + invitationCols + `)`)
	lockFrom := "inv"
	if p.Outbox != nil {
		// A NULL organization (no membership updated) fails the statement.
		ov := a.values(outboxArgs(fillOutbox(*p.Outbox, ev.OrganizationID)), map[int]string{1: "(SELECT org_id FROM m)"})
		q.WriteString(",\no AS (INSERT INTO {s}.outbox (" + strings.Join(outboxInsertCols, ", ") + ")\n\tVALUES (" + ov + ") RETURNING 1)")
		lockFrom += ", o"
	}
	q.WriteString(",\nl AS MATERIALIZED (SELECT pg_advisory_xact_lock(" + a.p(s.eventLock(ev.OrganizationID), "bigint") + ") FROM " + lockFrom + ")")
	q.WriteString(",\nn AS MATERIALIZED (SELECT pg_notify(" + a.p(s.Channel(), "text") + `, CASE WHEN length(c) > ` + strconv.Itoa(maxPayload) +
		` THEN '[]' ELSE c END) FROM (SELECT '[' || to_json(org_id)::text || ',' || to_json(user_id)::text || ']' AS c FROM m) AS p)`)
	q.WriteString(",\ne AS (INSERT INTO {s}.events (id, org_id, type, user_id, actor_id, data, create_time)\n\tSELECT " +
		a.p(ev.ID, "text") + ", " + org + ", " + a.p(ev.Type, "text") + ", coalesce(nullif(" + a.p(ev.UserID, "text") + ", ''), m.user_id), " +
		a.p(ev.ActorID, "text") + ", " + a.p(jsonMap(ev.Data), "jsonb") + ", " + a.p(ev.CreateTime, "timestamptz") + " FROM l, n, m)")
	q.WriteString("\nSELECT " + qualified("inv", invitationCols) + ", " + qualified("m", membershipCols) + " FROM inv, m")
	var (
		idst invitationDest
		md   membershipDest
	)
	err := s.pool.QueryRow(ctx, s.sql(q.String()), a...).Scan(append(idst.targets(), md.targets()...)...)
	pe := pgErr(err)
	switch {
	case errors.Is(err, pgx.ErrNoRows), retryable(err), pe != nil && pe.Code == codeNotNullViolation && pe.ColumnName == "org_id":
		return store.Invitation{}, store.Membership{}, false, nil
	case isConstraint(err, codeUniqueViolation, "outbox_pkey"):
		return store.Invitation{}, store.Membership{}, false, fmt.Errorf("pgstore: reissue: outbox id %q is taken", p.Outbox.ID)
	case err != nil:
		return store.Invitation{}, store.Membership{}, false, fmt.Errorf("pgstore: reissue: %w", err)
	}
	m, err := md.membership()
	if err != nil {
		return store.Invitation{}, store.Membership{}, false, err
	}
	return idst.invitation(), m, true, nil
}
