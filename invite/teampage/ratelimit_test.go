package teampage_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/invite/teampage"
)

// fakeClock is the Service's clock, which the page's limiters use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func limitedFixture(t *testing.T, limits inviteapi.RateLimits) (*fixture, *fakeClock) {
	t.Helper()
	c := &fakeClock{t: time.Now()}
	f := newFixtureWith(t, func(cfg *invite.Config) { cfg.Now = c.Now }, func(cfg *teampage.Config) { cfg.RateLimits = limits })
	return f, c
}

func mustRefusedPage(t *testing.T, what string, status int, body string, hdr http.Header, retryAfter, wait string) {
	t.Helper()
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != retryAfter {
		t.Fatalf("%s: status %d, Retry-After %q; want 429, %q", what, status, hdr.Get("Retry-After"), retryAfter)
	}
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("%s: Content-Type %q, want the page", what, hdr.Get("Content-Type"))
	}
	mustContain(t, body, "Too many invitations in a short time. Try again in "+wait+".")
}

func TestRateLimitAddMember(t *testing.T) {
	f, clock := limitedFixture(t, inviteapi.RateLimits{PerOrg: inviteapi.RateLimit{Burst: 2}})
	add := func(base, email string) (int, string, http.Header) {
		t.Helper()
		return post(t, base+"/members", url.Values{"email": {email}, "send_email": {"1"}})
	}
	for _, email := range []string{"a@example.com", "b@example.com"} {
		if status, body, _ := add(f.base, email); status != http.StatusSeeOther {
			t.Fatalf("add %s: %d\n%s", email, status, body)
		}
	}
	status, body, hdr := add(f.base, "c@example.com")
	mustRefusedPage(t, "3rd add", status, body, hdr, "1", "1 second")
	mustContain(t, body, `value="c@example.com"`) // the form keeps what was typed
	if _, ok := f.member(t, "c@example.com"); ok {
		t.Fatal("a refused add wrote a member")
	}
	// Another organization is not affected.
	if status, body, _ := add(f.srv.URL+"/organizations/org_other/team", "c@example.com"); status != http.StatusSeeOther {
		t.Fatalf("org_other's add after org_acme ran out: %d\n%s", status, body)
	}
	clock.Advance(time.Second)
	if status, body, _ := add(f.base, "c@example.com"); status != http.StatusSeeOther {
		t.Fatalf("add after the wait: %d\n%s", status, body)
	}
}

func TestRateLimitResend(t *testing.T) {
	f, clock := limitedFixture(t, inviteapi.RateLimits{})
	ann := f.invite(t, "ann@example.com")
	bob := f.invite(t, "bob@example.com")
	resend := func(userID string) (int, string, http.Header) {
		t.Helper()
		return post(t, f.base+"/members/"+userID+"/resend", nil)
	}
	for i := range 3 {
		if status, body, _ := resend(ann.User.ID); status != http.StatusSeeOther {
			t.Fatalf("resend %d: %d\n%s", i+1, status, body)
		}
	}
	status, body, hdr := resend(ann.User.ID)
	mustRefusedPage(t, "4th resend", status, body, hdr, "1200", "20 minutes")
	if status, _, _ := resend(bob.User.ID); status != http.StatusSeeOther {
		t.Fatalf("bob's resend after ann's ran out: %d", status)
	}
	clock.Advance(20 * time.Minute)
	if status, _, _ := resend(ann.User.ID); status != http.StatusSeeOther {
		t.Fatalf("resend after the wait: %d", status)
	}
}

func TestRateLimitImport(t *testing.T) {
	f, clock := limitedFixture(t, inviteapi.RateLimits{PerActor: inviteapi.RateLimit{Events: 1, Per: time.Minute, Burst: 1}})
	csv := "email\nann@example.com\n"
	status, _, loc := upload(t, f, "people.csv", csv, true)
	if status != http.StatusSeeOther {
		t.Fatalf("upload: %d", status)
	}
	status, body, _ := upload(t, f, "people.csv", csv, true)
	if status != http.StatusTooManyRequests || !strings.Contains(body, "Too many invitations in a short time. Try again in 1 minute.") {
		t.Fatalf("2nd upload: %d\n%s", status, body)
	}
	// Confirming the preview is an invitation event too.
	status, body, hdr := post(t, f.srv.URL+loc+"/confirm", nil)
	mustRefusedPage(t, "confirm", status, body, hdr, "60", "1 minute")
	if _, ok := f.member(t, "ann@example.com"); ok {
		t.Fatal("a refused confirm imported")
	}
	clock.Advance(time.Minute)
	if status, body, _ := post(t, f.srv.URL+loc+"/confirm", nil); status != http.StatusSeeOther {
		t.Fatalf("confirm after the wait: %d\n%s", status, body)
	}
}

func TestRateLimitConfig(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := teampage.New(f.svc, teampage.Config{RateLimits: inviteapi.RateLimits{PerOrg: inviteapi.RateLimit{Burst: -1}}}); err == nil || !strings.Contains(err.Error(), "RateLimits") {
		t.Fatalf("a negative burst: %v", err)
	}
	off, _ := limitedFixture(t, inviteapi.RateLimits{PerOrg: inviteapi.RateLimit{Off: true}, PerActor: inviteapi.RateLimit{Off: true}})
	for i := range 30 {
		if status, _, _ := post(t, off.base+"/members", url.Values{"email": {"p" + strings.Repeat("x", i) + "@example.com"}}); status != http.StatusSeeOther {
			t.Fatalf("limits off, add %d: %d", i+1, status)
		}
	}
}
