package invite

import (
	"bufio"
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/invitekit/invitekit/invite/csvimport"
	"github.com/invitekit/invitekit/store"
)

// bulkLookupWorkers bounds the concurrent store reads of one batch.
const bulkLookupWorkers = 8

// WithDefaults fills zero options and checks the rest. It is pure: the
// Service and the bulk HTTP API both call it.
func (o BulkOptions) WithDefaults() (BulkOptions, error) {
	switch o.Format {
	case "":
		o.Format = BulkFormatCSV
	case BulkFormatCSV, BulkFormatJSONL:
	default:
		return o, fmt.Errorf("invite: bulk: %w %q (want %q or %q)", ErrBulkBadFormat, o.Format, BulkFormatCSV, BulkFormatJSONL)
	}
	switch {
	case o.BatchSize == 0:
		o.BatchSize = DefaultBulkBatchSize
	case o.BatchSize < 0 || o.BatchSize > MaxBulkBatchSize:
		return o, invalid("batchSize", "batchSize must be between 1 and %d", MaxBulkBatchSize)
	}
	switch {
	case o.Writers == 0:
		o.Writers = DefaultBulkWriters
	case o.Writers < 0 || o.Writers > MaxBulkWriters:
		return o, invalid("writers", "writers must be between 1 and %d", MaxBulkWriters)
	}
	if err := checkIDs("actorID", o.ActorID); err != nil {
		return o, err // every row's inviter: refused once, not on each row
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultBulkMaxBytes
	}
	if o.MaxRows == 0 {
		o.MaxRows = DefaultBulkMaxRows
	}
	return o, nil
}

func (o BulkOptions) readerConfig() csvimport.Config {
	return csvimport.Config{Format: o.Format, MaxBytes: o.MaxBytes, MaxRows: o.MaxRows}
}

// BulkInput is an input that was read once and checked (limits, header):
// it can be imported, and read again from the start, for example to
// confirm a dry run without a new upload. Close it when done. A BulkInput
// is not safe for concurrent use.
type BulkInput struct {
	r     io.ReadSeeker
	start int64
	rows  int
	spool *os.File // nil when the caller's reader was seekable
}

// Rows is the number of data rows in the input.
func (in *BulkInput) Rows() int { return in.rows }

// Rewind makes the next RunBulk read the input from its start again.
func (in *BulkInput) Rewind() error {
	_, err := in.r.Seek(in.start, io.SeekStart)
	return err
}

// Close removes the input's spool file, if any. It is idempotent.
func (in *BulkInput) Close() {
	if in.spool != nil {
		in.spool.Close()
		os.Remove(in.spool.Name())
		in.spool = nil
	}
}

// PrepareBulk reads src once through the parser (checking the limits and
// the header of opts, which must come from WithDefaults) and leaves it
// ready for RunBulk. A seekable src is re-read in place; any other is
// copied to a temporary file in opts.TempDir on the way, so an input that
// must outlive src (a background job) should hide its Seek method.
func PrepareBulk(ctx context.Context, src io.Reader, opts BulkOptions) (*BulkInput, error) {
	in := &BulkInput{}
	pass := src
	if rs, ok := src.(io.ReadSeeker); ok {
		if start, err := rs.Seek(0, io.SeekCurrent); err == nil {
			in.r, in.start = rs, start
		}
	}
	var spool *bufio.Writer
	if in.r == nil {
		f, err := os.CreateTemp(opts.TempDir, "invitekit-bulk-*")
		if err != nil {
			return nil, fmt.Errorf("invite: bulk: spool input: %w", err)
		}
		in.spool, in.r = f, f
		spool = bufio.NewWriterSize(f, 256<<10)
		pass = io.TeeReader(src, spool)
	}
	rows, err := countBulkRows(ctx, pass, opts)
	if err == nil && spool != nil {
		if err = spool.Flush(); err != nil {
			err = fmt.Errorf("invite: bulk: spool input: %w", err)
		}
	}
	if err == nil {
		err = in.Rewind()
	}
	if err != nil {
		in.Close()
		return nil, err
	}
	in.rows = rows
	return in, nil
}

