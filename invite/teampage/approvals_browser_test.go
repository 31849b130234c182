package teampage_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

// approvalFixture is the team page of org_acme whose rules hold every
// invite, with a member (mia) who invites.
func approvalFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t, nil)
	ctx := context.Background()
	no := false
	mia, err := f.svc.CreateUserAndMembership(ctx, "org_acme", invite.InviteRequest{Email: "mia@acme.example", Roles: []string{"member"},
		SendInvitationEmail: &no, UserProfile: &invite.ProfileInput{FirstName: "Mia", LastName: "Member"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetApprovalRules(ctx, "org_acme", invite.ApprovalRulesInput{All: true}, f.adminID); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"hal@else.example", "rex@else.example"} {
		res, err := f.svc.CreateUserAndMembership(ctx, "org_acme", invite.InviteRequest{Email: email, InvitedBy: mia.User.ID})
		if err != nil || res.Approval == nil {
			t.Fatalf("hold %s: %+v %v", email, res, err)
		}
	}
	return f, mia.User.ID
}

func queued(t *testing.T, f *fixture) []store.OutboxMessage {
	t.Helper()
	msgs, err := f.st.ListOutbox(context.Background(), "org_acme", store.OutboxQueued, 100)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestBrowserApprovalQueue: an approver finds the held invitations from
// the team page, approves one (its invitation mail is queued then) and
// rejects another with a reason (asked for when missing; the inviter's
// notice is queued); a decision another approver made first is explained.
func TestBrowserApprovalQueue(t *testing.T) {
	tab := newTab(t)
	f, _ := approvalFixture(t)

	// Adding on the team page is held too, and says so.
	do(t, tab,
		chromedp.Navigate(f.base+"/"),
		chromedp.WaitVisible(chromedp.ID("ik-add-email")),
		chromedp.SendKeys(chromedp.ID("ik-add-email"), "sam@else.example"),
		chromedp.Click(chromedp.ID("ik-add-submit")),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
	)
	if got := text(t, tab, chromedp.CSS("#ik-flash")); got != "The invitation of sam@else.example waits for approval; nothing was sent yet." {
		t.Fatalf("flash %q", got)
	}
	if row := text(t, tab, chromedp.CSS(`tr[data-email="sam@else.example"]`)); !strings.Contains(row, "Waiting for approval") {
		t.Fatalf("row %q", row)
	}
	mails := len(queued(t, f))

	do(t, tab,
		chromedp.Click(chromedp.ID("ik-approvals-link")),
		chromedp.WaitVisible(chromedp.ID("ik-appr-queue")),
	)
	checkLabels(t, tab)
	if got := text(t, tab, chromedp.CSS("#ik-appr-queue-title")); got != "3 invitations wait for approval" {
		t.Fatalf("queue title %q", got)
	}
	hal := `li[data-email="hal@else.example"]`
	if got := text(t, tab, chromedp.CSS(hal)); !strings.Contains(got, "mia@acme.example") && !strings.Contains(got, "Mia Member") ||
		!strings.Contains(got, "every invitation to this organization needs approval") {
		t.Fatalf("held item %q", got)
	}
	shot(t, tab, "teampage-approvals")

	// Approve: the invitation exists now, and its mail is queued.
	do(t, tab,
		chromedp.Click(chromedp.CSS(hal+` button[data-action=approve]`)),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
		chromedp.WaitNotPresent(chromedp.CSS(hal)),
	)
	if got := text(t, tab, chromedp.CSS("#ik-flash")); got != "Approved: the invitation to hal@else.example is on its way." {
		t.Fatalf("flash %q", got)
	}
	if m, ok := f.member(t, "hal@else.example"); !ok || m.Membership.Status != store.StatusPendingInvite {
		t.Fatalf("approved member %+v", m)
	}
	msgs := queued(t, f)
	if len(msgs) != mails+1 || msgs[len(msgs)-1].Kind != outbox.KindInvitation || msgs[len(msgs)-1].To != "hal@else.example" {
		t.Fatalf("outbox after approval: %d messages", len(msgs))
	}

	// Reject without a reason: asked for, nothing changes.
	rex := `li[data-email="rex@else.example"]`
	do(t, tab,
		chromedp.Click(chromedp.CSS(rex+` button[data-action=reject]`)),
		chromedp.WaitVisible(chromedp.CSS(rex+` .ik-field-error`)),
	)
	if got := text(t, tab, chromedp.CSS(rex+` .ik-field-error`)); got != "Give a reason to reject this invitation." {
		t.Fatalf("reason error %q", got)
	}
	if m, ok := f.member(t, "rex@else.example"); !ok || m.Membership.Status != store.StatusPendingApproval {
		t.Fatalf("rex after a refused reject: %+v", m)
	}
	// With a reason: removed, the inviter told.
	do(t, tab,
		chromedp.SendKeys(chromedp.CSS(rex+` input[name=reason]`), "We do not work with Else Inc."),
		chromedp.Click(chromedp.CSS(rex+` button[data-action=reject]`)),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
		chromedp.WaitNotPresent(chromedp.CSS(rex)),
	)
	if got := text(t, tab, chromedp.CSS("#ik-flash")); got != "Rejected the invitation of rex@else.example; the inviter is told." {
		t.Fatalf("flash %q", got)
	}
	if _, ok := f.member(t, "rex@else.example"); ok {
		t.Fatal("rejected membership still exists")
	}
	msgs = queued(t, f)
	last := msgs[len(msgs)-1]
	if last.Kind != outbox.KindInviteRejected || last.To != "mia@acme.example" || last.Data[outbox.DataReason] != "We do not work with Else Inc." {
		t.Fatalf("notice %+v", last)
	}

	// Another approver decides sam's first: the page explains (409).
	held, err := f.svc.HeldInvites(context.Background(), "org_acme", f.adminID, 0)
	if err != nil || len(held) != 1 {
		t.Fatalf("held %v %v", held, err)
	}
	if _, _, err := f.svc.ApproveInvite(context.Background(), "org_acme", held[0].ID, "", invite.ApproveRequest{}); err != nil {
		t.Fatal(err)
	}
	do(t, tab,
		chromedp.Click(chromedp.CSS(`li[data-email="sam@else.example"] button[data-action=approve]`)),
		chromedp.WaitVisible(chromedp.ID("ik-alert")),
	)
	if got := text(t, tab, chromedp.CSS("#ik-alert")); !strings.Contains(got, "Another approver decided this invitation first") {
		t.Fatalf("alert %q", got)
	}
	if got := waitText(t, tab, "#ik-appr-empty", "Nothing waits for approval."); got != "Nothing waits for approval." {
		t.Fatalf("empty queue %q", got)
	}
}

// TestApprovalQueueRefusals: the queue is the approvers' only; another
// organization's request is 404; a cross-origin POST and a GET of an
// action are refused; a lost race is 409.
func TestApprovalQueueRefusals(t *testing.T) {
	f, mia := approvalFixture(t)
	held, err := f.svc.HeldInvites(context.Background(), "org_acme", "", 0)
	if err != nil || len(held) != 2 {
		t.Fatal(held, err)
	}
	id := held[0].ID
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, f.base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("/approvals/"+id+"/approve", nil, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin approve: %d", r.StatusCode)
	}
	if r, err := http.Get(f.base + "/approvals/" + id + "/approve"); err != nil || r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET approve: %v %v", r, err)
	}
	if r := post("/approvals/apr_nosuchrequest/approve", nil, nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown id: %d", r.StatusCode)
	}
	if r := post("/approvals/..%2f/approve", nil, nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("bad id: %d", r.StatusCode)
	}
	// org_other's page does not find org_acme's request.
	other := strings.Replace(f.base, "org_acme", "org_other", 1)
	req, _ := http.NewRequest(http.MethodPost, other+"/approvals/"+id+"/approve", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f.adminID = "" // the app itself: may approve, but only in org_other
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("other org: %v %v", resp, err)
	}
	// A member without the approver role sees nothing.
	f.adminID = mia
	for _, path := range []string{"/approvals", "/approvals/" + id + "/approve"} {
		var r *http.Response
		if strings.HasSuffix(path, "approve") {
			r = post(path, nil, nil)
		} else {
			r, _ = http.Get(f.base + path)
		}
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("member %s: %d", path, r.StatusCode)
		}
	}
	f.adminID = ""
	for _, reason := range []string{"", "a\x00b", strings.Repeat("x", 501)} {
		if r := post("/approvals/"+id+"/reject", url.Values{"reason": {reason}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("reject with reason %q: %d, want 422", reason, r.StatusCode)
		}
	}
	if m, ok := f.member(t, held[0].Email); !ok || m.Membership.Status != store.StatusPendingApproval {
		t.Fatalf("refusals changed %s: %+v", held[0].Email, m)
	}
	f.adminID = ""
	if r := post("/approvals/"+id+"/approve", nil, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.StatusCode)
	}
	if r := post("/approvals/"+id+"/reject", url.Values{"reason": {"late"}}, nil); r.StatusCode != http.StatusConflict {
		t.Fatalf("second decision: %d, want 409", r.StatusCode)
	}
}
