package invite_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// listingStore adds ListUserIdentities (the capability the Service prefers
// for the one-subject-per-issuer rule) to a store that lacks it. It answers
// from the identities linked through it, confirmed by the store itself.
type listingStore struct {
	store.Store
	mu         sync.Mutex
	linked     []store.Identity // issuer+subject of every successful link
	listCalls  atomic.Int64
	eventReads atomic.Int64
}

func (s *listingStore) note(id store.Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.linked = append(s.linked, id)
}

func (s *listingStore) LinkIdentity(ctx context.Context, id store.Identity, ev store.Event) error {
	err := s.Store.LinkIdentity(ctx, id, ev)
	if err == nil {
		s.note(id)
	}
	return err
}

func (s *listingStore) AcceptInvitation(ctx context.Context, p store.AcceptParams) (store.Membership, error) {
	m, err := s.Store.AcceptInvitation(ctx, p)
	if err == nil {
		s.note(p.Identity)
	}
	return m, err
}

func (s *listingStore) ListEvents(ctx context.Context, orgID string, after int64, limit int) ([]store.Event, error) {
	s.eventReads.Add(1)
	return s.Store.ListEvents(ctx, orgID, after, limit)
}

func (s *listingStore) ListUserIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	s.listCalls.Add(1)
	s.mu.Lock()
	cands := append([]store.Identity(nil), s.linked...)
	s.mu.Unlock()
	var out []store.Identity
	seen := map[[2]string]bool{}
	for _, c := range cands {
		k := [2]string{c.Issuer, c.Subject}
		if seen[k] {
			continue
		}
		seen[k] = true
		id, err := s.Store.GetIdentity(ctx, c.Issuer, c.Subject)
		if err != nil {
			return nil, err
		}
		if id.UserID == userID {
			out = append(out, id)
		}
	}
	return out, nil
}