// countBulkRows parses r to the end and returns the number of data rows,
// or the first fatal error.
func countBulkRows(ctx context.Context, r io.Reader, opts BulkOptions) (int, error) {
	rd, err := csvimport.NewReader(r, opts.readerConfig())
	if err != nil {
		return 0, bulkInputErr(err)
	}
	n := 0
	for {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		if err := rd.Skip(); err == io.EOF {
			return n, nil
		} else if err != nil {
			return 0, bulkInputErr(err)
		}
		n++
	}
}

func bulkInputErr(err error) error {
	return fmt.Errorf("invite: bulk: %w", err)
}

// bulkItem is a valid row waiting for its batch.
type bulkItem struct {
	idx      int // row index (row - 1) of the result
	req      InviteRequest
	existing *store.User
	looked   bool // existing was looked up
}

// bulkRun is the state of one import.
type bulkRun struct {
	s           *Service
	org         store.Organization
	opts        BulkOptions
	report      *BulkReport
	total       int
	inviterName string
	seenEmail   *bulkSeen // normalized email → first row
	seenExt     *bulkSeen // external id → first row
	batch       []bulkItem
	// pending are the rows read but not yet settled, from row index base
	// (the rows before are counted and in the report's spool). Only this
	// window is in memory: at most a few batches.
	pending  []bulkPending
	base     int
	spoolErr error        // the spool could not be written
	inflight []*bulkWrite // the batches being written, oldest first
}

// bulkPending is a row's result while it is in memory, with its external
// id (spooled for the duplicate check, never shown).
type bulkPending struct {
	BulkRowResult
	ext string
}

// res is the pending result of row index idx.
func (run *bulkRun) res(idx int) *BulkRowResult { return &run.pending[idx-run.base].BulkRowResult }

// rowValue returns the email (or, with ext, the external id) of 1-based
// row, from the window or, for a settled row, from the spool.
func (run *bulkRun) rowValue(row int, ext bool) string {
	idx := row - 1
	if idx >= run.base {
		p := &run.pending[idx-run.base]
		if ext {
			return p.ext
		}
		return p.Email
	}
	r, e, err := run.report.results.at(idx)
	if err != nil {
		if run.spoolErr == nil {
			run.spoolErr = err
		}
		return ""
	}
	if ext {
		return e
	}
	return r.Email
}

// RunBulk validates and imports a prepared input into org (see
// BulkInvite, which is PrepareBulk followed by RunBulk). opts must come
// from WithDefaults.
func (s *Service) RunBulk(ctx context.Context, org store.Organization, in *BulkInput, opts BulkOptions) (*BulkReport, error) {
	report := &BulkReport{
		OrganizationID: org.ID,
		DryRun:         opts.DryRun,
		Format:         opts.Format,
		StartTime:      s.now(),
		results:        newResultSpool(opts.TempDir),
	}
	run := &bulkRun{
		s: s, org: org, opts: opts, report: report, total: in.rows,
		seenEmail: newBulkSeen(in.rows, opts.TempDir),
		seenExt:   newBulkSeen(in.rows, opts.TempDir),
		batch:     make([]bulkItem, 0, opts.BatchSize),
	}
	defer run.seenEmail.close()
	defer run.seenExt.close()
	run.progress(BulkPhaseChecking)
	if !opts.DryRun {
		run.inviterName = s.inviterName(ctx, org.ID, opts.ActorID)
	}
	err := run.readAll(ctx, in)
	if ferr := report.results.finish(); err == nil && ferr != nil {
		err = run.abort(ctx, ferr)
	}
	report.EndTime = s.now()
	if err != nil {
		s.log.WarnContext(ctx, "invite: bulk import stopped", "org_id", org.ID, "dry_run", opts.DryRun,
			"rows_done", report.Summary.Rows, "rows_total", in.rows, "err", err)
		return report, err
	}
	run.progress(BulkPhaseDone)
	sum := report.Summary
	s.log.InfoContext(ctx, "invite: bulk import done", "org_id", org.ID, "dry_run", opts.DryRun,
		"rows", sum.Rows, "created", sum.Created, "already_member", sum.AlreadyMember, "invalid", sum.Invalid,
		"refused", sum.Refused, "duplicate_in_file", sum.DuplicateInFile, "failed", sum.Failed,
		"duration", report.EndTime.Sub(report.StartTime))
	return report, nil
}

