package inviteapi

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// Defaults of BulkJobsConfig.
const (
	DefaultBulkJobRetention     = time.Hour
	DefaultBulkJobsKept         = 20
	DefaultBulkJobsRunning      = 2
	DefaultBulkJobsKeptTotal    = 1000
	DefaultBulkJobsRunningTotal = 8
)

// BulkJobsConfig configures NewBulkJobs. The zero value is safe.
type BulkJobsConfig struct {
	// Retention is how long a finished job (its status, report and, for a
	// dry run, its spooled input) is kept (default 1h).
	Retention time.Duration
	// MaxJobs bounds the finished jobs kept per organization (default
	// 20); the organization's oldest go first. A finished job keeps its
	// report's results in a temporary file (about 100 bytes a row; in
	// memory up to 256 KiB) and, for a dry run, its input in another.
	// No organization's jobs evict another's.
	MaxJobs int
	// MaxRunning bounds the imports one organization runs at once
	// (default 2); Start returns ErrBulkBusy (429) beyond it. No
	// organization's imports block another's.
	MaxRunning int
	// MaxJobsTotal is the global cap on finished jobs kept, for memory
	// (default 1000). When it is reached, the organization keeping the
	// most finished jobs loses its oldest one.
	MaxJobsTotal int
	// MaxRunningTotal is the global cap on imports running at once
	// (default 8, at least MaxRunning). Beyond it every Start is ErrBulkBusy
	// until one ends; since one organization runs at most MaxRunning, it
	// takes several organizations to fill it.
	MaxRunningTotal int
	// TempDir is where inputs are spooled ("" = os.TempDir()).
	TempDir string
	// Logger (default: the invite.Service's logger).
	Logger *slog.Logger
}

// BulkJobState is the state of a bulk job.
type BulkJobState string

// Job states.
const (
	BulkJobRunning  BulkJobState = "running"
	BulkJobDone     BulkJobState = "done"
	BulkJobFailed   BulkJobState = "failed"
	BulkJobCanceled BulkJobState = "canceled"
)

// BulkJobStatus is a snapshot of a job, as the status endpoint returns it.
type BulkJobStatus struct {
	ID             string       `json:"id"`
	OrganizationID string       `json:"organizationId"`
	State          BulkJobState `json:"state"`
	DryRun         bool         `json:"dryRun"`
	Format         string       `json:"format"`
	// FileName is the uploaded file's name, for display only.
	FileName string              `json:"fileName,omitempty"`
	ActorID  string              `json:"actorId,omitempty"`
	Progress invite.BulkProgress `json:"progress"`
	// Error is set when State is failed: what stopped the import, safe to
	// show (the report holds the rows done before).
	Error     *APIError  `json:"error,omitempty"`
	StartTime time.Time  `json:"startTime"`
	EndTime   *time.Time `json:"endTime,omitempty"`
	// Confirmable is true for a finished dry run whose input is still kept:
	// Confirm imports it for real without a new upload.
	Confirmable bool `json:"confirmable"`
}

// Finished reports whether the job ended (in any way).
func (st BulkJobStatus) Finished() bool { return st.State != BulkJobRunning }

// BulkJobs runs bulk imports in the background of this process and keeps
// their status and reports for a while, so that a page can poll progress
// and download results. Jobs are scoped by organization: every lookup
// names the organization, and a job of another organization is
// invite.ErrNotFound. State is in memory: a restart forgets the jobs (rows already
// written stay written; re-uploading is idempotent).
//
// A BulkJobs is safe for concurrent use. Call Close on shutdown: it cancels
// running jobs and waits for them.
type BulkJobs struct {
	svc *invite.Service
	cfg BulkJobsConfig
	log *slog.Logger

	mu      sync.Mutex
	jobs    map[string]*bulkJob
	running map[string]int // organization → running imports
	total   int            // running imports, all organizations
	closed  bool
	wg      sync.WaitGroup
}

type bulkJob struct {
	status BulkJobStatus
	report *invite.BulkReport
	opts   invite.BulkOptions
	input  *invite.BulkInput // kept after a dry run for Confirm; nil otherwise
	cancel context.CancelFunc
	done   chan struct{}
}

