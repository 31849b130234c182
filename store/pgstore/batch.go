package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/invitekit/invitekit/store"
)

// maxBatchRounds bounds how often one batch transaction re-decides its
// items after losing races for new users' emails to concurrent writers.
const maxBatchRounds = 20

// errBatchContention is returned when a batch lost maxBatchRounds races in
// a row; nothing of the batch was written.
var errBatchContention = errors.New("pgstore: create memberships: too much concurrent contention on the same emails; retry the batch")

// CreateMemberships implements store.BatchCreator. The whole batch is one
// transaction of about ten round trips whatever its size:
//
//  1. read (pipelined) what the items depend on: which organizations exist,
//     the users with the items' emails, which user ids and external ids are
//     taken, which membership external ids are taken in the items'
//     organizations, then which of the found users already have a
//     membership in the item's organization;
//  2. decide every item in order, exactly as CreateMembership would one
//     after the other (a later item reuses a user an earlier item created;
//     a repeated (org, email) is ErrAlreadyMember; per-item refusals are
//     reported in the item's result and write nothing);
//  3. COPY the new users, then the memberships (while another goroutine
//     encodes step 4's rows);
//  4. COPY the items' invitations and outbox messages, take the
//     organizations' event locks once, in a fixed order, COPY their events.
//
// The fast path's step 1 also takes the savepoint and allocates the
// membership Seqs, and skips the lookup of the new users' (fresh, random)
// ids. COPY data is written in PostgreSQL's binary format by copyBuf
// (copyenc.go), not through pgx.CopyFrom.
//
// If a concurrent writer committed one of the batch's emails, (org, user)
// pairs or (org, membership external id) pairs since step 1, COPY fails
// with a unique violation. The batch then rolls back to a savepoint taken
// in step 1 and goes the careful way: new users are inserted with INSERT …
// SELECT FROM unnest(…) ON CONFLICT DO NOTHING, which waits for the
// concurrent writer and skips its rows;
// users inserted so far are kept and steps 1–3 repeat with fresh reads
// (which now see the winner, whose user the item then reuses) until no row
// is skipped (at most 20 rounds); a membership skipped the same way makes
// its item ErrAlreadyMember. A skipped membership with an external id may
// instead have lost its (org, external id) to the concurrent writer, and
// its item may have created a user that must then not be written: the
// careful path then rolls back to a savepoint of its own and runs again
// (its reads now see the winner's external id).
//
// Keys are written in sorted order (emails, then (org, user)), so
// overlapping batches cannot deadlock on each other. (Membership external
// ids are a second key of the same rows, which no one order can sort with
// the first: two concurrent batches giving the same external ids to
// different people can deadlock on them, and the transaction is then run
// again, see inTx.)
func (s *Store) CreateMemberships(ctx context.Context, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	if len(ps) == 0 {
		return []store.BatchResult{}, nil
	}
	// Fix generated user ids once, so every round decides the same users.
	ps = slices.Clone(ps)
	for i := range ps {
		if ps[i].User.ID == "" {
			ps[i].User.ID = store.NewID("usr")
		}
	}
	var out []store.BatchResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = s.createBatch(ctx, tx, ps)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// unavailable marks err with store.ErrUnavailable when the server could
// not be reached or ended the connection (SQLSTATE class 08, 57P01–57P03,
// or an error pgconn says happened before anything was sent).
func unavailable(err error) error {
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"):
	case pgconn.SafeToRetry(err) || pgconn.Timeout(err):
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
	default:
		var ne net.Error
		if !errors.As(err, &ne) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

type memberKey struct{ org, user string }

// memberExtKey is a membership external id in its organization.
type memberExtKey struct{ org, ext string }

// batchState is what step 1 read.
type batchState struct {
	orgs       map[string]bool
	users      map[string]store.User // by email
	userIDs    map[string]bool       // ids of the items' new users that are taken
	members    map[memberKey]bool
	externalID map[string]bool       // taken (user) external ids
	memberExt  map[memberExtKey]bool // taken membership external ids
	// seqs, on the fast path, are len(ps) membership Seqs allocated with
	// the reads (in ascending order); the items that write use the first
	// ones. Unused ones are gaps, as rolled-back inserts leave.
	seqs []int64
}

// readBatchState does step 1. ours are the users this transaction inserted
// in earlier rounds: they are left out of the state (as if not yet
// written), so the items that create them decide the same way again.
//
// With fast set (the fast path's single round) it first takes the
// savepoint the fast path rolls back to and allocates the membership Seqs,
// in the same round trip, and does not look up the new users' ids: the
// ids are fresh random ones, and the rare taken one makes the users COPY
// fail with users_pkey, which sends the batch down the careful path
// (whose reads do look them up).
func (s *Store) readBatchState(ctx context.Context, tx pgx.Tx, ps []store.CreateMembershipParams, ours map[string]store.User, fast bool) (*batchState, error) {
	st := &batchState{
		orgs: map[string]bool{}, users: make(map[string]store.User, len(ps)), userIDs: make(map[string]bool, len(ps)),
		members: make(map[memberKey]bool, len(ps)), externalID: map[string]bool{}, memberExt: map[memberExtKey]bool{},
	}
	var orgIDs, extIDs, mextOrgs, mextIDs []string
	seenMext := map[memberExtKey]bool{}
	emails := make([]string, 0, len(ps))
	userIDs := make([]string, 0, len(ps))
	seenOrg, seenEmail, seenExt, seenID := map[string]bool{}, make(map[string]bool, len(ps)), map[string]bool{}, make(map[string]bool, len(ps))
	add := func(list *[]string, seen map[string]bool, v string) {
		if !seen[v] {
			seen[v] = true
			*list = append(*list, v)
		}
	}
	for _, p := range ps {
		add(&orgIDs, seenOrg, p.Membership.OrganizationID)
		add(&emails, seenEmail, p.User.Email)
		if p.User.ExternalID != "" {
			add(&extIDs, seenExt, p.User.ExternalID)
		}
		if p.User.ID != "" && !fast {
			add(&userIDs, seenID, p.User.ID)
		}
		if ext := p.Membership.ExternalID; ext != "" {
			if k := (memberExtKey{p.Membership.OrganizationID, ext}); !seenMext[k] {
				seenMext[k] = true
				mextOrgs, mextIDs = append(mextOrgs, k.org), append(mextIDs, k.ext)
			}
		}
	}

	b := &pgx.Batch{}
	if fast {
		b.Queue(`SAVEPOINT invitekit_batch`)
		b.Queue(s.sql(qAllocSeqs), len(ps))
	}
	b.Queue(s.sql(`SELECT id FROM {s}.organizations WHERE id = ANY($1::text[])`), orgIDs)
	b.Queue(s.sql(`SELECT `+userCols+` FROM {s}.users WHERE email = ANY($1::text[])`), emails)
	b.Queue(s.sql(qExternalIDsTaken), extIDs)
	if !fast {
		b.Queue(s.sql(`SELECT id FROM {s}.users WHERE id = ANY($1::text[])`), userIDs)
	}
	if len(mextIDs) > 0 {
		b.Queue(s.sql(qMemberExternalIDsTaken), mextOrgs, mextIDs)
	}
	br := tx.SendBatch(ctx, b)
	var err error
	if fast {
		if _, err = br.Exec(); err == nil {
			err = br.QueryRow().Scan(&st.seqs)
			slices.Sort(st.seqs)
		}
	}
	if err == nil {
		err = readStrings(br, func(id string) { st.orgs[id] = true })
	}
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			for rows.Next() {
				var u store.User
				if u, err = scanUser(rows); err != nil {
					break
				}
				if _, mine := ours[u.ID]; !mine {
					st.users[u.Email] = u
				}
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	}
	if err == nil {
		err = readStrings(br, func(id string) { st.externalID[id] = true })
	}
	if err == nil && !fast {
		err = readStrings(br, func(id string) { st.userIDs[id] = true })
	}
	if err == nil && len(mextIDs) > 0 {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			for rows.Next() {
				var k memberExtKey
				if err = rows.Scan(&k.org, &k.ext); err != nil {
					break
				}
				st.memberExt[k] = true
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: create memberships: read: %w", err)
	}
	for id, u := range ours {
		delete(st.userIDs, id)
		if u.ExternalID != "" {
			delete(st.externalID, u.ExternalID)
		}
	}

	// Memberships of the found users in the items' organizations.
	var mOrgs, mUsers []string
	for _, p := range ps {
		if u, ok := st.users[p.User.Email]; ok {
			mOrgs = append(mOrgs, p.Membership.OrganizationID)
			mUsers = append(mUsers, u.ID)
		}
	}
	if len(mOrgs) == 0 {
		return st, nil
	}
	rows, err := tx.Query(ctx, s.sql(`SELECT m.org_id, m.user_id FROM {s}.memberships m
		JOIN unnest($1::text[], $2::text[]) AS k(org_id, user_id) ON m.org_id = k.org_id AND m.user_id = k.user_id`), mOrgs, mUsers)
	if err != nil {
		return nil, fmt.Errorf("pgstore: create memberships: read memberships: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k memberKey
		if err := rows.Scan(&k.org, &k.user); err != nil {
			return nil, fmt.Errorf("pgstore: create memberships: read memberships: %w", err)
		}
		st.members[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: create memberships: read memberships: %w", err)
	}
	return st, nil
}

// qMemberExternalIDsTaken returns the pairs of ($1[i], $2[i]) that are a
// membership's (org_id, external_id). Like qExternalIDsTaken it repeats the
// partial index's predicate, so a generic plan can use
// memberships_org_external_id_key.
const qMemberExternalIDsTaken = `SELECT m.org_id, m.external_id FROM {s}.memberships m
	JOIN unnest($1::text[], $2::text[]) AS k(org_id, external_id) ON m.org_id = k.org_id AND m.external_id = k.external_id
	WHERE m.external_id <> ''`

// readStrings reads the next batch result's single text column.
func readStrings(br pgx.BatchResults, fn func(string)) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	return collectStrings(rows, fn)
}

// batchWrites is what step 2 decided to write.
type batchWrites struct {
	users []store.User // new users, in item order
	plans []itemPlan   // the items that write, in item order
}

// itemPlan is what one item writes besides its user.
type itemPlan struct {
	item int
	m    store.Membership // Seq filled in before the insert
	inv  *store.Invitation
	msg  *store.OutboxMessage
	ev   store.Event
}

// decideBatch does step 2: each item in order, against st (which it
// updates with what earlier items write).
func decideBatch(ps []store.CreateMembershipParams, st *batchState) ([]store.BatchResult, batchWrites) {
	out := make([]store.BatchResult, len(ps))
	// Most items write: one allocation for the plans (each holds a
	// Membership, which the organization's view of the member made large).
	w := batchWrites{plans: make([]itemPlan, 0, len(ps))}
	invIDs, msgIDs := map[string]bool{}, map[string]bool{}
	for i, p := range ps {
		fail := func(err error) {
			out[i] = store.BatchResult{Err: fmt.Errorf("pgstore: create memberships: item %d: %w", i, err)}
		}
		orgID := p.Membership.OrganizationID
		if !st.orgs[orgID] {
			fail(fmt.Errorf("organization %q: %w", orgID, store.ErrNotFound))
			continue
		}
		if p.Invitation != nil && (p.Invitation.ID == "" || invIDs[p.Invitation.ID]) {
			fail(fmt.Errorf("invitation id %q is empty or taken", p.Invitation.ID))
			continue
		}
		if p.Outbox != nil && p.Outbox.ID != "" && msgIDs[p.Outbox.ID] {
			fail(fmt.Errorf("outbox id %q is taken", p.Outbox.ID))
			continue
		}
		// The checks in CreateMembership's order: the user's, then the
		// membership's (org, user), then its (org, external id).
		u, exists := st.users[p.User.Email]
		if exists {
			if st.members[memberKey{orgID, u.ID}] {
				fail(fmt.Errorf("user %q in organization %q: %w", u.ID, orgID, store.ErrAlreadyMember))
				continue
			}
		} else {
			u = p.User
			if u.ExternalID != "" && st.externalID[u.ExternalID] {
				fail(fmt.Errorf("external id %q: %w", u.ExternalID, store.ErrExternalIDTaken))
				continue
			}
			if st.userIDs[u.ID] {
				fail(fmt.Errorf("user id %q is taken", u.ID))
				continue
			}
		}
		mext := memberExtKey{orgID, p.Membership.ExternalID}
		if mext.ext != "" {
			if st.memberExt[mext] {
				fail(fmt.Errorf("external id %q in organization %q: %w", mext.ext, orgID, store.ErrExternalIDTaken))
				continue
			}
			st.memberExt[mext] = true
		}
		if !exists {
			st.userIDs[u.ID] = true
			if u.ExternalID != "" {
				st.externalID[u.ExternalID] = true
			}
			u = storedUser(u)
			u.SessionGeneration = 0 // the column's default
			st.users[u.Email] = u
			w.users = append(w.users, u)
		}
		st.members[memberKey{orgID, u.ID}] = true

		plan := itemPlan{item: i, m: storedMembership(p.Membership)}
		plan.m.UserID = u.ID
		if p.Invitation != nil {
			inv := *p.Invitation
			inv.UserID = u.ID
			if inv.OrganizationID == "" {
				inv.OrganizationID = orgID
			}
			invIDs[inv.ID] = true
			plan.inv = &inv
		}
		if p.Outbox != nil {
			msg := fillOutbox(*p.Outbox, orgID)
			msgIDs[msg.ID] = true
			plan.msg = &msg
		}
		plan.ev = p.Event
		plan.ev.UserID = u.ID
		if plan.ev.ID == "" {
			plan.ev.ID = store.NewID("evt")
		}
		plan.ev = store.FillEvent(plan.ev, orgID, u.ID)
		w.plans = append(w.plans, plan)
		if exists {
			u = storedUser(u) // the result's own maps
		} // else u's maps are this call's own copies already
		out[i] = store.BatchResult{CreateMembershipResult: store.CreateMembershipResult{
			User: u, UserCreated: !exists, // Membership once its Seq is known
		}}
	}
	return out, w
}

func (s *Store) createBatch(ctx context.Context, tx pgx.Tx, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	// Fast path: nobody races us for these emails and memberships, and
	// COPY writes users and memberships (about 4× faster than INSERT …
	// SELECT FROM unnest). A unique violation means somebody did: roll
	// back to the savepoint and take the careful path.
	st, err := s.readBatchState(ctx, tx, ps, nil, true)
	if err != nil {
		return nil, err
	}
	out, w := decideBatch(ps, st)
	if len(w.plans) == 0 {
		return out, nil
	}
	// Step 4's rows do not depend on step 3: encode them meanwhile.
	restc := make(chan *batchRest, 1)
	go func() { restc <- s.encodeRest(w.plans) }()
	err = s.copyUsersAndMemberships(ctx, tx, w, st.seqs)
	rest := <-restc
	if batchRace(err) {
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT invitekit_batch`); err != nil {
			return nil, fmt.Errorf("pgstore: create memberships: %w", err)
		}
		return s.createBatchCarefully(ctx, tx, ps)
	}
	if err != nil {
		return nil, err
	}
	for _, pl := range w.plans {
		out[pl.item].Membership = pl.m // already as stored, with own maps
	}
	if err := s.sendRest(ctx, tx, rest, out); err != nil {
		return nil, err
	}
	return out, nil
}

// batchRace reports whether err is a unique violation that a concurrent
// writer of the same user or membership causes.
func batchRace(err error) bool {
	pe := pgErr(err)
	if pe == nil || pe.Code != codeUniqueViolation {
		return false
	}
	switch pe.ConstraintName {
	case "users_email_key", "users_external_id_key", "users_pkey", "memberships_pkey", memberExternalIDKey:
		return true
	}
	return false
}

// copyUsersAndMemberships is the fast path's step 3.
func (s *Store) copyUsersAndMemberships(ctx context.Context, tx pgx.Tx, w batchWrites, seqs []int64) error {
	us := make([]*store.User, len(w.users))
	for i := range w.users {
		us[i] = &w.users[i]
	}
	slices.SortFunc(us, func(a, b *store.User) int { return strings.Compare(a.Email, b.Email) })
	var c copyBuf
	c.reset()
	for _, u := range us {
		c.user(u)
	}
	if err := s.copyData(ctx, tx, "users", &c); err != nil {
		return err
	}
	ms, err := s.assignSeqs(ctx, tx, w.plans, seqs)
	if err != nil {
		return err
	}
	c.reset()
	for _, m := range ms {
		c.membership(m)
	}
	return s.copyData(ctx, tx, "memberships", &c)
}

// qAllocSeqs allocates $1 membership Seqs.
const qAllocSeqs = `SELECT array(SELECT nextval('{s}.memberships_seq_seq') FROM generate_series(1, $1))`

// assignSeqs gives each plan one membership Seq, in item order, from seqs
// (ascending, at least one per plan) or, when seqs is nil, freshly
// allocated ones, and returns the plans' memberships sorted by (org,
// user), the order they are inserted in.
func (s *Store) assignSeqs(ctx context.Context, tx pgx.Tx, plans []itemPlan, seqs []int64) ([]*store.Membership, error) {
	if seqs == nil {
		if err := tx.QueryRow(ctx, s.sql(qAllocSeqs), len(plans)).Scan(&seqs); err != nil {
			return nil, fmt.Errorf("pgstore: create memberships: allocate seq: %w", err)
		}
		slices.Sort(seqs)
	}
	if len(seqs) < len(plans) {
		return nil, errors.New("pgstore: create memberships: allocate seq: too few")
	}
	ms := make([]*store.Membership, len(plans))
	for i := range plans {
		plans[i].m.Seq = seqs[i]
		ms[i] = &plans[i].m
	}
	slices.SortFunc(ms, func(a, b *store.Membership) int {
		if c := strings.Compare(a.OrganizationID, b.OrganizationID); c != 0 {
			return c
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	return ms, nil
}

// createBatchCarefully is the path for batches that race concurrent
// writers of the same emails (step 3 of CreateMemberships with ON
// CONFLICT DO NOTHING and re-decided rounds). When the batch has
// membership external ids, each attempt runs after a savepoint, and an
// attempt that lost one of them to a concurrent writer is rolled back and
// run again.
func (s *Store) createBatchCarefully(ctx context.Context, tx pgx.Tx, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	hasExt := slices.ContainsFunc(ps, func(p store.CreateMembershipParams) bool { return p.Membership.ExternalID != "" })
	if !hasExt {
		out, _, err := s.carefulAttempt(ctx, tx, ps)
		return out, err
	}
	for attempt := 1; ; attempt++ {
		if _, err := tx.Exec(ctx, `SAVEPOINT invitekit_careful`); err != nil {
			return nil, fmt.Errorf("pgstore: create memberships: %w", err)
		}
		out, lost, err := s.carefulAttempt(ctx, tx, ps)
		if err != nil || !lost {
			return out, err
		}
		if attempt == maxBatchRounds {
			return nil, errBatchContention
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT invitekit_careful`); err != nil {
			return nil, fmt.Errorf("pgstore: create memberships: %w", err)
		}
	}
}

// carefulAttempt is one attempt of createBatchCarefully. lost reports that
// a membership with an external id was skipped (its (org, user) or its
// (org, external id) was committed concurrently); the attempt must then be
// rolled back, as it may have written the item's new user.
func (s *Store) carefulAttempt(ctx context.Context, tx pgx.Tx, ps []store.CreateMembershipParams) (out []store.BatchResult, lost bool, err error) {
	var (
		w    batchWrites
		ours = map[string]store.User{} // users inserted by this attempt, by id
	)
	for round := 1; ; round++ {
		st, err := s.readBatchState(ctx, tx, ps, ours, false)
		if err != nil {
			return nil, false, err
		}
		out, w = decideBatch(ps, st)
		var fresh []store.User
		for _, u := range w.users {
			if _, ok := ours[u.ID]; !ok {
				fresh = append(fresh, u)
			}
		}
		inserted, err := s.insertUsers(ctx, tx, fresh)
		if err != nil {
			return nil, false, err
		}
		for _, u := range fresh {
			if inserted[u.ID] {
				ours[u.ID] = u
			}
		}
		if len(inserted) == len(fresh) {
			break
		}
		if round == maxBatchRounds {
			return nil, false, errBatchContention
		}
	}
	if len(ours) != len(w.users) {
		// Unreachable: an item that created a user keeps creating it.
		return nil, false, errors.New("pgstore: create memberships: users inserted in an earlier round are no longer needed")
	}
	if len(w.plans) == 0 {
		return out, false, nil
	}

	added, err := s.insertMemberships(ctx, tx, w.plans)
	if err != nil {
		return nil, false, err
	}
	kept := w.plans[:0]
	for _, pl := range w.plans {
		if !added[memberKey{pl.m.OrganizationID, pl.m.UserID}] {
			if pl.m.ExternalID != "" {
				return nil, true, nil
			}
			// A concurrent writer added the same (org, existing user)
			// since step 1. (A new user's membership without an external
			// id cannot conflict.)
			out[pl.item] = store.BatchResult{Err: fmt.Errorf("pgstore: create memberships: item %d: user %q in organization %q: %w",
				pl.item, pl.m.UserID, pl.m.OrganizationID, store.ErrAlreadyMember)}
			continue
		}
		out[pl.item].Membership = storedMembership(pl.m)
		kept = append(kept, pl)
	}
	if err := s.sendRest(ctx, tx, s.encodeRest(kept), out); err != nil {
		return nil, false, err
	}
	return out, false, nil
}

// insertUsers inserts us (careful step 3) and returns the ids of those inserted;
// the others' emails (or ids, or external ids) were committed concurrently.
func (s *Store) insertUsers(ctx context.Context, tx pgx.Tx, us []store.User) (map[string]bool, error) {
	inserted := map[string]bool{}
	if len(us) == 0 {
		return inserted, nil
	}
	us = slices.Clone(us)
	slices.SortFunc(us, func(a, b store.User) int { return strings.Compare(a.Email, b.Email) })
	cols := make([][]any, len(userInsertCols))
	for _, u := range us {
		for c, v := range userArgs(u) {
			cols[c] = append(cols[c], v)
		}
	}
	rows, err := tx.Query(ctx, s.sql(`INSERT INTO {s}.users (`+strings.Join(userInsertCols, ", ")+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::boolean[], $10::text[], $11::jsonb[], $12::jsonb[], $13::jsonb[],
			$14::timestamptz[], $15::timestamptz[], $16::timestamptz[])
		ON CONFLICT DO NOTHING RETURNING id`), columnArgs(cols)...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: create memberships: insert users: %w", err)
	}
	err = collectStrings(rows, func(id string) { inserted[id] = true })
	if err != nil {
		return nil, fmt.Errorf("pgstore: create memberships: insert users: %w", err)
	}
	return inserted, nil
}

// insertMemberships inserts the plans' memberships (careful step 3), assigning
// their Seq in item order, and returns the keys inserted.
func (s *Store) insertMemberships(ctx context.Context, tx pgx.Tx, plans []itemPlan) (map[memberKey]bool, error) {
	ms, err := s.assignSeqs(ctx, tx, plans, nil)
	if err != nil {
		return nil, err
	}
	cols := make([][]any, 1+len(membershipInsertCols))
	for _, m := range ms {
		for c, v := range append([]any{m.Seq}, membershipArgs(*m)...) {
			cols[c] = append(cols[c], v)
		}
	}
	rows, err := tx.Query(ctx, s.sql(`INSERT INTO {s}.memberships (seq, `+strings.Join(membershipInsertCols, ", ")+`)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::text[],
			$8::text[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[],
			$12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
			$18::jsonb[], $19::jsonb[], $20::jsonb[], $21::timestamptz[])
		ON CONFLICT DO NOTHING RETURNING org_id, user_id`), columnArgs(cols)...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: create memberships: insert memberships: %w", err)
	}
	defer rows.Close()
	added := map[memberKey]bool{}
	for rows.Next() {
		var k memberKey
		if err := rows.Scan(&k.org, &k.user); err != nil {
			return nil, fmt.Errorf("pgstore: create memberships: insert memberships: %w", err)
		}
		added[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: create memberships: insert memberships: %w", err)
	}
	return added, nil
}

// collectStrings reads rows of one text column and closes rows.
func collectStrings(rows pgx.Rows, fn func(string)) error {
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		fn(v)
	}
	return rows.Err()
}

// columnArgs turns per-column value lists into typed array arguments.
func columnArgs(cols [][]any) []any {
	args := make([]any, len(cols))
	for i, col := range cols {
		args[i] = arrayOf(col)
	}
	return args
}

// arrayOf converts one column's values to a slice pgx encodes as an array
// (nil elements are NULL).
func arrayOf(col []any) any {
	switch col[0].(type) {
	case string:
		return typed[string](col)
	case bool:
		return typed[bool](col)
	case int64:
		return typed[int64](col)
	case time.Time:
		return typed[time.Time](col)
	default: // jsonb ([]byte or nil), *time.Time: element by element
		out := make([]any, len(col))
		for i, v := range col {
			switch v := v.(type) {
			case []byte:
				out[i] = string(v)
			case *time.Time:
				if v != nil {
					out[i] = *v
				}
			default:
				out[i] = v
			}
		}
		return out
	}
}

func typed[T any](col []any) []T {
	out := make([]T, len(col))
	for i, v := range col {
		out[i] = v.(T)
	}
	return out
}

// batchRest is step 4's encoded rows.
type batchRest struct {
	invitations, outbox, events copyBuf
	locks                       []int64 // the organizations' event locks, sorted
}

// encodeRest encodes step 4's rows for the items that wrote a membership.
// It only reads plans.
func (s *Store) encodeRest(plans []itemPlan) *batchRest {
	r := &batchRest{}
	r.invitations.reset()
	r.outbox.reset()
	r.events.reset()
	orgs := map[string]bool{}
	for i := range plans {
		pl := &plans[i]
		if pl.inv != nil {
			r.invitations.invitation(pl.inv)
		}
		if pl.msg != nil {
			r.outbox.outbox(pl.msg)
		}
		r.events.event(&pl.ev)
		if org := pl.ev.OrganizationID; !orgs[org] {
			orgs[org] = true
			r.locks = append(r.locks, s.eventLock(org))
		}
	}
	slices.Sort(r.locks)
	r.locks = slices.Compact(r.locks)
	return r
}

// sendRest does step 4: invitations, outbox messages, then the events
// under every involved organization's event lock, taken once per batch in
// key order (see qInsertEvent). The lock goes in one round trip with the
// notifications of the batch's results out (held until commit, like the
// rows), queued first so that they are not sent while the lock is held.
func (s *Store) sendRest(ctx context.Context, tx pgx.Tx, r *batchRest, out []store.BatchResult) error {
	if err := s.copyData(ctx, tx, "invitations", &r.invitations); err != nil {
		return err
	}
	if err := s.copyData(ctx, tx, "outbox", &r.outbox); err != nil {
		return err
	}
	if r.events.rows == 0 {
		return nil // nothing written: nothing to notify
	}
	b := &pgx.Batch{}
	payloads := batchPayloads(out)
	if len(payloads) > 0 {
		b.Queue(qNotifyBatch, s.Channel(), payloads)
	}
	b.Queue(`SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k`, r.locks)
	br := tx.SendBatch(ctx, b)
	if len(payloads) > 0 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("pgstore: create memberships: notify: %w", err)
		}
	}
	if _, err := br.Exec(); err != nil {
		br.Close()
		return fmt.Errorf("pgstore: create memberships: event locks: %w", err)
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("pgstore: create memberships: event locks: %w", err)
	}
	return s.copyData(ctx, tx, "events", &r.events)
}