func (run *bulkRun) progress(phase string) {
	if run.opts.Progress == nil {
		return
	}
	run.opts.Progress(BulkProgress{
		Phase:     phase,
		Rows:      run.base,
		TotalRows: run.total,
		Summary:   run.report.Summary,
	})
}

func (run *bulkRun) readAll(ctx context.Context, in *BulkInput) error {
	rd, err := csvimport.NewReader(in.r, run.opts.readerConfig())
	if err != nil {
		return bulkInputErr(err) // the input changed since it was checked
	}
	// Rows are read and validated in chunks by a goroutine of their own,
	// one chunk ahead, while this one deduplicates and queues the previous
	// chunk in order; the batches' params are built and written by the
	// writers (flush). Chunks are recycled: at most bulkChunksAhead+1 are
	// in memory.
	chunks, stop := run.readChunks(rd)
	defer stop()
	for c := range chunks {
		for i := range c.rows {
			run.addRow(&c.rows[i])
			if len(run.batch) >= run.opts.BatchSize || len(run.pending) >= 4*run.opts.BatchSize {
				if err := run.flush(ctx); err != nil {
					return err
				}
			}
		}
		if c.err == io.EOF {
			break
		}
		if c.err != nil {
			return run.abort(ctx, bulkInputErr(c.err))
		}
		c.recycle()
	}
	if err := run.flush(ctx); err != nil {
		return err
	}
	return run.finishWrites(ctx)
}

// bulkChunksAhead is how many validated chunks the reader may have ready
// before the import takes them.
const bulkChunksAhead = 1

// bulkChunk is up to BatchSize parsed and validated rows and, for the
// last chunk, the error that ended reading (io.EOF at the end).
type bulkChunk struct {
	rows []validatedRow
	err  error
	free chan *bulkChunk
}

// recycle hands c back to the reader for a next chunk.
func (c *bulkChunk) recycle() {
	clear(c.rows)
	c.rows = c.rows[:0]
	select {
	case c.free <- c:
	default:
	}
}

// readChunks reads and validates rd's rows in chunks of BatchSize in a
// goroutine, and sends them in order; the last chunk carries the error
// that ended reading. stop ends the goroutine and returns once it is gone
// (the input is not read after: the caller may close or reuse it).
func (run *bulkRun) readChunks(rd *csvimport.Reader) (chunks <-chan *bulkChunk, stop func()) {
	out := make(chan *bulkChunk, bulkChunksAhead)
	quit, gone := make(chan struct{}), make(chan struct{})
	free := make(chan *bulkChunk, bulkChunksAhead+1)
	go func() {
		defer close(gone)
		defer close(out)
		for {
			var c *bulkChunk
			select {
			case c = <-free:
			default:
				c = &bulkChunk{rows: make([]validatedRow, 0, run.opts.BatchSize), free: free}
			}
			for len(c.rows) < cap(c.rows) {
				rec, err := rd.Next()
				if err != nil {
					c.err = err
					break
				}
				c.rows = append(c.rows, validatedRow{rec: rec})
			}
			run.validate(c.rows)
			select {
			case out <- c:
			case <-quit:
				return
			}
			if c.err != nil {
				return
			}
		}
	}()
	return out, func() {
		close(quit)
		<-gone
	}
}

// validatedRow is a record and, once validated, its request or error.
type validatedRow struct {
	rec csvimport.Record
	req InviteRequest
	err error
}

