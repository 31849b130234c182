package inviteapi

import (
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/csvimport"
	"github.com/invitekit/invitekit/store"
)

// ActionBulkImport is the Authorizer action of the bulk routes (import,
// job status, job report).
const ActionBulkImport Action = "members.bulk_import"

// Media types of bulk input and streamed progress.
const (
	MediaTypeCSV    = "text/csv"
	MediaTypeNDJSON = "application/x-ndjson"
)

// BulkHandlerConfig configures NewBulkHandler. Its zero value is safe.
type BulkHandlerConfig struct {
	// MaxBytes and MaxRows bound one upload (defaults invite.DefaultBulkMaxBytes
	// and invite.DefaultBulkMaxRows); BatchSize and Writers as in invite.BulkOptions.
	MaxBytes  int64
	MaxRows   int
	BatchSize int
	Writers   int
	// Jobs, when set, enables ?async=true (202 + a job to poll) and the
	// job routes.
	Jobs *BulkJobs
	// TempDir is where synchronous uploads are spooled ("" = os.TempDir()).
	TempDir string
	// Logger (default: the Service's logger).
	Logger *slog.Logger
	// CrossOrigin configures the cross-origin protection (as in
	// HandlerConfig).
	CrossOrigin CrossOrigin
	// RateLimits bounds imports per organization and per actor: each
	// upload and each confirm counts as one invitation event (the zero
	// value: the defaults, see RateLimits; ResendsPerInvitation is unused).
	RateLimits RateLimits
}

// BulkHandler is the JSON API for bulk invitations. It serves, at the root
// (or under a prefix through Routes):
//
//	POST /organizations/{orgID}/users:bulk                       import a file (report JSON)
//	GET  /organizations/{orgID}/users:bulk/jobs                   list jobs (with Config.Jobs)
//	GET  /organizations/{orgID}/users:bulk/jobs/{jobID}           job status
//	GET  /organizations/{orgID}/users:bulk/jobs/{jobID}/report    job report (?format=csv|json)
//	POST /organizations/{orgID}/users:bulk/jobs/{jobID}/cancel    cancel a running job
//	POST /organizations/{orgID}/users:bulk/jobs/{jobID}/confirm   import a finished dry run for real
//
// The import body is the file itself: Content-Type text/csv or
// application/x-ndjson (also application/jsonl). Query parameters:
// dryRun=true, sendInvitationEmail=false, async=true (needs Jobs). The
// answer is the invite.BulkReport as JSON (200), as CSV with Accept: text/csv, or
// — with Accept: application/x-ndjson — a stream of {"progress": …} lines
// after every batch and a final {"report": …} line. Errors use the JSON
// API's shape {"error": {"code", "message", "field"}} (see
// ProblemOf). Every request is authorized with ActionBulkImport
// before the body is read. Mount it beside Handler.
type BulkHandler struct {
	svc    *invite.Service
	authz  Authorizer
	cfg    BulkHandlerConfig
	log    *slog.Logger
	cop    *http.CrossOriginProtection
	mux    *http.ServeMux
	limits *ratelimit.Invites
}

// withDefaults checks the settings and fills the logger.
func (cfg BulkHandlerConfig) withDefaults(svc *invite.Service) (BulkHandlerConfig, error) {
	if _, err := (invite.BulkOptions{BatchSize: cfg.BatchSize, Writers: cfg.Writers}).WithDefaults(); err != nil {
		return cfg, err
	}
	if cfg.Logger == nil {
		cfg.Logger = svc.Logger()
	}
	return cfg, nil
}

// NewBulkHandler returns the bulk JSON API. authz is required.
func NewBulkHandler(svc *invite.Service, authz Authorizer, cfg BulkHandlerConfig) (*BulkHandler, error) {
	if err := checkDeps(svc, authz); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults(svc)
	if err != nil {
		return nil, err
	}
	h := &BulkHandler{svc: svc, authz: authz, cfg: cfg, log: cfg.Logger, cop: cfg.CrossOrigin.Checker()}
	if h.limits, err = newInviteLimits("BulkHandlerConfig", cfg.RateLimits, svc); err != nil {
		return nil, err
	}
	h.mux = http.NewServeMux()
	h.Routes(h.mux, "")
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { WriteError(w, invite.ErrNotFound) })
	return h, nil
}

