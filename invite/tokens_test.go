package invite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// verifierOf returns the secret part of a token.
func verifierOf(t testing.TB, token string) string {
	t.Helper()
	_, v, ok := strings.Cut(token, ".")
	if !ok || len(v) != 43 {
		t.Fatalf("token %q has no 43-character verifier", token)
	}
	return v
}

func TestTokenSingleUse(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		tok := invite.TokenFromLink(e.Invite(t, "org_a", "ann@example.com").AcceptLink)
		if _, err := e.Svc.AcceptInvitation(ctx, tok, verified("ann@example.com")); err != nil {
			t.Fatal(err)
		}
		before := takeSnapshot(t, st, []string{"org_a"}, nil)
		if _, err := e.Svc.AcceptInvitation(ctx, tok, verified("ann@example.com")); !errors.Is(err, invite.ErrInviteUsed) {
			t.Fatalf("second accept: %v, want ErrInviteUsed", err)
		}
		info, err := e.Svc.LookupInvitation(ctx, tok)
		if !errors.Is(err, invite.ErrInviteUsed) || info.Invitation.SpendTime == nil {
			t.Fatalf("lookup used: %+v, %v", info.Invitation, err)
		}
		if inviteapi.ProblemOf(err).Status != http.StatusGone {
			t.Errorf("status = %d", inviteapi.ProblemOf(err).Status)
		}
		assertUnchanged(t, before, takeSnapshot(t, st, []string{"org_a"}, nil))
	})
}

func TestTokenTamper(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		tok := invite.TokenFromLink(e.Invite(t, "org_a", "ann@example.com").AcceptLink)
		other := invite.TokenFromLink(e.Invite(t, "org_a", "bob@example.com").AcceptLink)
		sel, ver, _ := strings.Cut(tok, ".")
		otherSel, otherVer, _ := strings.Cut(other, ".")
		flip := func(s string, i int) string {
			b := []byte(s)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}
		tampered := map[string]string{
			"verifier last char":  sel + "." + flip(ver, 42),
			"verifier first char": sel + "." + flip(ver, 0),
			"selector char":       flip(sel, len(sel)-1) + "." + ver,
			"swapped verifier":    sel + "." + otherVer,
			"swapped selector":    otherSel + "." + ver,
			"truncated":           tok[:len(tok)-1],
			"extended":            tok + "A",
			"selector only":       sel,
			"empty":               "",
			"garbage":             "hello world",
			"sql":                 "' OR 1=1 --",
		}
		before := takeSnapshot(t, st, []string{"org_a"}, nil)
		for name, bad := range tampered {
			t.Run(name, func(t *testing.T) {
				if _, err := e.Svc.LookupInvitation(ctx, bad); !errors.Is(err, invite.ErrInvalidToken) {
					t.Errorf("LookupInvitation: %v, want ErrInvalidToken", err)
				}
				if _, err := e.Svc.AcceptInvitation(ctx, bad, verified("ann@example.com")); !errors.Is(err, invite.ErrInvalidToken) {
					t.Errorf("AcceptInvitation: %v, want ErrInvalidToken", err)
				}
				if err := e.Svc.RequestNewInvitation(ctx, bad); !errors.Is(err, invite.ErrInvalidToken) {
					t.Errorf("RequestNewInvitation: %v, want ErrInvalidToken", err)
				}
			})
		}
		assertUnchanged(t, before, takeSnapshot(t, st, []string{"org_a"}, nil))
		if _, err := e.Svc.LookupInvitation(ctx, tok); err != nil {
			t.Fatalf("the real token stopped working: %v", err)
		}
	})
}