// validate checks the chunk's parsed rows with the single-invite rules, on
// up to GOMAXPROCS goroutines.
func (run *bulkRun) validate(chunk []validatedRow) {
	n := len(chunk)
	parts := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				v := &chunk[i]
				if v.rec.Err != nil {
					continue
				}
				v.req = bulkRequest(v.rec, run.opts)
				v.err = run.s.checkInvite(&v.req, "", run.s.cfg.DefaultRoles)
			}
		})
	}
	wg.Wait()
}

// finish records a final result for a row that never reaches a batch (it
// is counted at the next settle).
func (run *bulkRun) finish(r BulkRowResult) {
	run.pending = append(run.pending, bulkPending{BulkRowResult: r})
}

// addRow finishes a validated row (invalid, duplicate) or queues it for
// the batch.
func (run *bulkRun) addRow(v *validatedRow) {
	rec := v.rec
	res := BulkRowResult{Row: rec.Row, Line: rec.Line, Email: shortCell(rec.Email)}
	if rec.Err != nil {
		res.Status, res.Code, res.Field, res.Reason = BulkInvalid, CodeMalformedRequest, rec.Err.Field, rec.Err.Message
		if rec.Err.Code == "unknown_field" {
			res.Reason = "unknown field " + quoteShort(rec.Err.Field)
		}
		run.finish(res)
		return
	}
	req := v.req
	if err := v.err; err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			fe = invalid("", "%s", err.Error())
		}
		res.Status, res.Code, res.Field, res.Reason = BulkInvalid, fe.Code, run.field(fe.Field), run.reason(fe)
		run.finish(res)
		return
	}
	res.Email = req.Email
	if first := run.seenEmail.firstRow(req.Email, func(row int) bool { return run.rowValue(row, false) == req.Email }); first != 0 {
		res.Status, res.Code, res.Field = BulkDuplicateInFile, "duplicate_in_file", "email"
		res.Reason = fmt.Sprintf("duplicate in file: row %d has the same email", first)
		run.finish(res)
		return
	}
	run.seenEmail.insert(req.Email, rec.Row)
	if req.ExternalID != "" {
		if first := run.seenExt.firstRow(req.ExternalID, func(row int) bool { return run.rowValue(row, true) == req.ExternalID }); first != 0 {
			res.Status, res.Code, res.Field = BulkInvalid, "external_id_taken", run.field("externalId")
			res.Reason = fmt.Sprintf("duplicate in file: row %d has the same external id", first)
			run.finish(res)
			return
		}
		run.seenExt.insert(req.ExternalID, rec.Row)
	}
	run.pending = append(run.pending, bulkPending{BulkRowResult: res, ext: req.ExternalID})
	run.batch = append(run.batch, bulkItem{idx: run.base + len(run.pending) - 1, req: req})
}

// bulkRequest maps a record onto an InviteRequest.
func bulkRequest(rec csvimport.Record, opts BulkOptions) InviteRequest {
	req := InviteRequest{
		Email:               rec.Email,
		ExternalID:          rec.ExternalID,
		Metadata:            rec.Metadata,
		Roles:               rec.Roles,
		SendInvitationEmail: opts.SendInvitationEmail,
		InvitedBy:           opts.ActorID,
	}
	if rec.SendInvitationEmail != nil {
		req.SendInvitationEmail = rec.SendInvitationEmail
	}
	if rec.FirstName != "" || rec.LastName != "" || rec.Name != "" || rec.Locale != "" || rec.PhoneNumber != "" ||
		rec.ProfileMetadata != nil || rec.CustomAttributes != nil {
		req.UserProfile = &ProfileInput{
			FirstName:        rec.FirstName,
			LastName:         rec.LastName,
			Name:             rec.Name,
			Locale:           rec.Locale,
			PhoneNumber:      rec.PhoneNumber,
			Metadata:         rec.ProfileMetadata,
			CustomAttributes: rec.CustomAttributes,
		}
	}
	return req
}