// ServeHTTP serves the routes at the root.
func (h *BulkHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Routes registers the bulk routes on mux under prefix ("" or "/api").
func (h *BulkHandler) Routes(mux Router, prefix string) {
	base := httpx.JoinPath(prefix, "/organizations/{orgID}/users:bulk")
	mux.Handle(base, h.method(http.MethodPost, h.importFile))
	mux.Handle(base+"/jobs", h.method(http.MethodGet, h.listJobs))
	mux.Handle(base+"/jobs/{jobID}", h.method(http.MethodGet, h.jobStatus))
	mux.Handle(base+"/jobs/{jobID}/report", h.method(http.MethodGet, h.jobReport))
	mux.Handle(base+"/jobs/{jobID}/cancel", h.method(http.MethodPost, h.cancelJob))
	mux.Handle(base+"/jobs/{jobID}/confirm", h.method(http.MethodPost, h.confirmJob))
}

// method allows one method (and HEAD for GET), checks cross-origin
// requests and authorizes.
func (h *BulkHandler) method(method string, fn func(w http.ResponseWriter, r *http.Request, orgID, actor string)) http.Handler {
	return httpx.Methods(httpx.WithHead(map[string]http.HandlerFunc{method: func(w http.ResponseWriter, r *http.Request) {
		if err := httpx.Check(h.cop, r); err != nil {
			h.fail(w, r, err)
			return
		}
		orgID := httpx.OrgID(r)
		actor, err := authorize(h.log, h.authz, r, orgID, ActionBulkImport)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		fn(w, r, orgID, actor)
	}}), h.fail)
}

func (h *BulkHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	logServerError(h.log, r, err)
	WriteError(w, err)
}

// bulkFormat maps a Content-Type to a invite.BulkOptions.Format.
func bulkFormat(contentType string) (string, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", invite.ErrBulkBadFormat
	}
	switch mt {
	case MediaTypeCSV, "application/csv":
		return invite.BulkFormatCSV, nil
	case MediaTypeNDJSON, "application/jsonl", "application/x-jsonlines", "application/jsonlines":
		return invite.BulkFormatJSONL, nil
	}
	return "", invite.ErrBulkBadFormat
}

// queryBool reads an optional boolean query parameter.
func queryBool(r *http.Request, name string) (value, set bool, err error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, false, nil
	}
	b, perr := strconv.ParseBool(v)
	if perr != nil {
		return false, false, store.Invalid(name, "%s must be true or false", name)
	}
	return b, true, nil
}

// options reads the import's options from the request.
func (h *BulkHandler) options(r *http.Request, actor string) (invite.BulkOptions, error) {
	format, err := bulkFormat(r.Header.Get("Content-Type"))
	if err != nil {
		return invite.BulkOptions{}, err
	}
	opts := invite.BulkOptions{
		Format: format, ActorID: actor, MaxBytes: h.cfg.MaxBytes, MaxRows: h.cfg.MaxRows,
		BatchSize: h.cfg.BatchSize, Writers: h.cfg.Writers, TempDir: h.cfg.TempDir,
	}
	if opts.DryRun, _, err = queryBool(r, "dryRun"); err != nil {
		return opts, err
	}
	send, set, err := queryBool(r, "sendInvitationEmail")
	if err != nil {
		return opts, err
	}
	if set {
		opts.SendInvitationEmail = &send
	}
	return opts, nil
}

func (h *BulkHandler) importFile(w http.ResponseWriter, r *http.Request, orgID, actor string) {
	if err := limited(h.limits.Invite(orgID, actor)); err != nil {
		h.fail(w, r, err)
		return
	}
	opts, err := h.options(r, actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	max := opts.MaxBytes
	if max == 0 {
		max = invite.DefaultBulkMaxBytes
	}
	if max > 0 && r.ContentLength > max {
		h.fail(w, r, &csvimport.LimitError{Err: csvimport.ErrTooLarge, Limit: max})
		return
	}
	async, _, err := queryBool(r, "async")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if async {
		if h.cfg.Jobs == nil {
			h.fail(w, r, store.Invalid("async", "async imports are not enabled on this server"))
			return
		}
		st, err := h.cfg.Jobs.Start(r.Context(), orgID, r.Body, opts)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Location", strings.TrimSuffix(r.URL.Path, "/")+"/jobs/"+st.ID)
		h.write(w, r, http.StatusAccepted, st)
		return
	}
	accept := preferredType(r.Header.Get("Accept"))
	if accept == MediaTypeNDJSON {
		h.streamImport(w, r, orgID, opts)
		return
	}
	report, err := h.svc.BulkInvite(r.Context(), orgID, r.Body, opts)
	defer report.Close()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeReport(w, r, report, accept == MediaTypeCSV)
}

// preferredType picks text/csv or application/x-ndjson when the Accept
// header names one of them before application/json; "" otherwise.
func preferredType(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case MediaTypeCSV, MediaTypeNDJSON:
			return mt
		case "application/json", "*/*":
			return ""
		}
	}
	return ""
}

