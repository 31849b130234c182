package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/invitekit/invitekit/store"
)

// wtx is a write transaction on the writer connection. Its statements are
// the writer's prepared statements bound to the transaction, cached for the
// transaction's life.
type wtx struct {
	ctx   context.Context
	s     *Store
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	// changes are published once the transaction commits (notify.go).
	changes []store.Change
	// seqAhead, when not 0, is one membership seq reserved earlier in
	// this transaction, which the next reserveSeqs(1) takes.
	seqAhead int64
}

// write runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits it when fn returns nil; then it publishes
// the changes fn recorded (wtx.changed) to the Store's subscriptions.
//
// ctx bounds the wait for the writer and the transaction: when it ends,
// database/sql rolls the transaction back and its remaining statements
// fail. The statements themselves run uninterruptible (they are short, and
// a cancellable context costs the driver a goroutine per statement).
func (s *Store) write(ctx context.Context, fn func(t *wtx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
	t := &wtx{ctx: context.WithoutCancel(ctx), s: s, tx: tx}
	if err := fn(t); err != nil {
		tx.Rollback()
		return canceled(ctx, err)
	}
	if err := tx.Commit(); err != nil {
		return canceled(ctx, fmt.Errorf("sqlitestore: commit: %w", err))
	}
	s.notify.Publish(t.changes)
	return nil
}

// canceled makes err also match ctx's error when ctx ended: database/sql
// rolls a transaction back as soon as its context is cancelled, so the
// next statement fails with sql.ErrTxDone, which alone would hide why.
func canceled(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

func (t *wtx) stmt(query string) (*sql.Stmt, error) {
	if t.s.onStmt != nil {
		t.s.onStmt(query)
	}
	if st, ok := t.stmts[query]; ok {
		return st, nil
	}
	st, err := t.s.wstmts.get(t.ctx, query)
	if err != nil {
		return nil, err
	}
	st = t.tx.StmtContext(t.ctx, st)
	if t.stmts == nil {
		t.stmts = make(map[string]*sql.Stmt)
	}
	t.stmts[query] = st
	return st, nil
}

func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(t.ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return res, nil
}

// execN runs an UPDATE or DELETE and returns the number of rows it changed.
func (t *wtx) execN(query string, args ...any) (int64, error) {
	res, err := t.exec(query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: %w", err)
	}
	return n, nil
}

func (t *wtx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(t.ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return rows, nil
}

// row runs a one-row query; scan is called with the row's Scan. It returns
// sql.ErrNoRows (unwrapped) when there is no row.
func (t *wtx) row(scan func(scanner) error, query string, args ...any) error {
	st, err := t.stmt(query)
	if err != nil {
		return err
	}
	return scanRow(st.QueryRowContext(t.ctx, args...), scan)
}

// readAll runs query on the reader pool and scans every row into a T with
// scan (the same scan functions readRow takes). The result is never nil.
func readAll[T any](ctx context.Context, s *Store, scan func(*T) func(scanner) error, query string, args ...any) ([]T, error) {
	rows, err := s.readRows(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var v T
		if err := scan(&v)(rows); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return out, nil
}

// readRow runs a one-row query on the reader pool.
func (s *Store) readRow(ctx context.Context, scan func(scanner) error, query string, args ...any) error {
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	return scanRow(st.QueryRowContext(ctx, args...), scan)
}

// readRows runs a query on the reader pool.
func (s *Store) readRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return rows, nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

func scanRow(r *sql.Row, scan func(scanner) error) error {
	if err := r.Err(); err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	err := scan(r)
	if err == sql.ErrNoRows {
		return err
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	return nil
}