// csvFields maps the JSON API's field names to CSV column names.
var csvFields = map[string]string{
	"externalId":              "external_id",
	"userProfile.firstName":   "first_name",
	"userProfile.lastName":    "last_name",
	"userProfile.name":        "name",
	"userProfile.locale":      "locale",
	"userProfile.phoneNumber": "phone_number",
}

// field names a field the way the input does (CSV columns or JSON fields).
func (run *bulkRun) field(f string) string {
	if run.opts.Format != BulkFormatCSV {
		return f
	}
	if strings.HasPrefix(f, "roles") {
		return "roles"
	}
	if c, ok := csvFields[f]; ok {
		return c
	}
	return f
}

// reason is a FieldError's message in the input's vocabulary.
func (run *bulkRun) reason(fe *FieldError) string {
	msg := fe.Message
	if run.opts.Format == BulkFormatCSV && fe.Field != "" {
		if c := run.field(fe.Field); c != fe.Field {
			msg = strings.Replace(msg, fe.Field, c, 1)
		}
	}
	return msg
}

// shortCell bounds a raw cell echoed in a result.
func shortCell(s string) string {
	const max = 254
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// flush resolves the queued rows (lookups, policy) and hands the ones to
// write to a writer. Writing is pipelined: batches are written in the
// background while the next one is read, validated and built; at most
// opts.Writers batches are in flight.
func (run *bulkRun) flush(ctx context.Context) error {
	if len(run.batch) == 0 {
		if run.settle() {
			run.progress(BulkPhaseImporting)
		}
		return nil
	}
	if err := ctx.Err(); err != nil {
		return run.abort(ctx, err)
	}
	if run.spoolErr == nil {
		run.spoolErr = cmp.Or(run.seenEmail.err, run.seenExt.err)
	}
	if run.spoolErr != nil {
		return run.abort(ctx, run.spoolErr)
	}
	if err := run.lookup(ctx); err != nil {
		return run.abort(ctx, err)
	}
	// Rows settled by the lookup or the policy leave the batch; held rows
	// are written one by one (approvals.go: bulkHold).
	din, err := run.s.decisionInputs(WithSurface(ctx, SurfaceBulk), run.org, run.opts.ActorID, false)
	if err != nil {
		return run.abort(ctx, err)
	}
	keep := run.batch[:0]
	for _, it := range run.batch {
		r := run.res(it.idx)
		if r.Status != "" {
			continue
		}
		d, err := run.s.decide(ctx, din, run.org, it.req, it.existing)
		if err == nil && d.roles != nil {
			it.req.Roles = d.roles
		}
		if err == nil && d.hold {
			err = run.bulkHold(ctx, din, it, d)
		}
		if err != nil {
			if !run.refused(r, err) {
				return run.abort(ctx, err)
			}
			continue
		}
		if !d.hold {
			keep = append(keep, it)
		}
	}
	run.batch = keep
	if run.opts.DryRun {
		for _, it := range run.batch {
			r := run.res(it.idx)
			r.Status, r.MembershipStatus = BulkCreated, bulkMembershipStatus(it.req)
		}
		run.batch = run.batch[:0]
		run.settle()
		run.progress(BulkPhaseImporting)
		return nil
	}
	w := &bulkWrite{items: slices.Clone(run.batch), idx: make([]int, len(run.batch)), done: make(chan struct{})}
	for i, it := range run.batch {
		w.idx[i] = it.idx
	}
	clear(run.batch)
	run.batch = run.batch[:0]
	for len(run.inflight) >= run.opts.Writers {
		if err := run.waitOldest(ctx); err != nil {
			return run.abort(ctx, err)
		}
		if run.settle() {
			run.progress(BulkPhaseImporting)
		}
	}
	if err := ctx.Err(); err != nil {
		return run.abort(ctx, err)
	}
	run.inflight = append(run.inflight, w)
	now := run.s.now()
	go func() {
		// The params are built here, in the writer, so that building this
		// batch overlaps with reading the next one.
		if w.err = run.buildParams(w, now); w.err != nil {
			close(w.done)
			return
		}
		run.s.writeBatch(ctx, w)
	}()
	return nil
}

// buildParams builds the store params of w's items into w.ps, on up to
// GOMAXPROCS goroutines (tokens, sealing and ids cost a few µs a row). It
// reads only what does not change during an import.
func (run *bulkRun) buildParams(w *bulkWrite, now time.Time) error {
	n := len(w.items)
	w.ps = make([]store.CreateMembershipParams, n)
	parts := min(runtime.GOMAXPROCS(0), max(1, n/64))
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				it := &w.items[i]
				ps, err := run.s.bulkParams(run.org, it.req, it.existing, run.inviterName, now)
				if err != nil {
					errs[p] = err
					return
				}
				w.ps[i] = ps
			}
		})
	}
	wg.Wait()
	w.items = nil
	return errors.Join(errs...)
}

