package invite_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

// checkedOnly hides store.GuardedAcceptLoginer: the Service reads the
// invitation and the identities before the accept (the checked path).
type checkedOnly struct {
	store.Store
	store.AcceptLoginer
}

// countedReads counts the reads the checked path makes before an accept.
type countedReads struct {
	store.Store
	store.AcceptLoginer
	store.GuardedAcceptLoginer
	reads atomic.Int32
}

func (c *countedReads) GetInvitation(ctx context.Context, id string) (store.Invitation, error) {
	c.reads.Add(1)
	return c.Store.GetInvitation(ctx, id)
}

func (c *countedReads) GetIdentity(ctx context.Context, issuer, subject string) (store.Identity, error) {
	c.reads.Add(1)
	return c.Store.GetIdentity(ctx, issuer, subject)
}

func (c *countedReads) ListUserMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	c.reads.Add(1)
	return c.Store.ListUserMemberships(ctx, userID)
}

// TestAcceptGuardedAsChecked: on a store.GuardedAcceptLoginer the Service
// accepts without reading anything first, and every accept, accepted or
// refused, ends as on the checked path: the same error (sentinel, status,
// code, field), the same events with the same data, the same user and
// identity.
func TestAcceptGuardedAsChecked(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			st := sc.Open(t)
			gs, ok := st.(store.GuardedAcceptLoginer)
			if !ok {
				t.Skipf("%T is not a store.GuardedAcceptLoginer", st)
			}
			al := st.(store.AcceptLoginer)
			guarded := &countedReads{Store: st, AcceptLoginer: al, GuardedAcceptLoginer: gs}
			other := sc.Open(t)
			checked := &checkedOnly{Store: other, AcceptLoginer: other.(store.AcceptLoginer)}
			testAcceptGuardedAsChecked(t, guarded, checked)
		})
	}
}

type acceptCase struct {
	name     string
	want     error // nil: accepted
	noReads  bool  // the guarded path reads nothing
	run      func(t *testing.T, e *env, email string) error
	laterRun bool // changes the clock: run last
}

func testAcceptGuardedAsChecked(t *testing.T, guarded *countedReads, checked store.Store) {
	ctx := context.Background()
	tok := func(res *invite.InviteResult) string { return invite.TokenFromLink(res.AcceptLink) }
	invID := func(res *invite.InviteResult) string { id, _, _ := strings.Cut(tok(res), "."); return id }
	accept := func(e *env, res *invite.InviteResult, id invite.AcceptIdentity) error {
		_, err := e.Svc.AcceptInvitation(ctx, tok(res), id)
		return err
	}
	cases := []acceptCase{
		{"accepted", nil, true, func(t *testing.T, e *env, email string) error {
			return accept(e, e.Invite(t, "org_a", email, "admin"), verified(email))
		}, false},
		{"accepted by id", nil, true, func(t *testing.T, e *env, email string) error {
			_, err := e.Svc.AcceptInvitationByID(ctx, invID(e.Invite(t, "org_a", email)), verified(strings.ToUpper(email)))
			return err
		}, false},
		{"wrong verifier", invite.ErrInvalidToken, false, func(t *testing.T, e *env, email string) error {
			_, err := e.Svc.AcceptInvitation(ctx, invID(e.Invite(t, "org_a", email))+"."+strings.Repeat("A", 43), verified(email))
			return err
		}, false},
		{"unknown invitation", invite.ErrInvalidToken, false, func(t *testing.T, e *env, email string) error {
			_, err := e.Svc.AcceptInvitationByID(ctx, "inv_unknown0", verified(email))
			return err
		}, false},
		{"used", invite.ErrInviteUsed, false, func(t *testing.T, e *env, email string) error {
			res := e.Invite(t, "org_a", email)
			if err := accept(e, res, verified(email)); err != nil {
				t.Fatal(err)
			}
			return accept(e, res, verified(email))
		}, false},
		{"revoked", invite.ErrInviteRevoked, false, func(t *testing.T, e *env, email string) error {
			res := e.Invite(t, "org_a", email)
			if err := e.Svc.RevokeInvitation(ctx, "org_a", res.User.ID, "usr_actor"); err != nil {
				t.Fatal(err)
			}
			return accept(e, res, verified(email))
		}, false},
		{"other email", invite.ErrEmailMismatch, false, func(t *testing.T, e *env, email string) error {
			return accept(e, e.Invite(t, "org_a", email), verified("x"+email))
		}, false},
		{"join as signed in", nil, false, func(t *testing.T, e *env, email string) error {
			id := verified("x" + email)
			id.JoinAsSignedIn = true
			return accept(e, e.Invite(t, "org_a", email), id)
		}, false},
		{"join as signed in, same email", nil, true, func(t *testing.T, e *env, email string) error {
			id := verified(email)
			id.JoinAsSignedIn, id.Provider = true, "GOOGLE"
			return accept(e, e.Invite(t, "org_a", email), id)
		}, false},
		{"not verified", invite.ErrEmailNotVerified, false, func(t *testing.T, e *env, email string) error {
			id := verified(email)
			id.EmailVerified = false
			return accept(e, e.Invite(t, "org_a", email), id)
		}, false},
		{"no subject", nil, false, func(t *testing.T, e *env, email string) error {
			id := verified(email)
			id.Subject = ""
			return accept(e, e.Invite(t, "org_a", email), id)
		}, false},
		{"identity taken", invite.ErrIdentityTaken, false, func(t *testing.T, e *env, email string) error {
			owner := verified("owner-" + email)
			owner.Subject = "sub-" + email
			if err := accept(e, e.Invite(t, "org_a", "owner-"+email), owner); err != nil {
				t.Fatal(err)
			}
			return accept(e, e.Invite(t, "org_a", email), verified(email))
		}, false},
		{"identity bound", invite.ErrIdentityBound, false, func(t *testing.T, e *env, email string) error {
			if err := accept(e, e.Invite(t, "org_a", email), verified(email)); err != nil {
				t.Fatal(err)
			}
			id := verified(email)
			id.Subject += "-2"
			return accept(e, e.Invite(t, "org_b", email), id)
		}, false},
		{"identity linked already", nil, true, func(t *testing.T, e *env, email string) error {
			if err := accept(e, e.Invite(t, "org_a", email), verified(email)); err != nil {
				t.Fatal(err)
			}
			return accept(e, e.Invite(t, "org_b", email), verified(email))
		}, false},
		{"SSO connection of another organization", invite.ErrSSOWrongOrganization, false, func(t *testing.T, e *env, email string) error {
			id := verified(email)
			id.Organization, id.Connection = "org_b", "conn_b"
			return accept(e, e.Invite(t, "org_a", email), id)
		}, false},
		{"SSO connection of the organization", nil, true, func(t *testing.T, e *env, email string) error {
			id := verified(email)
			id.Organization, id.Connection = "org_a", "conn_a"
			return accept(e, e.Invite(t, "org_a", email), id)
		}, false},
		{"expired", invite.ErrInviteExpired, false, func(t *testing.T, e *env, email string) error {
			res := e.Invite(t, "org_a", email)
			e.Clock.Advance(60 * 24 * time.Hour)
			return accept(e, res, verified(email))
		}, true},
	}
	slices.SortStableFunc(cases, func(a, b acceptCase) int {
		switch {
		case a.laterRun == b.laterRun:
			return 0
		case a.laterRun:
			return 1
		}
		return -1
	})
	envs := []*env{newEnv(t, guarded, nil), newEnv(t, checked, nil)}
	for _, e := range envs {
		e.Org(t, "org_a")
		e.Org(t, "org_b")
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			email := fmt.Sprintf("case%d@example.com", i)
			var got [2]string
			for k, e := range envs {
				e.Clock.Advance(time.Minute)
				guarded.reads.Store(0)
				err := tc.run(t, e, email)
				switch {
				case tc.want != nil && !errors.Is(err, tc.want):
					t.Fatalf("env %d: err = %v, want %v", k, err, tc.want)
				case tc.want == nil && tc.name != "no subject" && err != nil:
					t.Fatalf("env %d: %v", k, err)
				}
				if k == 0 && tc.noReads && guarded.reads.Load() != 0 {
					t.Errorf("the guarded accept read the store %d times first", guarded.reads.Load())
				}
				got[k] = outcome(t, e, err, email)
			}
			if got[0] != got[1] {
				t.Errorf("guarded:\n%s\nchecked:\n%s", got[0], got[1])
			}
		})
	}
}

