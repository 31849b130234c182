package teampage

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
)

// uploadWait is how long an upload waits for a small import to finish
// before showing the (refreshing) job page.
const uploadWait = 2 * time.Second

// resultsPageSize is the number of result rows per page of the job page.
const resultsPageSize = 200

// multipartOverhead is allowed on top of the file size limit.
const multipartOverhead = 64 << 10

func (h *Handler) upload(rc *reqCtx) {
	org, ok := h.org(rc)
	if !ok {
		return
	}
	f := readFiltersQuery(rc.r)
	if err := h.limitInvite(rc); err != nil {
		httpx.SetRetryAfter(rc.w, err)
		h.importFailed(rc, org, f, http.StatusTooManyRequests, rateLimitMessage(rc.lang, err))
		return
	}
	rc.r.Body = http.MaxBytesReader(rc.w, rc.r.Body, h.cfg.MaxUploadBytes+multipartOverhead)
	if err := rc.r.ParseMultipartForm(1 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.importFailed(rc, org, f, http.StatusRequestEntityTooLarge, rc.lang.Tf("team.err_too_large", formatBytes(h.cfg.MaxUploadBytes)))
			return
		}
		h.importFailed(rc, org, f, http.StatusBadRequest, rc.lang.T("team.err_unreadable"))
		return
	}
	defer rc.r.MultipartForm.RemoveAll()
	file, hdr, err := rc.r.FormFile("file")
	if err != nil {
		h.importFailed(rc, org, f, http.StatusUnprocessableEntity, rc.lang.T("team.err_no_file"))
		return
	}
	defer file.Close()
	name := cleanFileName(hdr.Filename)
	format := invite.BulkFormatCSV
	switch strings.ToLower(path.Ext(name)) {
	case ".jsonl", ".ndjson":
		format = invite.BulkFormatJSONL
	}
	send := rc.r.PostFormValue("send_email") != ""
	opts := invite.BulkOptions{
		Format:              format,
		DryRun:              rc.r.PostFormValue("dry_run") != "",
		SendInvitationEmail: &send,
		ActorID:             rc.actor,
		MaxBytes:            h.cfg.MaxUploadBytes,
		MaxRows:             h.cfg.MaxUploadRows,
	}
	st, err := h.jobs.StartNamed(rc.ctx, rc.orgID, name, file, opts)
	if err != nil {
		p := httpx.ProblemOf(err)
		status, msg := p.Status, p.Message
		if status >= 500 {
			h.serverError(rc, err)
			return
		}
		h.importFailed(rc, org, f, status, uploadMessage(rc.lang, msg))
		return
	}
	h.jobs.Wait(rc.ctx, rc.orgID, st.ID, uploadWait)
	http.Redirect(rc.w, rc.r, rc.base+"/import/"+st.ID, http.StatusSeeOther)
}

// uploadMessage turns an error message into a sentence for the page.
func uploadMessage(l tr, msg string) string {
	if msg == "" {
		return l.T("team.err_not_imported")
	}
	r := []rune(msg)
	r[0] = unicode.ToUpper(r[0])
	s := string(r)
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func readFiltersQuery(r *http.Request) filters {
	q := r.URL.Query()
	return filters{Q: q.Get("q"), Status: strings.ToUpper(q.Get("status")), After: q.Get("after")}
}

// cleanFileName keeps a short, printable base name for display (the name
// is never stored: bytes that are no UTF-8 and control characters are
// dropped rather than refusing the upload).
func cleanFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	if name == "." || name == "/" {
		name = ""
	}
	return name
}

func (h *Handler) importFailed(rc *reqCtx, org store.Organization, f filters, status int, msg string) {
	v, err := h.loadView(rc, org, f)
	if err != nil {
		h.serverError(rc, err)
		return
	}
	v.ImportError = msg
	h.render(rc, status, "members", h.title(rc, org), org.Name, v)
}

// jobView is the data of the import job page.
type jobView struct {
	L           tr // the page's language
	Base, Title string
	Org         store.Organization
	Job         inviteapi.BulkJobStatus
	Report      *invite.BulkReport
	Percent     int
	Alert       string
	Show        string // "all" or "problems"
	Rows        []invite.BulkRowResult
	Problems    int
	Page, Pages int
	PrevURL     string
	NextURL     string
	AllURL      string
	ProblemsURL string
}

func (h *Handler) jobPage(rc *reqCtx, jobID string) {
	h.renderJob(rc, jobID, http.StatusOK, "")
}