// withDefaults fills zero limits and checks the rest.
func (cfg BulkJobsConfig) withDefaults() (BulkJobsConfig, error) {
	if cfg.Retention < 0 || cfg.MaxJobs < 0 || cfg.MaxRunning < 0 || cfg.MaxJobsTotal < 0 || cfg.MaxRunningTotal < 0 {
		return cfg, errors.New("inviteapi: BulkJobsConfig: negative limit")
	}
	cfg.Retention = cmp.Or(cfg.Retention, DefaultBulkJobRetention)
	cfg.MaxJobs = cmp.Or(cfg.MaxJobs, DefaultBulkJobsKept)
	cfg.MaxRunning = cmp.Or(cfg.MaxRunning, DefaultBulkJobsRunning)
	cfg.MaxJobsTotal = max(cmp.Or(cfg.MaxJobsTotal, DefaultBulkJobsKeptTotal), cfg.MaxJobs)
	cfg.MaxRunningTotal = max(cmp.Or(cfg.MaxRunningTotal, DefaultBulkJobsRunningTotal), cfg.MaxRunning)
	return cfg, nil
}

// NewBulkJobs returns a job registry running imports on svc.
func NewBulkJobs(svc *invite.Service, cfg BulkJobsConfig) (*BulkJobs, error) {
	if svc == nil {
		return nil, errors.New("inviteapi: NewBulkJobs: nil Service")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = svc.Logger()
	}
	return &BulkJobs{svc: svc, cfg: cfg, log: cfg.Logger, jobs: make(map[string]*bulkJob), running: make(map[string]int)}, nil
}

// Start checks src (limits, header: a fatal problem is returned at once,
// nothing written), copies it to a temporary file, and imports it in the
// background. It returns the new job's status; poll Status for progress.
// The caller may close src when Start returns. opts.TempDir is ignored
// (BulkJobsConfig.TempDir is used); opts.Progress is called from the job's
// goroutine.
func (j *BulkJobs) Start(ctx context.Context, orgID string, src io.Reader, opts invite.BulkOptions) (BulkJobStatus, error) {
	return j.StartNamed(ctx, orgID, "", src, opts)
}

// StartNamed is Start with a file name shown in the status.
func (j *BulkJobs) StartNamed(ctx context.Context, orgID, fileName string, src io.Reader, opts invite.BulkOptions) (BulkJobStatus, error) {
	opts, err := opts.WithDefaults()
	if err != nil {
		return BulkJobStatus{}, err
	}
	opts.TempDir = j.cfg.TempDir
	org, err := j.svc.Organization(ctx, orgID)
	if err != nil {
		return BulkJobStatus{}, err
	}
	if err := j.reserve(orgID); err != nil {
		return BulkJobStatus{}, err
	}
	// Hide any Seek method: the job outlives the caller's reader, so the
	// input is always copied.
	in, err := invite.PrepareBulk(ctx, struct{ io.Reader }{src}, opts)
	if err != nil {
		j.release(orgID)
		return BulkJobStatus{}, err
	}
	return j.launch(org, fileName, in, opts), nil
}

// Confirm imports the input of a finished dry run for real, as a new job
// with the dry run's options (what was previewed is what is imported; no
// new upload), acted by actorID. It returns invite.ErrNotFound when the job is
// unknown or its input is gone (already confirmed, or past retention), and
// invite.ErrWrongStatus when it is not a finished dry run.
func (j *BulkJobs) Confirm(ctx context.Context, orgID, dryRunJobID, actorID string) (BulkJobStatus, error) {
	j.mu.Lock()
	job, ok := j.jobs[dryRunJobID]
	if !ok || job.status.OrganizationID != orgID {
		j.mu.Unlock()
		return BulkJobStatus{}, invite.ErrNotFound
	}
	if !job.status.Confirmable || job.input == nil {
		j.mu.Unlock()
		if job.status.DryRun && job.status.State == BulkJobDone {
			return BulkJobStatus{}, invite.ErrNotFound
		}
		return BulkJobStatus{}, invite.ErrWrongStatus
	}
	in := job.input
	job.input = nil
	job.status.Confirmable = false
	fileName, opts := job.status.FileName, job.opts
	j.mu.Unlock()

	opts.DryRun, opts.ActorID, opts.Progress = false, actorID, nil
	err := in.Rewind()
	var org store.Organization
	if err == nil {
		org, err = j.svc.Organization(ctx, orgID)
	}
	if err == nil {
		err = j.reserve(orgID)
	}
	if err != nil {
		// Give the input back so the confirmation can be retried.
		j.mu.Lock()
		if cur, ok := j.jobs[dryRunJobID]; ok && cur.input == nil {
			cur.input, cur.status.Confirmable = in, true
		} else {
			in.Close()
		}
		j.mu.Unlock()
		return BulkJobStatus{}, err
	}
	return j.launch(org, fileName, in, opts), nil
}