// outcome renders what an accept of email left: the error as the HTTP
// surfaces show it, both organizations' events (ids replaced by their
// prefix), the membership change calls, and the user and identities.
func outcome(t *testing.T, e *env, err error, email string) string {
	ctx := context.Background()
	var b strings.Builder
	status, code, field, msg := describe(err)
	fmt.Fprintf(&b, "error %d %s %s %q\n", status, code, field, msg)
	ids := map[string]string{}
	norm := func(v string) string {
		if p, _, ok := strings.Cut(v, "_"); ok && len(p) == 3 {
			if ids[v] == "" {
				ids[v] = fmt.Sprintf("%s#%d", p, len(ids))
			}
			return ids[v]
		}
		return v
	}
	for _, org := range []string{"org_a", "org_b"} {
		for _, ev := range e.Events(t, org) {
			keys := make([]string, 0, len(ev.Data))
			for k := range ev.Data {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			fmt.Fprintf(&b, "%s %s user=%s actor=%s", org, ev.Type, norm(ev.UserID), norm(ev.ActorID))
			for _, k := range keys {
				fmt.Fprintf(&b, " %s=%s", k, norm(ev.Data[k]))
			}
			b.WriteString("\n")
		}
	}
	calls := e.ChangeCalls()
	fmt.Fprintf(&b, "changes %d\n", len(calls))
	for _, em := range []string{email, "owner-" + email} {
		u, err := e.St.GetUserByEmail(ctx, em)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "user %s verified=%v login=%v\n", norm(u.ID), u.Profile.EmailVerified, u.LastLogin)
		ms, _ := e.St.ListUserMemberships(ctx, u.ID)
		for _, m := range ms {
			fmt.Fprintf(&b, "membership %s %s idp=%s login=%v\n", m.OrganizationID, m.Status, m.PrimaryIdentityProvider, m.LastLogin)
		}
	}
	for _, sub := range []string{"sub-" + email, "sub-" + email + "-2", "sub-x" + email, "sub-" + strings.ToUpper(email)} {
		if id, err := e.St.GetIdentity(ctx, "https://idp.example.com", sub); err == nil {
			fmt.Fprintf(&b, "identity %s user=%s email=%s\n", sub, norm(id.UserID), id.Email)
		}
	}
	return b.String()
}
