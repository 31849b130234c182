package webhookapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// inbox is a receiver that records every request.
type inbox struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery
}

func newInbox(t *testing.T) *inbox {
	in := &inbox{}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		in.mu.Lock()
		in.got = append(in.got, delivery{r.Header.Clone(), b})
		in.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(in.srv.Close)
	return in
}

func (in *inbox) take() []delivery {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := in.got
	in.got = nil
	return out
}

// verify checks d with the Standard Webhooks Go reference library under
// secret, and that a tampered body does not verify.
func verify(t *testing.T, secret string, d delivery) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	if err := wh.Verify(append(append([]byte{}, d.body...), ' '), d.header); err == nil {
		t.Errorf("a tampered body of %s verified", d.header.Get("webhook-id"))
	}
	return wh.Verify(d.body, d.header)
}

// TestEndToEnd: an endpoint registered through the HTTP API (by the app,
// app-wide, and by an organization's admin, for its organization) gets
// the deliveries of a change made with the Service, each verified by the
// Standard Webhooks Go library with the secret the API showed once, and
// the same payloads and ids as the HTTP events feed. After a rotation
// through the API, deliveries verify with the new secret and, during the
// overlap, the old one.
func TestEndToEnd(t *testing.T) {
	forStores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		e := newEnv(t, st, insecure, nil)
		e.Org(t, "org_a")
		e.Org(t, "org_b")
		alice := e.AddActive(t, "org_a", "alice@a.example", "admin").User.ID
		appInbox, orgInbox := newInbox(t), newInbox(t)
		types := `["invitation.created", "invitation.accepted", "membership.created", "membership.activated", "user.signed_in"]`
		_, appSecret := e.created(t, app, "/api/webhooks/endpoints", fmt.Sprintf(`{"url": %q, "eventTypes": %s}`, appInbox.srv.URL, types))
		orgEP, orgSecret := e.created(t, as(alice), "/api/organizations/org_a/webhooks/endpoints", fmt.Sprintf(`{"url": %q, "eventTypes": %s}`, orgInbox.srv.URL, types))
		d := webhooks.NewDispatcher(e.hooks, webhooks.DispatcherConfig{})
		drain(t, d) // what happened before the endpoints existed is not theirs
		appInbox.take()
		orgInbox.take()

		// The change: Ann is invited to org_a and joins; org_b invites Bo.
		res, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: "ann@example.com", Roles: []string{"member"},
			UserProfile: &invite.ProfileInput{FirstName: "Ann"}, ReturnAcceptLink: true, InvitedBy: alice})
		require.NoError(t, err)
		_, err = e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(res.AcceptLink), invitetest.Verified("ann@example.com"))
		require.NoError(t, err)
		e.Invite(t, "org_b", "bo@example.com", "member")
		drain(t, d)

		typesOf := func(ds []delivery, secret string) ([]string, []string) {
			var ts, orgs []string
			for _, dl := range ds {
				require.NoError(t, verify(t, secret, dl), "the reference library verifies %s", dl.header.Get("webhook-id"))
				var p webhooks.Payload
				require.NoError(t, json.Unmarshal(dl.body, &p))
				ts, orgs = append(ts, p.Type), append(orgs, p.Data.OrganizationID)
			}
			return ts, orgs
		}
		orgGot := orgInbox.take()
		ts, orgs := typesOf(orgGot, orgSecret)
		require.Equal(t, []string{store.WebhookInvitationCreated, store.WebhookMembershipCreated, store.WebhookInvitationAccepted,
			store.WebhookMembershipActivated, store.WebhookUserSignedIn}, ts)
		require.Equal(t, []string{"org_a", "org_a", "org_a", "org_a", "org_a"}, orgs, "an organization's endpoint: its events only")
		appGot := appInbox.take()
		_, orgs = typesOf(appGot, appSecret)
		require.Contains(t, orgs, "org_b", "an app-wide endpoint: every organization's")
		require.Error(t, verify(t, appSecret, orgGot[0]), "another endpoint's secret does not verify")

		// The pull feed over HTTP: the same ids and payloads.
		feed := e.do(t, as(alice), "GET", "/api/organizations/org_a/events?limit=1000", "")
		require.Equal(t, http.StatusOK, feed.status, feed.body)
		byID := map[string]map[string]any{}
		for _, x := range feed.json["events"].([]any) {
			ev := x.(map[string]any)
			id := ev["messageId"].(string)
			delete(ev, "messageId")
			byID[id] = ev
		}
		for _, dl := range orgGot {
			var body map[string]any
			require.NoError(t, json.Unmarshal(dl.body, &body))
			require.Equal(t, byID[dl.header.Get("webhook-id")], body, "the feed's entry is the webhook's body")
		}

		// Rotation through the API: both secrets sign during the overlap.
		r := e.do(t, as(alice), "POST", "/api/organizations/org_a/webhooks/endpoints/"+orgEP+"/rotate-secret", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		newSecret := r.json["secret"].(string)
		_, err = e.Svc.DeactivateMembership(ctx, "org_a", res.User.ID, alice)
		require.NoError(t, err)
		roles := []string{"member", "billing"}
		_, err = e.Svc.UpdateMembership(ctx, "org_a", res.User.ID, invite.UpdateRequest{Roles: &roles}, alice)
		require.NoError(t, err)
		r = e.do(t, as(alice), "PATCH", "/api/organizations/org_a/webhooks/endpoints/"+orgEP,
			`{"eventTypes": ["membership.deactivated", "membership.roles_changed"]}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		_, err = e.Svc.ReactivateMembership(ctx, "org_a", res.User.ID, alice)
		require.NoError(t, err)
		_, err = e.Svc.DeactivateMembership(ctx, "org_a", res.User.ID, alice)
		require.NoError(t, err)
		drain(t, d)
		rotated := orgInbox.take()
		ts, _ = typesOf(rotated, newSecret)
		require.Equal(t, []string{store.WebhookMembershipDeactivated}, ts,
			"the new types hold for the changes after the update (the first deactivation and the roles change were before it)")
		for _, dl := range rotated {
			require.NoError(t, verify(t, orgSecret, dl), "the old secret still verifies during the overlap")
		}
	})
}