// reserve takes a running slot of orgID.
func (j *BulkJobs) reserve(orgID string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("inviteapi: bulk jobs closed")
	}
	if j.running[orgID] >= j.cfg.MaxRunning || j.total >= j.cfg.MaxRunningTotal {
		return ErrBulkBusy
	}
	j.running[orgID]++
	j.total++
	j.wg.Add(1)
	return nil
}

func (j *BulkJobs) release(orgID string) {
	j.mu.Lock()
	if j.running[orgID]--; j.running[orgID] == 0 {
		delete(j.running, orgID)
	}
	j.total--
	j.mu.Unlock()
	j.wg.Done()
}

// launch registers the job and runs it in a goroutine (a slot is reserved).
func (j *BulkJobs) launch(org store.Organization, fileName string, in *invite.BulkInput, opts invite.BulkOptions) BulkJobStatus {
	ctx, cancel := context.WithCancel(context.Background())
	job := &bulkJob{
		opts:   opts,
		cancel: cancel,
		done:   make(chan struct{}),
		status: BulkJobStatus{
			ID:             store.NewID("job"),
			OrganizationID: org.ID,
			State:          BulkJobRunning,
			DryRun:         opts.DryRun,
			Format:         opts.Format,
			FileName:       fileName,
			ActorID:        opts.ActorID,
			Progress:       invite.BulkProgress{Phase: invite.BulkPhaseImporting, TotalRows: in.Rows()},
			StartTime:      j.svc.Now(),
		},
	}
	userProgress := opts.Progress
	job.opts.Progress = nil
	opts.Progress = func(p invite.BulkProgress) {
		j.mu.Lock()
		job.status.Progress = p
		j.mu.Unlock()
		if userProgress != nil {
			userProgress(p)
		}
	}
	j.mu.Lock()
	j.pruneLocked(org.ID)
	j.jobs[job.status.ID] = job
	status := job.status
	j.mu.Unlock()

	go func() {
		defer j.release(org.ID)
		defer close(job.done)
		defer cancel()
		report, err := j.svc.RunBulk(ctx, org, in, opts)
		keep := opts.DryRun && err == nil
		if !keep {
			in.Close()
		}
		end := j.svc.Now()
		j.mu.Lock()
		defer j.mu.Unlock()
		job.report = report
		job.status.EndTime = &end
		if report != nil {
			job.status.Progress.Summary = report.Summary
			job.status.Progress.Rows = report.Summary.Rows
		}
		switch {
		case err == nil:
			job.status.State = BulkJobDone
			job.status.Progress.Phase = invite.BulkPhaseDone
		case errors.Is(err, context.Canceled):
			job.status.State = BulkJobCanceled
		default:
			job.status.State = BulkJobFailed
			e := httpx.ErrorJSONOf(err)
			job.status.Error = &e
		}
		if keep {
			if j.closed {
				in.Close()
			} else {
				job.input = in
				job.status.Confirmable = true
			}
		}
	}()
	return status
}