// bulkWrite is one batch handed to the writer goroutine.
type bulkWrite struct {
	items   []bulkItem // the rows, until their params are built
	idx     []int      // report indices of the items
	ps      []store.CreateMembershipParams
	results []store.BatchResult // set by the writer
	// err: the batch failed. Without partial nothing was written; with
	// partial (row-by-row fallback) results holds the rows done before.
	err     error
	partial bool
	done    chan struct{}
}

// writeBatch writes w (in its own goroutine; it touches only w).
//
// A batch the store refuses as a whole (nothing of it is written) for a
// reason other than the connection or ctx — one row it cannot keep, say —
// is decided again row by row, so that its good rows land and only the
// bad one fails, with its field. Only when every row fails on its own as
// well is the store failing, and the import stops with the batch's error.
func (s *Service) writeBatch(ctx context.Context, w *bulkWrite) {
	defer close(w.done)
	bc, ok := s.st.(store.BatchCreator)
	if !ok {
		s.writeRows(ctx, w) // no batch capability: one atomic CreateMembership per row
		return
	}
	w.results, w.err = bc.CreateMemberships(ctx, w.ps)
	if w.err == nil && len(w.results) != len(w.ps) {
		w.err = fmt.Errorf("invite: bulk: store returned %d results for %d items", len(w.results), len(w.ps))
		return // something may be written: never write it again
	}
	if w.err == nil || storeUnreachable(ctx, w.err) {
		return
	}
	batchErr := w.err
	s.log.WarnContext(ctx, "invite: bulk batch refused, deciding its rows one by one", "rows", len(w.ps), "err", batchErr)
	s.writeRows(ctx, w)
	if w.err == nil && !slices.ContainsFunc(w.results, func(r store.BatchResult) bool { return !rowRefused(r.Err) }) {
		w.err = batchErr // not one row could be written: the store fails
	}
}

// writeRows writes w one atomic CreateMembership per row, until ctx ends
// or the store cannot be reached.
func (s *Service) writeRows(ctx context.Context, w *bulkWrite) {
	w.partial, w.err = true, nil
	w.results = make([]store.BatchResult, 0, len(w.ps))
	for _, p := range w.ps {
		if err := ctx.Err(); err != nil {
			w.err = err
			return
		}
		res, err := s.st.CreateMembership(ctx, p)
		if err != nil && storeUnreachable(ctx, err) {
			w.err = err
			if ctx.Err() != nil {
				w.err = ctx.Err()
			}
			return
		}
		w.results = append(w.results, store.BatchResult{CreateMembershipResult: res, Err: err})
	}
}

// storeUnreachable reports whether err says that ctx ended or that the
// store could not be reached (a network error, a bad or lost connection):
// then trying the rows again one by one would only fail again.
func storeUnreachable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || isCancel(err) {
		return true
	}
	var ne net.Error
	return errors.Is(err, store.ErrUnavailable) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded)
}

// rowRefused reports whether a row's write failed for a reason that is
// not one of the row outcomes a store reports per item.
func rowRefused(err error) bool {
	return err != nil && !errors.Is(err, store.ErrAlreadyMember) && !errors.Is(err, store.ErrExternalIDTaken) &&
		!errors.Is(err, store.ErrNotFound)
}