func (h *BulkHandler) writeReport(w http.ResponseWriter, r *http.Request, report *invite.BulkReport, asCSV bool) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	var err error
	if asCSV {
		hd.Set("Content-Type", "text/csv; charset=utf-8")
		hd.Set("Content-Disposition", `attachment; filename="import-results.csv"`)
		w.WriteHeader(http.StatusOK)
		err = report.WriteCSV(w)
	} else {
		hd.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		err = report.WriteJSON(w)
	}
	if err != nil {
		h.log.DebugContext(r.Context(), "inviteapi: write bulk report", "err", err)
	}
}

func (h *BulkHandler) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	writeJSON(h.log, w, r, status, v)
}

// streamImport answers with NDJSON: progress lines, then the report (or
// an error line once the stream has started).
func (h *BulkHandler) streamImport(w http.ResponseWriter, r *http.Request, orgID string, opts invite.BulkOptions) {
	rc := http.NewResponseController(w)
	var (
		mu      sync.Mutex
		started bool
		enc     = json.NewEncoder(w)
	)
	start := func() {
		if !started {
			started = true
			w.Header().Set("Content-Type", MediaTypeNDJSON+"; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
		}
	}
	opts.Progress = func(p invite.BulkProgress) {
		mu.Lock()
		defer mu.Unlock()
		start()
		_ = enc.Encode(struct {
			Progress invite.BulkProgress `json:"progress"`
		}{p})
		_ = rc.Flush()
	}
	report, err := h.svc.BulkInvite(r.Context(), orgID, r.Body, opts)
	mu.Lock()
	defer mu.Unlock()
	if err != nil && !started {
		h.fail(w, r, err)
		return
	}
	start()
	defer report.Close()
	// The last line is {"report":…} (or {"error":…,"report":…}), its
	// results streamed from the report's spool.
	head := []byte(`{`)
	if err != nil {
		b, _ := json.Marshal(httpx.ErrorJSONOf(err))
		head = append(append(append(head, `"error":`...), b...), ',')
		if report == nil {
			head[len(head)-1] = '}'
			_, _ = w.Write(append(head, '\n'))
			return
		}
	}
	if _, err := w.Write(append(head, `"report":`...)); err != nil {
		return
	}
	if err := report.WriteJSONValue(w); err != nil {
		h.log.DebugContext(r.Context(), "inviteapi: write bulk report", "err", err)
		return
	}
	_, _ = w.Write([]byte("}\n"))
}

func (h *BulkHandler) jobs(w http.ResponseWriter) (*BulkJobs, bool) {
	if h.cfg.Jobs == nil {
		WriteError(w, invite.ErrNotFound)
		return nil, false
	}
	return h.cfg.Jobs, true
}

func (h *BulkHandler) listJobs(w http.ResponseWriter, r *http.Request, orgID, _ string) {
	jobs, ok := h.jobs(w)
	if !ok {
		return
	}
	list := jobs.List(orgID)
	if list == nil {
		list = []BulkJobStatus{}
	}
	h.write(w, r, http.StatusOK, struct {
		Jobs []BulkJobStatus `json:"jobs"`
	}{list})
}

func (h *BulkHandler) jobStatus(w http.ResponseWriter, r *http.Request, orgID, _ string) {
	jobs, ok := h.jobs(w)
	if !ok {
		return
	}
	st, err := jobs.Status(orgID, r.PathValue("jobID"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, st)
}

func (h *BulkHandler) jobReport(w http.ResponseWriter, r *http.Request, orgID, _ string) {
	jobs, ok := h.jobs(w)
	if !ok {
		return
	}
	report, st, err := jobs.Report(orgID, r.PathValue("jobID"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if report == nil {
		h.fail(w, r, invite.ErrWrongStatus) // still running
		return
	}
	_ = st
	format := r.URL.Query().Get("format")
	if format != "" && format != "csv" && format != "json" {
		h.fail(w, r, store.Invalid("format", "format must be csv or json"))
		return
	}
	h.writeReport(w, r, report, format == "csv" || (format == "" && preferredType(r.Header.Get("Accept")) == MediaTypeCSV))
}

func (h *BulkHandler) cancelJob(w http.ResponseWriter, r *http.Request, orgID, _ string) {
	jobs, ok := h.jobs(w)
	if !ok {
		return
	}
	if err := jobs.Cancel(orgID, r.PathValue("jobID")); err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := jobs.Status(orgID, r.PathValue("jobID"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusAccepted, st)
}

func (h *BulkHandler) confirmJob(w http.ResponseWriter, r *http.Request, orgID, actor string) {
	if err := limited(h.limits.Invite(orgID, actor)); err != nil {
		h.fail(w, r, err)
		return
	}
	jobs, ok := h.jobs(w)
	if !ok {
		return
	}
	st, err := jobs.Confirm(r.Context(), orgID, r.PathValue("jobID"), actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", strings.TrimSuffix(strings.TrimSuffix(r.URL.Path, "/confirm"), r.PathValue("jobID"))+st.ID)
	h.write(w, r, http.StatusAccepted, st)
}