// TestBoundIdentities: a user linked at an issuer signs in there with that
// subject only. A second subject with the same verified email is refused,
// at sign-in and when accepting another invitation, and nothing is
// written; a new issuer is linked once, with an event. Run on every store
// as it is (identities found through the feed) and with
// ListUserIdentities.
func TestBoundIdentities(t *testing.T) {
	const iss, other = "https://idp.example.com", "https://other-idp.example.com"
	ident := func(issuer, subject, email string) invite.AcceptIdentity {
		return invite.AcceptIdentity{Issuer: issuer, Subject: subject, Email: email, EmailVerified: true, TrustEmail: true}
	}
	for _, lister := range []bool{false, true} {
		name := "feed"
		if lister {
			name = "ListUserIdentities"
		}
		t.Run(name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, st store.Store) {
				ls := &listingStore{Store: st}
				if lister {
					st = ls
				}
				e := newEnv(t, st, nil)
				ctx := context.Background()
				orgs := []string{"org_a", "org_b", "org_c"}
				for _, o := range orgs {
					e.Org(t, o)
				}
				ann := e.Invite(t, "org_a", "ann@example.com")
				annID := ident(iss, "ann-1", "ann@example.com")
				if _, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(ann.AcceptLink), annID); err != nil {
					t.Fatal(err)
				}
				if acc := e.Events(t, "org_a"); acc[len(acc)-2].Data["identity_linked"] != "true" {
					t.Errorf("accept event of a new link = %+v", acc[len(acc)-2])
				}

				refused := func(t *testing.T, want error, call func() error, unlinked invite.AcceptIdentity) {
					t.Helper()
					emails := []string{"ann@example.com", "bob@example.com"}
					before := takeSnapshot(t, st, orgs, emails)
					if err := call(); !errors.Is(err, want) {
						t.Fatalf("err = %v, want %v", err, want)
					}
					assertUnchanged(t, before, takeSnapshot(t, st, orgs, emails))
					if _, err := st.GetIdentity(ctx, unlinked.Issuer, unlinked.Subject); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("identity %s linked despite the refusal (%v)", unlinked.Subject, err)
					}
				}

				// Sign-in: a second subject at the same issuer, same verified
				// email, is not linked to Ann; her own subject signs in.
				twin := ident(iss, "ann-2", "ann@example.com")
				refused(t, invite.ErrIdentityBound, func() error { _, _, err := e.Svc.SignIn(ctx, twin); return err }, twin)
				if u, _, err := e.Svc.SignIn(ctx, annID); err != nil || u.ID != ann.User.ID {
					t.Fatalf("Ann's own subject: %+v %v", u, err)
				}

				// Accepting another invitation with the second subject is
				// refused too (also joining as the signed-in account); the
				// invitation stays usable, and Ann's own subject accepts it
				// (no new link: no identity_linked).
				annB := e.Invite(t, "org_b", "ann@example.com")
				tokB := invite.TokenFromLink(annB.AcceptLink)
				refused(t, invite.ErrIdentityBound, func() error { _, err := e.Svc.AcceptInvitation(ctx, tokB, twin); return err }, twin)
				twinJoin := twin
				twinJoin.Email, twinJoin.JoinAsSignedIn = "ann.twin@example.com", true
				refused(t, invite.ErrIdentityBound, func() error { _, err := e.Svc.AcceptInvitation(ctx, tokB, twinJoin); return err }, twin)
				if _, err := e.Svc.LookupInvitation(ctx, tokB); err != nil {
					t.Fatalf("a refused accept spent the invitation: %v", err)
				}
				if m, err := e.Svc.AcceptInvitation(ctx, tokB, annID); err != nil || m.Status != store.StatusActive {
					t.Fatalf("accept with Ann's own subject: %+v %v", m, err)
				}
				if acc := e.Events(t, "org_b"); acc[len(acc)-2].Type != store.EventMembershipAccepted || acc[len(acc)-2].Data["identity_linked"] != "" {
					t.Errorf("accept event without a new link = %+v", acc[len(acc)-2])
				}

				// Another issuer where Ann has no identity yet: linked by
				// verified email, with an identity.linked event; then bound
				// there too, at sign-in and at accept.
				atOther := ident(other, "ann-x", "ann@example.com")
				if u, _, err := e.Svc.SignIn(ctx, atOther); err != nil || u.ID != ann.User.ID {
					t.Fatalf("sign-in at a new issuer: %+v %v", u, err)
				}
				evs := e.Events(t, "org_a")
				if ev := evs[len(evs)-2]; ev.Type != invite.EventIdentityLinked || ev.UserID != ann.User.ID || ev.Data["issuer"] != other {
					t.Errorf("link event = %+v", ev)
				}
				otherTwin := ident(other, "ann-y", "ann@example.com")
				refused(t, invite.ErrIdentityBound, func() error { _, _, err := e.Svc.SignIn(ctx, otherTwin); return err }, otherTwin)
				annC := e.Invite(t, "org_c", "ann@example.com")
				refused(t, invite.ErrIdentityBound, func() error {
					_, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(annC.AcceptLink), otherTwin)
					return err
				}, otherTwin)
				for _, id := range []invite.AcceptIdentity{annID, atOther} {
					if u, _, err := e.Svc.SignIn(ctx, id); err != nil || u.ID != ann.User.ID {
						t.Fatalf("sign-in as %s: %+v %v", id.Subject, u, err)
					}
				}

				// An issuer the caller does not trust to assert emails links
				// nobody by email; trusted, it links; once linked, the
				// identity signs in whatever TrustEmail says.
				bob := e.AddActive(t, "org_a", "bob@example.com")
				bobID := ident(iss, "bob-1", "bob@example.com")
				bobID.TrustEmail = false
				refused(t, invite.ErrEmailLinkUntrusted, func() error { _, _, err := e.Svc.SignIn(ctx, bobID); return err }, bobID)
				bobID.TrustEmail = true
				if u, _, err := e.Svc.SignIn(ctx, bobID); err != nil || u.ID != bob.User.ID {
					t.Fatalf("trusted sign-in of a direct member: %+v %v", u, err)
				}
				bobID.TrustEmail = false
				if _, _, err := e.Svc.SignIn(ctx, bobID); err != nil {
					t.Fatalf("linked identity refused: %v", err)
				}

				if lister {
					// With the capability, the Service asks the store and
					// reads no feed.
					calls, reads := ls.listCalls.Load(), ls.eventReads.Load()
					if _, _, err := e.Svc.SignIn(ctx, twin); !errors.Is(err, invite.ErrIdentityBound) {
						t.Fatalf("twin with ListUserIdentities: %v", err)
					}
					if ls.listCalls.Load() == calls || ls.eventReads.Load() != reads {
						t.Errorf("ListUserIdentities calls %d→%d, feed reads %d→%d", calls, ls.listCalls.Load(), reads, ls.eventReads.Load())
					}
				}
			})
		})
	}
}

// The identity refusals render with their own codes.
func TestBoundIdentityCodes(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
		code   string
	}{
		{invite.ErrIdentityBound, 409, "identity_bound"},
		{invite.ErrEmailLinkUntrusted, 403, "email_link_untrusted"},
	} {
		if status, code, _, msg := describe(tt.err); status != tt.status || code != tt.code || msg == "" {
			t.Errorf("%v renders as %d %q %q", tt.err, status, code, msg)
		}
	}
}