// waitOldest waits for the oldest batch in flight (if any) and records
// its results.
func (run *bulkRun) waitOldest(ctx context.Context) error {
	if len(run.inflight) == 0 {
		return nil
	}
	w := run.inflight[0]
	<-w.done
	run.inflight[0] = nil
	run.inflight = run.inflight[1:]
	for i, idx := range w.idx {
		r := run.res(idx)
		switch {
		case i < len(w.results) && (w.err == nil || w.partial):
			run.record(ctx, r, w.ps[i], w.results[i].CreateMembershipResult, w.results[i].Err)
		default:
			r.Status, r.Code, r.Reason = BulkFailed, "internal", "not written: the import stopped"
		}
	}
	if w.err != nil {
		first, last := run.res(w.idx[0]).Row, run.res(w.idx[len(w.idx)-1]).Row
		if isCancel(w.err) {
			return w.err
		}
		return fmt.Errorf("invite: bulk: batch of rows %d–%d not written: %w", first, last, w.err)
	}
	return nil
}

// abort stops the import on err: the batches in flight are waited for and
// recorded (a later batch may have been written although an earlier one
// failed), the unsettled rows are dropped from the report. A store error
// is reported rather than the cancellation it caused.
func (run *bulkRun) abort(ctx context.Context, err error) error {
	for len(run.inflight) > 0 {
		if werr := run.waitOldest(ctx); werr != nil && (err == nil || isCancel(err)) && !isCancel(werr) {
			err = werr
		}
	}
	run.dropUnsettled()
	return err
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// finishWrites waits for the last batches and settles everything.
func (run *bulkRun) finishWrites(ctx context.Context) error {
	for len(run.inflight) > 0 {
		if err := run.waitOldest(ctx); err != nil {
			return run.abort(ctx, err)
		}
		if run.settle() {
			run.progress(BulkPhaseImporting)
		}
	}
	if run.settle() {
		run.progress(BulkPhaseImporting)
	}
	if run.spoolErr == nil {
		run.spoolErr = cmp.Or(run.seenEmail.err, run.seenExt.err)
	}
	if run.spoolErr != nil {
		return run.abort(ctx, run.spoolErr)
	}
	return nil
}

// settle counts the rows that have their final status, in order, up to
// the first row still waiting (queued or in flight), and moves them from
// the window to the report's spool. It reports whether anything was
// counted.
func (run *bulkRun) settle() bool {
	k := 0
	for k < len(run.pending) && run.pending[k].Status != "" {
		p := &run.pending[k]
		if err := run.report.results.appendResult(&p.BulkRowResult, p.ext); err != nil && run.spoolErr == nil {
			run.spoolErr = err
		}
		run.report.Summary.Rows++
		run.report.Summary.add(p.Status)
		k++
	}
	if k == 0 {
		return false
	}
	n := copy(run.pending, run.pending[k:])
	clear(run.pending[n:])
	run.pending = run.pending[:n]
	run.base += k
	return true
}

// dropUnsettled settles what is final and removes the rest from the
// report (the import stops).
func (run *bulkRun) dropUnsettled() {
	run.settle()
	clear(run.pending)
	run.pending = run.pending[:0]
	run.batch = run.batch[:0]
}

func bulkMembershipStatus(req InviteRequest) store.MembershipStatus {
	if pendingMode(req) {
		return store.StatusPendingInvite
	}
	return store.StatusActive
}

// needsLookup reports whether a row needs the existing user before the
// write: a dry run must tell created from already_member; the policy hook
// sees the existing user; an external id must match the existing user's.
// Other rows are resolved by the store inside the batch.
func (run *bulkRun) needsLookup(it bulkItem) bool {
	return run.opts.DryRun || run.s.cfg.BeforeInvite != nil || run.s.cfg.InvitePolicy != nil || it.req.ExternalID != ""
}

// lookup resolves existing users for the rows that need it, concurrently.
func (run *bulkRun) lookup(ctx context.Context) error {
	var todo []int
	for i, it := range run.batch {
		if run.needsLookup(it) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	workers := min(bulkLookupWorkers, len(todo))
	for range workers {
		wg.Go(func() {
			for i := range next {
				it := &run.batch[i]
				existing, err := run.s.existingUser(ctx, run.org.ID, it.req)
				it.looked = true
				it.existing = existing
				r := run.res(it.idx)
				switch {
				case err == nil:
				case errors.Is(err, ErrAlreadyInvited):
					r.Status, r.MembershipStatus, r.Reason = BulkAlreadyMember, store.StatusPendingInvite, "already invited (unchanged)"
				case errors.Is(err, ErrAlreadyMember):
					r.Status, r.Reason = BulkAlreadyMember, "already a member (unchanged)"
				case errors.Is(err, ErrExternalIDTaken):
					r.Status, r.Code, r.Field = BulkInvalid, "external_id_taken", run.field("externalId")
					r.Reason = externalIDReason(err)
				default:
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, i := range todo {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func externalIDReason(err error) string {
	if strings.Contains(err.Error(), "different external id") {
		return "the user with this email has a different external id"
	}
	return "the external id belongs to another user"
}

// record sets the result of a row written with p.
func (run *bulkRun) record(ctx context.Context, r *BulkRowResult, p store.CreateMembershipParams, res store.CreateMembershipResult, err error) {
	switch {
	case err == nil:
		r.Status, r.UserID, r.MembershipStatus = BulkCreated, res.User.ID, res.Membership.Status
		run.s.changed(run.org.ID, res.User.ID)
	case errors.Is(err, store.ErrAlreadyMember):
		r.Status, r.Reason = BulkAlreadyMember, "already a member or invited (unchanged)"
	case errors.Is(err, store.ErrExternalIDTaken):
		r.Status, r.Code, r.Field, r.Reason = BulkInvalid, "external_id_taken", run.field("externalId"), "the external id belongs to another user"
	default:
		run.s.log.ErrorContext(ctx, "invite: bulk row not written", "org_id", run.org.ID, "row", r.Row, "err", err)
		r.Status, r.Code, r.Field, r.Reason = BulkFailed, "store_refused", run.field(refusedField(p)), "not written: the store refused this row"
		var fe *FieldError
		if errors.As(err, &fe) { // a store that says which value it refuses
			r.Code, r.Field, r.Reason = fe.Code, run.field(fe.Field), "not written: "+run.reason(fe)
		}
	}
}

// refusedField names the value of p a store refused, when one breaks the
// text rule (validation refuses such rows before any write, so this is
// defense in depth); "" when none does (the store's error does not say).
func refusedField(p store.CreateMembershipParams) string {
	m := p.Membership
	req := InviteRequest{
		Email: p.User.Email, ExternalID: m.ExternalID, Metadata: m.Metadata, Roles: m.Roles,
		UserProfile: &ProfileInput{
			FirstName: m.Profile.FirstName, LastName: m.Profile.LastName, Name: m.Profile.Name, Locale: m.Profile.Locale,
			PhoneNumber: m.Profile.PhoneNumber, Metadata: m.Profile.Metadata, CustomAttributes: m.Profile.CustomAttributes,
		},
	}
	var fe *FieldError
	if errors.As(checkText(&req, ""), &fe) {
		return fe.Field
	}
	return ""
}

// bulkParams builds what CreateUserAndMembership would write (see
// Service.createParams), tagging the event with source "bulk"; the inviter's
// name is looked up once per import instead of once per row.
func (s *Service) bulkParams(org store.Organization, req InviteRequest, existing *store.User, inviterName string, now time.Time) (store.CreateMembershipParams, error) {
	p, _, err := s.createParams(org, req, existing, inviterName, now)
	if err != nil {
		return p, err
	}
	p.Event.Data["source"] = "bulk"
	return p, nil
}