func (h *Handler) renderJob(rc *reqCtx, jobID string, status int, alert string) {
	org, ok := h.org(rc)
	if !ok {
		return
	}
	report, st, err := h.jobs.Report(rc.orgID, jobID)
	if err != nil {
		h.notFound(rc.w, rc.r)
		return
	}
	v := &jobView{L: rc.lang, Base: rc.base, Title: h.pageTitle(rc.lang), Org: org, Job: st, Report: report, Alert: alert}
	if t := st.Progress.TotalRows; t > 0 {
		v.Percent = st.Progress.Rows * 100 / t
	}
	if report != nil {
		s := report.Summary
		v.Problems = s.Rows - s.Created - s.AlreadyMember
		q := rc.r.URL.Query()
		v.Show = q.Get("show")
		if v.Show != "problems" {
			v.Show = "all"
		}
		// The results are streamed from the report's spool: only the
		// page shown is held.
		shown, problems := s.Rows, v.Show == "problems"
		if problems {
			shown = v.Problems
		}
		v.Pages = max(1, (shown+resultsPageSize-1)/resultsPageSize)
		v.Page, _ = strconv.Atoi(q.Get("page"))
		v.Page = min(max(v.Page, 1), v.Pages)
		lo, k := (v.Page-1)*resultsPageSize, 0
		for r, err := range report.Results() {
			if err != nil {
				h.serverError(rc, err)
				return
			}
			if problems && (r.Status == invite.BulkCreated || r.Status == invite.BulkAlreadyMember) {
				continue
			}
			if k >= lo {
				v.Rows = append(v.Rows, r)
			}
			if k++; k >= lo+resultsPageSize {
				break
			}
		}
		jobURL := rc.base + "/import/" + st.ID
		pageURL := func(show string, page int) string {
			u := jobURL + "?show=" + show
			if page > 1 {
				u += "&page=" + strconv.Itoa(page)
			}
			return u
		}
		v.AllURL, v.ProblemsURL = pageURL("all", 1), pageURL("problems", 1)
		if v.Page > 1 {
			v.PrevURL = pageURL(v.Show, v.Page-1)
		}
		if v.Page < v.Pages {
			v.NextURL = pageURL(v.Show, v.Page+1)
		}
	}
	var extra template.HTML
	if !st.Finished() {
		extra = `<meta http-equiv="refresh" content="2">`
	}
	h.renderWithHead(rc, status, "job", h.title(rc, org), org.Name, v, extra)
}

// renderWithHead is render with extra <head> markup.
func (h *Handler) renderWithHead(rc *reqCtx, status int, name, title, orgName string, data any, extra template.HTML) {
	if extra == "" {
		h.render(rc, status, name, title, orgName, data)
		return
	}
	rc.extraHead = extra
	h.render(rc, status, name, title, orgName, data)
}

func (h *Handler) jobStatusJSON(rc *reqCtx, jobID string) {
	st, err := h.jobs.Status(rc.orgID, jobID)
	if err != nil {
		h.notFound(rc.w, rc.r)
		return
	}
	hd := rc.w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	writeJSON(rc.w, st)
}

func (h *Handler) download(rc *reqCtx, jobID string, asCSV bool) {
	report, st, err := h.jobs.Report(rc.orgID, jobID)
	if err != nil || report == nil {
		h.notFound(rc.w, rc.r)
		return
	}
	hd := rc.w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	name := "import-" + st.ID + "-results"
	if asCSV {
		hd.Set("Content-Type", "text/csv; charset=utf-8")
		hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
		err = report.WriteCSV(rc.w)
	} else {
		hd.Set("Content-Type", "application/json; charset=utf-8")
		hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.json"`, name))
		err = report.WriteJSON(rc.w)
	}
	if err != nil {
		h.log.DebugContext(rc.ctx, "teampage: write download", "err", err)
	}
}

func (h *Handler) confirm(rc *reqCtx, jobID string) {
	if err := h.limitInvite(rc); err != nil {
		httpx.SetRetryAfter(rc.w, err)
		h.renderJob(rc, jobID, http.StatusTooManyRequests, rateLimitMessage(rc.lang, err))
		return
	}
	st, err := h.jobs.Confirm(rc.ctx, rc.orgID, jobID, rc.actor)
	if err != nil {
		p := httpx.ProblemOf(err)
		status, msg := p.Status, p.Message
		switch {
		case errors.Is(err, invite.ErrNotFound):
			msg = rc.lang.T("team.err_preview_gone")
		case errors.Is(err, invite.ErrWrongStatus):
			msg = rc.lang.T("team.err_preview_state")
		case status >= 500:
			h.serverError(rc, err)
			return
		}
		h.renderJob(rc, jobID, status, uploadMessage(rc.lang, msg))
		return
	}
	h.jobs.Wait(rc.ctx, rc.orgID, st.ID, uploadWait)
	http.Redirect(rc.w, rc.r, rc.base+"/import/"+st.ID, http.StatusSeeOther)
}

func (h *Handler) cancel(rc *reqCtx, jobID string) {
	if err := h.jobs.Cancel(rc.orgID, jobID); err != nil && !errors.Is(err, invite.ErrWrongStatus) {
		h.notFound(rc.w, rc.r)
		return
	}
	h.jobs.Wait(rc.ctx, rc.orgID, jobID, uploadWait)
	http.Redirect(rc.w, rc.r, rc.base+"/import/"+jobID, http.StatusSeeOther)
}
