package authflow_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A pending invitee who signs in without the link is told to open the
// invitation, not to ask for one; a deactivated member is told the
// membership is deactivated. The code stays the table's.
func TestSignInRefusalSaysWhy(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.op.users.add("pat-sub", "pat@example.com", true)
	e.invite("pat@example.com")
	b := newBrowser(t)
	p := b.get(e.authorize(b, e.app.URL+"/login", "pat@example.com"))
	p.expect(t, 403, "invitation_required")
	if !strings.Contains(p.body, "not accepted the invitation yet") || strings.Contains(p.body, "Ask an administrator for an invitation") {
		t.Errorf("pending invitee page: %s", p.body)
	}
	if !strings.Contains(p.body, `data-step="signout_other"`) || !strings.Contains(p.body, `href="/"`) {
		t.Errorf("pending invitee page offers no way out: %s", p.body)
	}

	e.op.users.add("ina-sub", "ina@example.com", true)
	userID, link := e.invite("ina@example.com")
	ib := newBrowser(t)
	e.startJoin(ib, link, "join")
	if p := ib.get(e.authorize(ib, e.app.URL+"/login", "ina@example.com")); p.status != 303 {
		t.Fatalf("join: %d %s", p.status, p.body)
	}
	if _, err := e.svc.DeactivateMembership(context.Background(), e.org.ID, userID, e.admin.ID); err != nil {
		t.Fatal(err)
	}
	ib2 := newBrowser(t)
	p = ib2.get(e.authorize(ib2, e.app.URL+"/login", "ina@example.com"))
	p.expect(t, 403, "invitation_required")
	if !strings.Contains(p.body, "deactivated") || strings.Contains(p.body, "for an invitation") {
		t.Errorf("deactivated member page: %s", p.body)
	}
}

// A revoked or used invitation never offers "sign in again" (which leads
// to invitation_required), and the pages speak German when asked.
func TestInvitationPagesNextStepsAndGerman(t *testing.T) {
	e := newEnv(t, envOptions{})
	userID, link := e.invite("rea@example.com")
	b := newBrowser(t)
	req, _ := http.NewRequest("GET", link, nil)
	req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
	p := b.do(req)
	if p.status != 200 || !strings.Contains(p.body, `lang="de"`) || !strings.Contains(p.body, "Acme beitreten") ||
		!strings.Contains(p.body, "Einladung für") || p.header.Get("Content-Language") != "de" {
		t.Fatalf("German accept page: %d %v %s", p.status, p.header, p.body)
	}
	if !strings.Contains(p.body, "prefers-color-scheme") {
		t.Error("accept page lacks the shared stylesheet")
	}
	if err := e.svc.RevokeInvitation(context.Background(), e.org.ID, userID, e.admin.ID); err != nil {
		t.Fatal(err)
	}
	p = b.get(link)
	p.expect(t, 410, "invite_revoked")
	if strings.Contains(p.body, `href="/login`) || strings.Contains(p.body, "Try signing in again") {
		t.Errorf("revoked page offers sign-in: %s", p.body)
	}
	if !strings.Contains(p.body, "new invitation") || !strings.Contains(p.body, `data-step="home"`) {
		t.Errorf("revoked page: %s", p.body)
	}
	req, _ = http.NewRequest("GET", link, nil)
	req.Header.Set("Accept-Language", "de")
	p = b.do(req)
	if !strings.Contains(p.body, "Einladung zurückgezogen") || !strings.Contains(p.body, "Zur Startseite") {
		t.Errorf("German revoked page: %s", p.body)
	}
}
