package authflow_test

import (
	"context"
	"strings"
	"testing"
)

// TestSignOutEverywhereThenSignInAgain: "sign out everywhere" ends the
// sessions of every browser of the user on their next request, and a new
// sign-in gets in again: the callback stores the user's current session
// generation in the new session.
func TestSignOutEverywhereThenSignInAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.op.users.add("ann-sub", "ann@example.com", true)
	userID, link := e.invite("ann@example.com")
	dash := e.app.URL + "/orgs/" + e.org.ID + "/dashboard"
	laptop := newBrowser(t)
	e.startJoin(laptop, link, "join")
	if p := laptop.get(e.authorize(laptop, e.app.URL+"/login", "ann@example.com")); p.status != 303 {
		t.Fatalf("first login: %d %s", p.status, p.body)
	}
	phone := newBrowser(t)
	signIn := func(b *browser) {
		t.Helper()
		p := b.get(dash)
		if p.status != 303 || !strings.HasPrefix(p.location, e.app.URL+"/login?return_to=") {
			t.Fatalf("signed-out dashboard: %d %q", p.status, p.location)
		}
		if p = b.get(e.authorize(b, p.location, "ann@example.com")); p.status != 303 {
			t.Fatalf("callback: %d %s", p.status, p.body)
		}
	}
	signIn(phone)
	for name, b := range map[string]*browser{"laptop": laptop, "phone": phone} {
		if p := b.get(dash); p.status != 200 {
			t.Fatalf("%s before: %d", name, p.status)
		}
	}
	if _, err := e.svc.SignOutEverywhere(ctx, userID, userID); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*browser{"laptop": laptop, "phone": phone} {
		if p := b.get(dash); p.status != 303 || !strings.HasPrefix(p.location, e.app.URL+"/login?return_to=") {
			t.Fatalf("%s after sign-out everywhere: %d %q", name, p.status, p.location)
		}
	}
	signIn(laptop)
	if p := laptop.get(dash); p.status != 200 {
		t.Fatalf("signed in again: %d %s", p.status, p.body)
	}
	if p := phone.get(dash); p.status != 303 {
		t.Fatalf("the other browser came back: %d", p.status)
	}
}
