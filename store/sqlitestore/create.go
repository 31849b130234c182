package sqlitestore

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/invitekit/invitekit/store"
)

// CreateMembership implements store.Memberships.
func (s *Store) CreateMembership(ctx context.Context, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	var res store.BatchResult
	err := s.writeOne(ctx, func(t *wtx, create createFunc) error {
		var err error
		res, err = create(p)
		return err
	})
	if err != nil {
		return store.CreateMembershipResult{}, err
	}
	return res.CreateMembershipResult, nil
}

// createFunc checks and writes one item inside a write transaction (see
// writeOne). A refusal is returned as the error (and in the result).
type createFunc func(store.CreateMembershipParams) (store.BatchResult, error)

// writeOne runs fn in one write transaction in which create writes one
// item. The first attempt is optimistic: the item is written without
// looking anything up first, and the INSERTs' constraints (unique email,
// ids and external ids, the membership's primary key, the organization's
// foreign key) refuse a conflict. When one does, that transaction is
// rolled back and fn runs once more in a new one, where create looks the
// item up first (one lookup query) and names the refusal (ErrNotFound,
// ErrAlreadyMember, ErrExternalIDTaken, a taken id), as CreateMemberships'
// careful path does. Most invites are of new people, so they pay for one
// transaction of inserts; fn's other statements run in both attempts.
func (s *Store) writeOne(ctx context.Context, fn func(t *wtx, create createFunc) error) error {
	conflict := false
	err := s.write(ctx, func(t *wtx) error {
		return fn(t, func(p store.CreateMembershipParams) (store.BatchResult, error) {
			res, err := newCreator(t).one(p, false)
			if err != nil && isConstraint(err) {
				conflict = true
			}
			return res, err
		})
	})
	if !conflict {
		return err
	}
	return s.write(ctx, func(t *wtx) error {
		return fn(t, func(p store.CreateMembershipParams) (store.BatchResult, error) {
			return newCreator(t).one(p, true)
		})
	})
}

// one checks and writes one item and records its change. careful looks
// up what the database holds first; otherwise only the constraints check
// (see writeOne). A refusal is both res.Err and the error (so the
// transaction rolls back; it wrote nothing).
func (c *creator) one(p store.CreateMembershipParams, careful bool) (res store.BatchResult, err error) {
	out := make([]store.BatchResult, 1)
	if careful {
		err = c.writeChunk([]store.CreateMembershipParams{p}, out)
	} else {
		// The membership's foreign key refuses a missing organization.
		c.orgs[p.Membership.OrganizationID] = true
		ps := []store.CreateMembershipParams{p}
		err = c.checkAndWrite(ps, usersOf(ps), lookup{}, out)
	}
	if err != nil {
		return store.BatchResult{}, err
	}
	c.t.changedCreated(out)
	return out[0], out[0].Err
}

