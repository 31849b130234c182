package invite

import (
	"context"
	"io"
	"time"

	"github.com/invitekit/invitekit/invite/csvimport"
	"github.com/invitekit/invitekit/store"
)

// Bulk import: Service.BulkInvite reads a CSV or JSON-lines file of people
// (see package csvimport for the columns), validates every row with the
// same rules as CreateUserAndMembership, and invites the valid ones in
// batches (store.BatchCreator, one transaction per batch of
// BulkOptions.BatchSize rows) — not row by row through the single-invite
// path. Each invitation mail is queued in the outbox in the same
// transaction as its membership; the mailer's outbox dispatcher delivers
// them at its own pace (throttled by mailer.DispatcherConfig.RateLimit),
// so a 100,000-row import never blocks on SMTP.
//
// Every row gets a BulkRowResult. Re-uploading the same file is idempotent:
// rows whose person already has a membership in the organization (pending,
// active or inactive) report already_member and change nothing.

// Bulk input formats.
const (
	BulkFormatCSV   = csvimport.FormatCSV   // "csv"
	BulkFormatJSONL = csvimport.FormatJSONL // "jsonl"
)

// Bulk defaults and bounds.
const (
	DefaultBulkBatchSize = 1000
	MaxBulkBatchSize     = 10000
	DefaultBulkWriters   = 2
	MaxBulkWriters       = 16
	DefaultBulkMaxBytes  = csvimport.DefaultMaxBytes // 32 MiB
	DefaultBulkMaxRows   = csvimport.DefaultMaxRows  // 100,000
)

// Errors that refuse a bulk input as a whole (BulkInvite returns them
// wrapped; test with errors.Is). Nothing is written when one of them is
// returned: the whole input is read and checked before the first write.
var (
	// ErrBulkTooLarge: the input is larger than BulkOptions.MaxBytes (413).
	ErrBulkTooLarge = csvimport.ErrTooLarge
	// ErrBulkTooManyRows: more data rows than BulkOptions.MaxRows (413).
	ErrBulkTooManyRows = csvimport.ErrTooManyRows
	// ErrBulkRecordTooLarge: one row is larger than 64 KiB (413).
	ErrBulkRecordTooLarge = csvimport.ErrRecordTooLarge
	// ErrBulkBadHeader: the CSV header is missing, has no email column or
	// names an unknown or duplicate column; the *csvimport.HeaderError in
	// the chain names the column (422).
	ErrBulkBadHeader = csvimport.ErrBadHeader
	// ErrBulkBadFormat: BulkOptions.Format is not "csv" or "jsonl" (415).
	ErrBulkBadFormat = csvimport.ErrBadFormat
)

// BulkOptions configures one BulkInvite call. The zero value imports CSV
// for real, sending invitation emails, with the default limits.
type BulkOptions struct {
	// Format is BulkFormatCSV (default) or BulkFormatJSONL.
	Format string
	// DryRun validates and looks up every row and reports what would
	// happen, writing nothing (no users, memberships, events or mail).
	DryRun bool
	// SendInvitationEmail is the default for rows that do not say (nil =
	// true): true invites (PENDING_INVITE + mail), false adds people
	// directly as ACTIVE without an invitation. A JSON line's own
	// sendInvitationEmail wins.
	SendInvitationEmail *bool
	// ActorID is the importing user's id (InvitedBy, event actor, inviter
	// name in the mails).
	ActorID string
	// MaxRows bounds the data rows (0 = DefaultBulkMaxRows, < 0 = no limit).
	MaxRows int
	// MaxBytes bounds the input size (0 = DefaultBulkMaxBytes, < 0 = no limit).
	MaxBytes int64
	// BatchSize is the number of rows written per transaction
	// (0 = DefaultBulkBatchSize, at most MaxBulkBatchSize).
	BatchSize int
	// Writers is how many batches are written at once, each in its own
	// transaction (0 = DefaultBulkWriters, at most MaxBulkWriters). Rows
	// of different batches never share an email or external id, so the
	// batches do not conflict; a store with one writer (sqlitestore)
	// simply queues them. Results and progress stay in row order.
	Writers int
	// Progress, when set, is called from BulkInvite's goroutine after the
	// input was checked and after every batch. It must not block for long.
	Progress func(BulkProgress)
	// TempDir is where an input that is not an io.ReadSeeker is spooled
	// while it is checked (at most MaxBytes; removed before BulkInvite
	// returns), and where the report's results are spooled (removed by
	// BulkReport.Close); "" means os.TempDir().
	TempDir string
}

// BulkRowStatus is a row's outcome.
type BulkRowStatus string

// Row outcomes. In a dry run, BulkCreated means "would be created".
const (
	BulkCreated         BulkRowStatus = "created"
	BulkAlreadyMember   BulkRowStatus = "already_member"    // unchanged: the person already has a membership
	BulkInvalid         BulkRowStatus = "invalid"           // Field and Reason say why
	BulkRefused         BulkRowStatus = "refused"           // Config.BeforeInvite said no; Reason is its reason
	BulkDuplicateInFile BulkRowStatus = "duplicate_in_file" // an earlier row has the same email
	BulkFailed          BulkRowStatus = "failed"            // not written: the store refused the row (code store_refused), or the import stopped (see the returned error)
	BulkHeld            BulkRowStatus = "held"              // held for approval (PENDING_APPROVAL, no mail); Reason says why
)