func TestTokenExpiry(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
	}{
		{"default 15 days", 0},
		{"configured 2 hours", 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, memstore.New(), func(c *invite.Config) { c.InviteTTL = tt.ttl })
			ctx := context.Background()
			e.Org(t, "org_a")
			res := e.Invite(t, "org_a", "ann@example.com")
			ttl := tt.ttl
			if ttl == 0 {
				ttl = 15 * 24 * time.Hour
			}
			if got := res.Membership.InviteExpireTime.Sub(e.Clock.Now()); got != ttl {
				t.Fatalf("ttl = %v, want %v", got, ttl)
			}
			tok := invite.TokenFromLink(res.AcceptLink)
			e.Clock.Advance(ttl - time.Second)
			if _, err := e.Svc.LookupInvitation(ctx, tok); err != nil {
				t.Fatalf("one second before expiry: %v", err)
			}
			e.Clock.Advance(time.Second)
			if _, err := e.Svc.LookupInvitation(ctx, tok); !errors.Is(err, invite.ErrInviteExpired) {
				t.Fatalf("at expiry: %v, want ErrInviteExpired", err)
			}
			before := takeSnapshot(t, e.St, []string{"org_a"}, []string{"ann@example.com"})
			if _, err := e.Svc.AcceptInvitation(ctx, tok, verified("ann@example.com")); !errors.Is(err, invite.ErrInviteExpired) {
				t.Fatalf("accept at expiry: %v", err)
			}
			assertUnchanged(t, before, takeSnapshot(t, e.St, []string{"org_a"}, []string{"ann@example.com"}))
		})
	}
}

func TestTokenHashedAtRestAndSealed(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		res, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: "ann@example.com", ReturnAcceptLink: true})
		if err != nil {
			t.Fatal(err)
		}
		tok := invite.TokenFromLink(res.AcceptLink)
		v := verifierOf(t, tok)
		inv, err := st.GetMembershipInvitation(ctx, "org_a", res.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256([]byte(v))
		if !bytes.Equal(inv.VerifierHash, want[:]) {
			t.Error("stored hash is not SHA-256(verifier)")
		}
		if bytes.Contains(inv.VerifierHash, []byte(v)) {
			t.Error("verifier stored in clear")
		}
		msg := e.Queued(t, "org_a")[0]
		if bytes.Contains(msg.Sealed, []byte(v)) || bytes.Contains(msg.Sealed, []byte("token=")) {
			t.Error("outbox holds the link in clear")
		}
		if openLink(t, msg) != res.AcceptLink {
			t.Error("sealed link differs from the returned one")
		}
		for _, ev := range e.Events(t, "org_a") {
			for k, val := range ev.Data {
				if strings.Contains(val, v) {
					t.Errorf("event %s Data[%s] holds the verifier", ev.Type, k)
				}
			}
		}
	})
}

// TestTokensNeverLogged drives every token path with a debug logger and
// checks that no verifier or link reaches the log.
func TestTokensNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, memstore.New(), func(c *invite.Config) { c.Logger = logger })
	ctx := context.Background()
	e.Org(t, "org_a")
	var secrets []string
	res := e.Invite(t, "org_a", "ann@example.com")
	secrets = append(secrets, verifierOf(t, invite.TokenFromLink(res.AcceptLink)), res.AcceptLink)
	if _, err := e.Svc.ResendInvitation(ctx, "org_a", res.User.ID, ""); err != nil {
		t.Fatal(err)
	}
	msgs := e.Queued(t, "org_a")
	for _, m := range msgs {
		link := openLink(t, m)
		secrets = append(secrets, link, verifierOf(t, invite.TokenFromLink(link)))
	}
	link, err := e.Svc.InviteLink(ctx, "org_a", res.User.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	tok := invite.TokenFromLink(link)
	secrets = append(secrets, link, verifierOf(t, tok))
	// Failing and succeeding paths.
	_, _ = e.Svc.LookupInvitation(ctx, tok[:len(tok)-1]+"x")
	_, _ = e.Svc.AcceptInvitation(ctx, tok, verified("wrong@example.com"))
	if _, err := e.Svc.AcceptInvitation(ctx, tok, verified("ann@example.com")); err != nil {
		t.Fatal(err)
	}
	_, _ = e.Svc.AcceptInvitation(ctx, tok, verified("ann@example.com"))
	_ = e.Svc.RequestNewInvitation(ctx, tok)
	// Through the API too, including a server error path.
	allowAll := func(*http.Request, string, inviteapi.Action) (string, error) { return "", nil }
	h, err := inviteapi.NewHandler(e.Svc, allowAll, inviteapi.HandlerConfig{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/organizations/org_a/users", strings.NewReader(`{"email":"bob@example.com","returnAcceptLink":true}`))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var created struct{ AcceptLink string }
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	apiLink := invite.TokenFromLink(created.AcceptLink)
	secrets = append(secrets, verifierOf(t, apiLink))

	if logs.Len() == 0 {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log contains a secret %q…", s[:8])
		}
	}
}
