package sqlitestore

import (
	"fmt"
	"slices"
	"strings"
)

// chunkSize is how many items CreateMemberships writes with one multi-row
// INSERT per table (and, on the careful path, checks with one lookup
// query). 200 rows of the widest table (memberships, 21 columns) bind
// 4,200 parameters, far below SQLite's limit of 32,766, and 200 divides the bulk
// import's batch sizes (1,000 by default), so a full batch needs no
// smaller statements. Bigger chunks spread the per-statement and
// per-savepoint costs over more rows (a savepoint journals every
// pre-existing page a chunk changes, mostly the right edges of the
// B-trees, whatever the chunk's size).
const chunkSize = 200

// insertSizes are the row counts of the prepared multi-row INSERTs; a run
// of n rows is written with the largest that fit (so at most a few
// statements beyond n/chunkSize).
var insertSizes = [...]int{chunkSize, 64, 16, 4, 1}

// insertHeads are the multi-row INSERTs ("INSERT INTO t (cols) VALUES ")
// and their column counts.
var insertHeads = [...]insertHead{
	{insertUserHead, userInsertCols},
	{insertMembershipHead, membershipInsertCols},
	{insertInvitationHead, invitationInsertCols},
	{insertOutboxHead, outboxInsertCols},
	{insertEventHead, eventInsertCols},
}

type insertHead struct {
	head  string
	ncols int
}

// insertQuery returns head followed by n tuples of ncols placeholders.
func insertQuery(head string, ncols, n int) string {
	tuple := "(" + strings.Repeat("?, ", ncols-1) + "?)"
	var b strings.Builder
	b.Grow(len(head) + n*(len(tuple)+2))
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	return b.String()
}

// insertQueries are insertQuery(insertHeads[h], …, insertSizes[k]) at
// [h][k], built once (the biggest are 13 KB of placeholders).
var insertQueries = func() (qs [len(insertHeads)][len(insertSizes)]string) {
	for h, ih := range insertHeads {
		for k, size := range insertSizes {
			qs[h][k] = insertQuery(ih.head, ih.ncols, size)
		}
	}
	return qs
}()

// insertRows writes len(args)/ncols rows with head's prepared multi-row
// INSERTs (head one of insertHeads).
func (t *wtx) insertRows(head string, ncols int, args []any) error {
	h := slices.IndexFunc(insertHeads[:], func(ih insertHead) bool { return ih.head == head })
	if h < 0 {
		return fmt.Errorf("sqlitestore: internal error: no multi-row INSERT for %q", head)
	}
	n := len(args) / ncols
	for k, size := range insertSizes {
		for n >= size {
			if _, err := t.exec(insertQueries[h][k], args[:size*ncols]...); err != nil {
				return err
			}
			args = args[size*ncols:]
			n -= size
		}
	}
	return nil
}

// lookupQuery checks n items at once: which emails already have a user
// (kind 'e', with the user id), which user ids ('u'), user external ids
// ('x'), invitation ids ('i') and outbox ids ('o') are taken, and which
// (organization, membership external id) pairs ('m', with the external
// id and then the organization). Its parameters are five lists of n
// values and one of n pairs (NULL pads a short list; it matches nothing):
// lookupArgs*n in all.
func lookupQuery(n int) string {
	in := "(" + strings.Repeat("?, ", n-1) + "?)"
	pairs := "(VALUES " + strings.Repeat("(?, ?), ", n-1) + "(?, ?))"
	return `SELECT 'e', email, id FROM users WHERE email IN ` + in + `
UNION ALL SELECT 'u', id, '' FROM users WHERE id IN ` + in + `
UNION ALL SELECT 'x', external_id, '' FROM users WHERE external_id IN ` + in + ` AND external_id <> ''
UNION ALL SELECT 'i', id, '' FROM invitations WHERE id IN ` + in + `
UNION ALL SELECT 'o', id, '' FROM outbox WHERE id IN ` + in + `
UNION ALL SELECT 'm', external_id, org_id FROM memberships WHERE (org_id, external_id) IN ` + pairs + ` AND external_id <> ''`
}

// lookupArgs is the number of lookupQuery parameters per item.
const lookupArgs = 7

// The savepoint around an optimistic chunk (see CreateMemberships).
const (
	qSavepoint  = `SAVEPOINT batch_chunk`
	qRollbackTo = `ROLLBACK TO batch_chunk`
	qRelease    = `RELEASE batch_chunk`
)

// writeQueries returns every statement used inside write transactions.
// Open prepares them all on the writer connection (see stmtCache).
func writeQueries() []string {
	qs := []string{
		qInsertOrg, qOrgExists,
		qGetUserByEmail, qUserExists, qRecordLogin, qSetEmailVerified,
		qGetIdentity, qInsertIdentity,
		qGetMembership, qMembershipExists, qUpdateMembership, qDeleteMembership, qReserveSeqs, qOtherActiveHolder,
		qExternalIDOwner, qRecordMemberLogin,
		qGetInvitation, qSpendInvitation, qReissueInvitation, qRevokeInvitations, qDeletePending,
		qClaimable, qLease, qOutboxState, qOutboxSent, qOutboxRetry, qOutboxDead,
		lookupQuery(1), lookupQuery(chunkSize),
		qSavepoint, qRollbackTo, qRelease,
	}
	qs = append(qs, notifyWriteQueries...)
	qs = append(qs, directoryWriteQueries...)
	qs = append(qs, webhookWriteQueries...)
	qs = append(qs, joinWriteQueries...)
	qs = append(qs, ssoWriteQueries...)
	qs = append(qs, approvalWriteQueries...)
	qs = append(qs, acceptWriteQueries...)
	for _, sized := range insertQueries {
		qs = append(qs, sized[:]...)
	}
	return qs
}