// CreateMemberships implements store.BatchCreator: all items in one
// transaction, chunkSize at a time, written with multi-row INSERTs.
//
// A chunk is first written optimistically inside a savepoint, checked only
// against what this transaction wrote before: in a bulk import of new
// people nothing in the database conflicts, and the INSERTs' own
// constraints (unique email, ids and external id, the membership's
// primary key, an organization's unique membership external ids) would
// catch it if something did. When an INSERT hits a
// constraint, the chunk is rolled back to the savepoint and redone the
// careful way: one lookup query finds what the database already holds, so
// per-item refusals (ErrNotFound, ErrAlreadyMember, ErrExternalIDTaken, a
// taken or missing id) are found before the item writes anything. After
// such a fallback the next few chunks go the careful way directly (an
// import of mostly existing people does not pay twice).
//
// A database failure or a cancelled ctx rolls back the whole batch.
func (s *Store) CreateMemberships(ctx context.Context, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	results := make([]store.BatchResult, len(ps))
	if len(ps) == 0 {
		return results, nil
	}
	err := s.write(ctx, func(t *wtx) error {
		c := newCreator(t)
		c.optimistic = true
		for start := 0; start < len(ps); start += chunkSize {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("sqlitestore: %w", err)
			}
			end := min(start+chunkSize, len(ps))
			if err := c.chunk(ps[start:end], results[start:end]); err != nil {
				return fmt.Errorf("sqlitestore: batch items %d..%d: %w", start, end-1, err)
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	if s.ck != nil {
		s.ck.wrote(len(ps))
	}
	return results, nil
}

// creator runs CreateMembership for a sequence of items inside one
// transaction. Besides the database it remembers what earlier items of the
// same transaction wrote, so the checks of a chunk see the items before
// them in that chunk.
type creator struct {
	t       *wtx
	orgs    map[string]bool       // organization id → exists
	byEmail map[string]store.User // users created by this transaction
	taken   map[takenKey]bool     // ids taken by this transaction (see lookupQuery)
	members map[memberKey]bool    // memberships created by this transaction

	// optimistic enables the savepoint fast path (see CreateMemberships);
	// careful counts the chunks still to be done the careful way after a
	// fallback.
	optimistic bool
	careful    int
	// undo, when not nil, collects what check records, so a failed
	// optimistic chunk can forget it.
	undo *undoLog
	// fallbacks counts optimistic chunks that were redone (for tests).
	fallbacks int
	// argBufs are write's argument lists, one per table, kept between
	// chunks.
	argBufs [5][]any
}

// takenKey is an id of one kind: 'u' user id, 'x' (user) external id,
// 'm' membership external id (see memberExtKey), 'i' invitation id, 'o'
// outbox id (the kinds of lookupQuery).
type takenKey struct {
	kind byte
	id   string
}

// memberExtKey is the takenKey id of a membership external id: unique per
// organization.
func memberExtKey(orgID, ext string) string { return orgID + "\x00" + ext }

type memberKey struct{ org, user string }

// undoLog is what check recorded in a creator during one chunk.
type undoLog struct {
	emails  []string
	taken   []takenKey
	members []memberKey
}

// carefulChunks is how many chunks go the careful way after an optimistic
// chunk had to be redone.
const carefulChunks = 4

func newCreator(t *wtx) *creator {
	return &creator{
		t:       t,
		orgs:    map[string]bool{},
		byEmail: map[string]store.User{},
		taken:   map[takenKey]bool{},
		members: map[memberKey]bool{},
	}
}

// lookup is what the database already holds for a chunk (empty on the
// optimistic path).
type lookup struct {
	userByEmail map[string]string // email → user id
	taken       map[takenKey]bool
}

// item is one accepted item of a chunk, ready to be written.
type item struct {
	i       int
	newUser bool
	res     store.CreateMembershipResult
	inv     *store.Invitation
	out     *store.OutboxMessage
	ev      store.Event
}

// chunk checks and writes up to chunkSize items, filling out (one result
// per item), and records the created memberships' changes. It returns an
// error only for a failure that must abort the transaction.
func (c *creator) chunk(ps []store.CreateMembershipParams, out []store.BatchResult) error {
	if err := c.writeChunk(ps, out); err != nil {
		return err
	}
	c.t.changedCreated(out)
	return nil
}

func (c *creator) writeChunk(ps []store.CreateMembershipParams, out []store.BatchResult) error {
	users := usersOf(ps)
	if c.optimistic {
		if c.careful > 0 {
			c.careful--
		} else {
			done, err := c.optimisticChunk(ps, users, out)
			if done || err != nil {
				return err
			}
			c.fallbacks++
			c.careful = carefulChunks
		}
	}
	lk, err := c.lookup(ps, users)
	if err != nil {
		return err
	}
	return c.checkAndWrite(ps, users, lk, out)
}

// usersOf returns the items' users with the ids the store generates
// chosen first, so the lookup checks them too.
func usersOf(ps []store.CreateMembershipParams) []store.User {
	users := make([]store.User, len(ps))
	for i, p := range ps {
		users[i] = p.User
		if users[i].ID == "" {
			users[i].ID = store.NewID("usr")
		}
	}
	return users
}

// optimisticChunk writes a chunk inside a savepoint, checked only against
// this transaction's own writes. done is false when an INSERT hit a
// constraint: then the savepoint was rolled back, c forgot the chunk and
// out is cleared, and the caller redoes the chunk the careful way.
func (c *creator) optimisticChunk(ps []store.CreateMembershipParams, users []store.User, out []store.BatchResult) (done bool, err error) {
	if _, err := c.t.exec(qSavepoint); err != nil {
		return false, err
	}
	undo := &undoLog{}
	c.undo = undo
	err = c.checkAndWrite(ps, users, lookup{}, out)
	c.undo = nil
	if err == nil {
		if _, err := c.t.exec(qRelease); err != nil {
			return false, err
		}
		return true, nil
	}
	if !isConstraint(err) {
		return false, err
	}
	if _, rerr := c.t.exec(qRollbackTo); rerr != nil {
		return false, errors.Join(err, rerr)
	}
	if _, rerr := c.t.exec(qRelease); rerr != nil {
		return false, errors.Join(err, rerr)
	}
	for _, e := range undo.emails {
		delete(c.byEmail, e)
	}
	for _, k := range undo.taken {
		delete(c.taken, k)
	}
	for _, k := range undo.members {
		delete(c.members, k)
	}
	clear(out)
	return false, nil
}

// isConstraint reports whether err is SQLite's SQLITE_CONSTRAINT (any
// extended code).
func isConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// checkAndWrite checks every item of a chunk against lk and what this
// transaction wrote, then writes the accepted ones.
func (c *creator) checkAndWrite(ps []store.CreateMembershipParams, users []store.User, lk lookup, out []store.BatchResult) error {
	items := make([]item, 0, len(ps))
	for i, p := range ps {
		it, refusal, err := c.check(p, users[i], lk)
		if err != nil {
			return err
		}
		if refusal != nil {
			out[i].Err = refusal
			continue
		}
		it.i = i
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil
	}
	if err := c.write(items); err != nil {
		return err
	}
	for _, it := range items {
		out[it.i].CreateMembershipResult = it.res
	}
	return nil
}

// lookup runs lookupQuery for a chunk.
func (c *creator) lookup(ps []store.CreateMembershipParams, users []store.User) (lookup, error) {
	n := 1
	if len(ps) > 1 {
		n = chunkSize
	}
	args := make([]any, lookupArgs*n)
	for i, p := range ps {
		args[i] = p.User.Email
		args[n+i] = users[i].ID
		if users[i].ExternalID != "" {
			args[2*n+i] = users[i].ExternalID
		}
		if p.Invitation != nil && p.Invitation.ID != "" {
			args[3*n+i] = p.Invitation.ID
		}
		if p.Outbox != nil && p.Outbox.ID != "" {
			args[4*n+i] = p.Outbox.ID
		}
		if ext := p.Membership.ExternalID; ext != "" {
			args[5*n+2*i], args[5*n+2*i+1] = p.Membership.OrganizationID, ext
		}
	}
	rows, err := c.t.query(lookupQuery(n), args...)
	if err != nil {
		return lookup{}, err
	}
	defer rows.Close()
	lk := lookup{userByEmail: map[string]string{}, taken: map[takenKey]bool{}}
	for rows.Next() {
		var kind, key, id string
		if err := rows.Scan(&kind, &key, &id); err != nil {
			return lookup{}, fmt.Errorf("sqlitestore: %w", err)
		}
		switch kind {
		case "e":
			lk.userByEmail[key] = id
		case "m": // key is the external id, id the organization
			lk.taken[takenKey{'m', memberExtKey(id, key)}] = true
		default:
			lk.taken[takenKey{kind[0], key}] = true
		}
	}
	if err := rows.Err(); err != nil {
		return lookup{}, fmt.Errorf("sqlitestore: %w", err)
	}
	return lk, nil
}

func (c *creator) isTaken(lk lookup, kind byte, id string) bool {
	k := takenKey{kind, id}
	return lk.taken[k] || c.taken[k]
}

// take records an id this transaction takes.
func (c *creator) take(kind byte, id string) {
	k := takenKey{kind, id}
	c.taken[k] = true
	if c.undo != nil {
		c.undo.taken = append(c.undo.taken, k)
	}
}

// check decides one item, in the order memstore does: organization,
// existing user (already a member?) or new user (ids free?), membership
// external id, invitation id, outbox id. Accepted items are recorded in c so later items see them.
func (c *creator) check(p store.CreateMembershipParams, newUser store.User, lk lookup) (it item, refusal, err error) {
	orgID := p.Membership.OrganizationID
	ok, cached := c.orgs[orgID]
	if !cached {
		if ok, err = c.t.orgExists(orgID); err != nil {
			return it, nil, err
		}
		c.orgs[orgID] = ok
	}
	if !ok {
		return it, fmt.Errorf("sqlitestore: organization %q: %w", orgID, store.ErrNotFound), nil
	}

	var u store.User
	found := false
	if cu, ok := c.byEmail[p.User.Email]; ok {
		u, found = cu, true
	} else if _, ok := lk.userByEmail[p.User.Email]; ok {
		if u, found, err = c.t.userByEmail(p.User.Email); err != nil {
			return it, nil, err
		}
		if !found {
			return it, nil, errors.New("sqlitestore: internal error: user vanished inside a transaction")
		}
	}
	if found {
		member := c.members[memberKey{orgID, u.ID}]
		if !member {
			if member, err = c.t.exists(qMembershipExists, orgID, u.ID); err != nil {
				return it, nil, err
			}
		}
		if member {
			return it, fmt.Errorf("sqlitestore: user %q in organization %q: %w", u.ID, orgID, store.ErrAlreadyMember), nil
		}
	} else {
		u = newUser
		if c.isTaken(lk, 'u', u.ID) {
			return it, fmt.Errorf("sqlitestore: user id %q is taken", u.ID), nil
		}
		if u.ExternalID != "" && c.isTaken(lk, 'x', u.ExternalID) {
			return it, fmt.Errorf("sqlitestore: external id %q: %w", u.ExternalID, store.ErrExternalIDTaken), nil
		}
	}
	if ext := p.Membership.ExternalID; ext != "" && c.isTaken(lk, 'm', memberExtKey(orgID, ext)) {
		return it, fmt.Errorf("sqlitestore: external id %q in organization %q: %w", ext, orgID, store.ErrExternalIDTaken), nil
	}
	if p.Invitation != nil {
		if p.Invitation.ID == "" {
			return it, errors.New("sqlitestore: invitation id is empty"), nil
		}
		if c.isTaken(lk, 'i', p.Invitation.ID) {
			return it, fmt.Errorf("sqlitestore: invitation id %q is taken", p.Invitation.ID), nil
		}
	}
	if p.Outbox != nil && p.Outbox.ID != "" && c.isTaken(lk, 'o', p.Outbox.ID) {
		return it, fmt.Errorf("sqlitestore: outbox id %q is taken", p.Outbox.ID), nil
	}

	// Accepted: complete the rows and remember what they take.
	if !found {
		u = normalizeUser(u)
		c.byEmail[u.Email] = u
		c.take('u', u.ID)
		if u.ExternalID != "" {
			c.take('x', u.ExternalID)
		}
		if c.undo != nil {
			c.undo.emails = append(c.undo.emails, u.Email)
		}
	}
	m := p.Membership
	m.UserID = u.ID
	if m.ExternalID != "" {
		c.take('m', memberExtKey(orgID, m.ExternalID))
	}
	c.members[memberKey{orgID, u.ID}] = true
	if c.undo != nil {
		c.undo.members = append(c.undo.members, memberKey{orgID, u.ID})
	}
	it = item{newUser: !found, res: store.CreateMembershipResult{User: u, Membership: m, UserCreated: !found}}
	if p.Invitation != nil {
		inv := *p.Invitation
		inv.UserID = u.ID
		if inv.OrganizationID == "" {
			inv.OrganizationID = orgID
		}
		c.take('i', inv.ID)
		it.inv = &inv
	}
	if p.Outbox != nil {
		msg := prepareOutbox(*p.Outbox, orgID)
		c.take('o', msg.ID)
		it.out = &msg
	}
	it.ev = p.Event
	it.ev.UserID = u.ID
	it.ev = store.FillEvent(it.ev, orgID, "")
	return it, nil, nil
}

// write inserts the accepted items of a chunk, table by table, with
// multi-row INSERTs. Membership seqs are reserved as one block, in item
// order.
func (c *creator) write(items []item) error {
	seq, err := c.t.reserveSeqs(len(items))
	if err != nil {
		return err
	}
	// The argument lists are sized for the whole chunk up front and
	// reused by the next chunk (database/sql copies the values it binds).
	n := len(items)
	uargs := c.args(0, n*userInsertCols)
	margs := c.args(1, n*membershipInsertCols)
	iargs := c.args(2, n*invitationInsertCols)
	oargs := c.args(3, n*outboxInsertCols)
	eargs := c.args(4, n*eventInsertCols)
	for k := range items {
		it := &items[k]
		it.res.Membership.Seq = seq + int64(k)
		if it.newUser {
			if uargs, err = userArgs(uargs, it.res.User); err != nil {
				return err
			}
		}
		if margs, err = membershipArgs(margs, it.res.Membership); err != nil {
			return err
		}
		if it.inv != nil {
			iargs = invitationArgs(iargs, *it.inv)
		}
		if it.out != nil {
			if oargs, err = outboxArgs(oargs, *it.out); err != nil {
				return err
			}
		}
		if eargs, err = eventArgs(eargs, it.ev); err != nil {
			return err
		}
		it.res.Membership = normalizeMembership(it.res.Membership)
	}
	for _, w := range []struct {
		head  string
		ncols int
		args  []any
	}{
		{insertUserHead, userInsertCols, uargs},
		{insertMembershipHead, membershipInsertCols, margs},
		{insertInvitationHead, invitationInsertCols, iargs},
		{insertOutboxHead, outboxInsertCols, oargs},
		{insertEventHead, eventInsertCols, eargs},
	} {
		if err := c.t.insertRows(w.head, w.ncols, w.args); err != nil {
			return err
		}
	}
	return nil
}

// args returns the creator's argument list number i, emptied, with room
// for n values.
func (c *creator) args(i, n int) []any {
	a := c.argBufs[i][:0]
	if cap(a) < n {
		a = make([]any, 0, n)
	}
	c.argBufs[i] = a
	return a
}

// normalizeUser makes a user assembled in memory look like one read back
// (UTC times without monotonic reading, copied maps).
func normalizeUser(u store.User) store.User {
	u.SessionGeneration = 0 // the column's default
	u.CreateTime = timeOf(tsOf(u.CreateTime))
	u.UpdateTime = timeOf(tsOf(u.UpdateTime))
	if u.LastLogin != nil {
		u.LastLogin = timePtrOf(nullTsOf(u.LastLogin))
	}
	u.Metadata = cloneMap(u.Metadata)
	u.Profile.Metadata = cloneMap(u.Profile.Metadata)
	u.Profile.CustomAttributes = cloneMap(u.Profile.CustomAttributes)
	return u
}

// normalizeMembership makes a membership assembled in memory look like one
// read back.
func normalizeMembership(m store.Membership) store.Membership {
	m = normalizeTimes(m)
	if m.Roles != nil {
		m.Roles = append([]string{}, m.Roles...)
	}
	m.Metadata = cloneMap(m.Metadata)
	m.Profile.Metadata = cloneMap(m.Profile.Metadata)
	m.Profile.CustomAttributes = cloneMap(m.Profile.CustomAttributes)
	m.UserMetadata = cloneMap(m.UserMetadata)
	return m
}