// pruneLocked drops finished jobs past retention. Making room for a new
// job of orgID (orgID != ""), it then drops orgID's oldest finished jobs
// beyond MaxJobs, and, while the total is at MaxJobsTotal, the oldest
// finished job of the organization that keeps the most.
func (j *BulkJobs) pruneLocked(orgID string) {
	now := j.svc.Now()
	byOrg := map[string][]*bulkJob{}
	total := 0
	for id, job := range j.jobs {
		if job.status.EndTime == nil {
			continue
		}
		if now.Sub(*job.status.EndTime) > j.cfg.Retention {
			j.dropLocked(id, job)
			continue
		}
		byOrg[job.status.OrganizationID] = append(byOrg[job.status.OrganizationID], job)
		total++
	}
	if orgID == "" {
		return
	}
	for _, list := range byOrg {
		sort.Slice(list, func(a, b int) bool { return list[a].status.EndTime.Before(*list[b].status.EndTime) })
	}
	drop := func(org string) {
		job := byOrg[org][0]
		byOrg[org] = byOrg[org][1:]
		j.dropLocked(job.status.ID, job)
		total--
	}
	for len(byOrg[orgID]) >= j.cfg.MaxJobs {
		drop(orgID)
	}
	for total >= j.cfg.MaxJobsTotal {
		biggest := orgID
		for org, list := range byOrg {
			if len(list) > len(byOrg[biggest]) || (len(list) == len(byOrg[biggest]) && org < biggest) {
				biggest = org
			}
		}
		if len(byOrg[biggest]) == 0 {
			return
		}
		drop(biggest)
	}
}

func (j *BulkJobs) dropLocked(id string, job *bulkJob) {
	if job.input != nil {
		job.input.Close()
		job.input = nil
	}
	job.report.Close() // its spool file; a download already under way finishes
	delete(j.jobs, id)
}

// get returns the job of orgID, or nil.
func (j *BulkJobs) getLocked(orgID, jobID string) *bulkJob {
	job, ok := j.jobs[jobID]
	if !ok || job.status.OrganizationID != orgID {
		return nil
	}
	return job
}

// Status returns a job's status, or invite.ErrNotFound (also for a job of another
// organization).
func (j *BulkJobs) Status(orgID, jobID string) (BulkJobStatus, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.pruneLocked("")
	job := j.getLocked(orgID, jobID)
	if job == nil {
		return BulkJobStatus{}, invite.ErrNotFound
	}
	return job.status, nil
}

// Report returns a job's status and, once it finished, its report (nil
// while running). The report must not be modified.
func (j *BulkJobs) Report(orgID, jobID string) (*invite.BulkReport, BulkJobStatus, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job := j.getLocked(orgID, jobID)
	if job == nil {
		return nil, BulkJobStatus{}, invite.ErrNotFound
	}
	return job.report, job.status, nil
}

// List returns orgID's jobs, newest first.
func (j *BulkJobs) List(orgID string) []BulkJobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.pruneLocked("")
	var out []BulkJobStatus
	for _, job := range j.jobs {
		if job.status.OrganizationID == orgID {
			out = append(out, job.status)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		return out[a].StartTime.After(out[b].StartTime) || (out[a].StartTime.Equal(out[b].StartTime) && out[a].ID > out[b].ID)
	})
	return out
}

// Wait blocks until the job finished, ctx ended or timeout passed, and
// returns its status.
func (j *BulkJobs) Wait(ctx context.Context, orgID, jobID string, timeout time.Duration) (BulkJobStatus, error) {
	j.mu.Lock()
	job := j.getLocked(orgID, jobID)
	j.mu.Unlock()
	if job == nil {
		return BulkJobStatus{}, invite.ErrNotFound
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-job.done:
	case <-t.C:
	case <-ctx.Done():
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return job.status, nil
}

// Cancel stops a running job (rows of completed batches stay written). It
// returns invite.ErrNotFound or invite.ErrWrongStatus (already finished).
func (j *BulkJobs) Cancel(orgID, jobID string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	job := j.getLocked(orgID, jobID)
	if job == nil {
		return invite.ErrNotFound
	}
	if job.status.State != BulkJobRunning {
		return invite.ErrWrongStatus
	}
	job.cancel()
	return nil
}

// Close cancels running jobs, waits for them and removes kept inputs.
func (j *BulkJobs) Close() error {
	j.mu.Lock()
	j.closed = true
	for _, job := range j.jobs {
		job.cancel()
	}
	j.mu.Unlock()
	j.wg.Wait()
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, job := range j.jobs {
		if job.input != nil {
			job.input.Close()
			job.input = nil
		}
		job.report.Close()
	}
	return nil
}