// BulkRowResult is one row's outcome. It is kept small (no user objects):
// about 100 bytes a row in the report's spool.
type BulkRowResult struct {
	Row  int `json:"row"`  // 1-based data row (header and blank lines not counted)
	Line int `json:"line"` // 1-based input line where the row starts
	// Email is the normalized email, or the raw (trimmed, shortened) cell
	// when it is invalid.
	Email  string        `json:"email,omitempty"`
	Status BulkRowStatus `json:"status"`
	// UserID is set for created rows (empty in a dry run).
	UserID string `json:"userId,omitempty"`
	// MembershipStatus is the new membership's status for created rows
	// (PENDING_INVITE or ACTIVE), the existing one for already_member rows
	// when known.
	MembershipStatus store.MembershipStatus `json:"membershipStatus,omitempty"`
	// Code is machine-readable for invalid, refused and failed rows
	// (e.g. "invalid_argument", "external_id_taken", "policy_refused").
	Code string `json:"code,omitempty"`
	// Field is the column (CSV) or JSON field (JSON lines) at fault.
	Field string `json:"field,omitempty"`
	// Reason is a human-readable explanation, safe to show.
	Reason string `json:"reason,omitempty"`
}

// BulkSummary counts rows by outcome.
type BulkSummary struct {
	Rows            int `json:"rows"`
	Created         int `json:"created"`
	AlreadyMember   int `json:"alreadyMember"`
	Invalid         int `json:"invalid"`
	Refused         int `json:"refused"`
	DuplicateInFile int `json:"duplicateInFile"`
	Failed          int `json:"failed"`
	Held            int `json:"held"`
}

func (s *BulkSummary) add(st BulkRowStatus) {
	switch st {
	case BulkCreated:
		s.Created++
	case BulkAlreadyMember:
		s.AlreadyMember++
	case BulkInvalid:
		s.Invalid++
	case BulkRefused:
		s.Refused++
	case BulkDuplicateInFile:
		s.DuplicateInFile++
	case BulkFailed:
		s.Failed++
	case BulkHeld:
		s.Held++
	}
}

// BulkReport is the outcome of BulkInvite: a summary and one result per
// data row, in input order. The results are not held in memory: they are
// spooled as the import settles them (in memory up to 256 KiB, about
// 4,000 rows, then in a temporary file in BulkOptions.TempDir) and
// streamed back by Results, WriteCSV and WriteJSON, so a report of
// millions of rows costs a few megabytes of disk and no heap. Close
// removes the file (a report dropped without Close is removed when it is
// garbage collected). A finished report is safe for concurrent readers.
type BulkReport struct {
	OrganizationID string      `json:"organizationId"`
	DryRun         bool        `json:"dryRun"`
	Format         string      `json:"format"`
	Summary        BulkSummary `json:"summary"`
	StartTime      time.Time   `json:"startTime"`
	EndTime        time.Time   `json:"endTime"`

	results *resultSpool // Summary.Rows records
}

// Bulk phases reported in BulkProgress.Phase.
const (
	BulkPhaseChecking  = "checking"  // reading the whole input once (limits, header)
	BulkPhaseImporting = "importing" // validating and writing batches
	BulkPhaseDone      = "done"
)

// BulkProgress is reported through BulkOptions.Progress.
type BulkProgress struct {
	Phase     string      `json:"phase"`
	Rows      int         `json:"rows"`      // rows done so far
	TotalRows int         `json:"totalRows"` // rows in the input (known after checking)
	Summary   BulkSummary `json:"summary"`   // counts so far
}

// BulkInvite imports a CSV or JSON-lines file of people into orgID (see
// BulkOptions and package csvimport for the format).
//
// It first reads the whole input once to check the limits and the header
// (an input that is not an io.ReadSeeker is spooled to a temporary file
// meanwhile, so memory stays flat at any size); a fatal problem
// (ErrBulkTooLarge, ErrBulkTooManyRows, ErrBulkRecordTooLarge,
// ErrBulkBadHeader, ErrBulkBadFormat, ErrNotFound for the organization) is
// returned with a nil report and nothing written. inviteapi.ProblemOf maps
// these errors to an HTTP status, code, field and message.
//
// Then it validates every row (the rules of CreateUserAndMembership),
// marks later rows with an email (or external id) seen earlier in the file
// as duplicates, looks up existing people where needed, consults
// Config.BeforeInvite, and writes the rest in batches of BatchSize rows,
// one transaction each (store.BatchCreator; other stores get one atomic
// CreateMembership per row). Building a batch overlaps with writing the
// previous one. A bad row never stops the good rows: a batch the store
// refuses for a reason other than a lost connection is decided again row
// by row, so its good rows land and a row the store will not keep is
// reported failed (code store_refused, with the field when one breaks the
// text rule).
//
// Store reads per row: none for a plain row (the batch write itself finds
// existing users and memberships); one or two when the row has an
// external id, when Config.BeforeInvite is set (the hook sees the existing
// user), and in a dry run (to tell created from already_member). They run
// eight at a time.
//
// The returned error is non-nil only when the import could not finish (the
// store cannot be reached or fails every row, or ctx ended, besides the
// input errors above). The report
// then holds the rows settled before: rows of written batches, and the
// rows of the batch in flight as failed (not written) unless the store
// finished it; later rows are not in the report. Uploading the same file
// again completes the import without duplicates.
//
// OnMembershipChange is called once per created row. Safe for concurrent
// use; several imports may run at once.
func (s *Service) BulkInvite(ctx context.Context, orgID string, src io.Reader, opts BulkOptions) (*BulkReport, error) {
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	org, err := s.Organization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	in, err := PrepareBulk(ctx, src, opts)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return s.RunBulk(ctx, org, in, opts)
}
